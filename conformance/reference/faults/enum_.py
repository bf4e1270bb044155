"""ENUM: subscriber status (ENUM-1), custom field type (ENUM-2) and winner metric (ENUM-3) take only the
spec's values; writing a value outside the set gets 403 validation_failed and changes nothing (ENUM-4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.model import Field
from conformance.reference.behaviour import Ctx, Issue
from conformance.reference.faults.hooks import Composer, Hooks, RenderEnum
from conformance.reference.faults.switch import Group
from conformance.reference.store import Record
from conformance.spec import facts

SWITCHES = Group()
Judge = Callable[[Ctx, list[Issue]], list[Issue]]  # the correct judge


# -- ENUM-1..3: legacy names on the way out --------------------------------------------------------
_LEGACY = {
    "subscriber_status": {"active": "subscribed", "deactivated": "disabled"},
    "custom_field_type": {
        "text": "string",
        "text_multiline": "textarea",
        "number": "integer",
        "boolean": "yes_no",
        "day_of_year": "month_day",
    },
    "winner_metric": {
        "opens_unique": "unique_opens",
        "clicks_unique": "unique_clicks",
        "opens_total": "total_opens",
        "clicks_total": "total_clicks",
        "click_to_open_rate": "ctor",
    },
}


def _legacy_names(enum_set: str) -> RenderEnum:
    """An override of ``render_enum`` that renders the values of ``enum_set`` by their legacy names."""

    def override(default: Callable[[Ctx, Field, Any], Any], ctx: Ctx, f: Field, value: Any) -> Any:
        value = default(ctx, f, value)
        return _LEGACY[enum_set].get(value, value) if f.enum_set == enum_set else value

    return override


SWITCHES.fault(
    "enum-extra-status",
    "ENUM-1",
    "Returns legacy subscriber statuses (subscribed, disabled).",
    render_enum=_legacy_names("subscriber_status"),
)
SWITCHES.fault(
    "enum-legacy-field-type",
    "ENUM-2",
    "Returns legacy custom field types (string, textarea, ...).",
    render_enum=_legacy_names("custom_field_type"),
)
SWITCHES.fault(
    "enum-metric-renamed",
    "ENUM-3",
    "Returns renamed winner metrics (unique_opens, ctor, ...).",
    render_enum=_legacy_names("winner_metric"),
)

# -- ENUM-4 ---------------------------------------------------------------------------------------
SWITCHES.fault(
    "enum-accept-unknown",
    "ENUM-4",
    "Accepts and stores values outside the set.",
    judge=lambda default, ctx, issues: default(ctx, [i for i in issues if i.kind != "enum"]),
)


def _store_before_refusing(
    default: Callable[[Ctx, list[Issue], Callable[[], Any]], None],
    ctx: Ctx,
    issues: list[Issue],
    commit: Callable[[], Any],
) -> None:
    if all(i.kind == "enum" for i in issues):
        commit()
    default(ctx, issues, commit)


SWITCHES.fault(
    "enum-partial-write",
    "ENUM-4",
    "Answers 403 for an out-of-set value but has stored it already.",
    rejected=_store_before_refusing,
)


_KEEP = "enum-fields-saved-first"  # Ctx.state: the refused enumerated fields, which keep their stored value


def _save_the_others(
    default: Callable[[Ctx, list[Issue], Callable[[], Any]], None],
    ctx: Ctx,
    issues: list[Issue],
    commit: Callable[[], Any],
) -> None:
    """Fields are saved one by one as they validate: an update refused for its enumerated value has saved the
    other fields already (the enumerated one keeps its stored value)."""
    exists = ctx.route is not None and ctx.services.store.get(ctx.org_id, ctx.route.key) is not None
    if exists and issues and all(i.kind == "enum" for i in issues):
        ctx.state[_KEEP] = {i.field for i in issues}
        commit()
    default(ctx, issues, commit)


def _keep_refused(
    default: Composer,
    ctx: Ctx,
    old: Record | None,
    values: dict[str, Any],
) -> dict[str, Any]:
    fields = default(ctx, old, values)
    for name in ctx.state.get(_KEEP, ()):
        if old is not None and name in old.fields:
            fields[name] = old.fields[name]
    return fields


SWITCHES.fault(
    "enum-partial-write-fields",
    "ENUM-4",
    "Saves a write's fields one by one: an update refused for its out-of-set value answers 403, but has saved "
    "the other fields already (the enumerated field keeps its value).",
    rejected=_save_the_others,
    compose=_keep_refused,
)


def _enum_set(ctx: Ctx, name: str | None) -> str | None:
    """The enumerated set of the request resource's field ``name``, if it is an enumerated field."""
    f = ctx.route.resource.fields.get(name) if ctx.route is not None and name else None
    return f.enum_set if f is not None else None


def _case_insensitive_enum(default: Judge, ctx: Ctx, issues: list[Issue]) -> list[Issue]:
    def folded_ok(issue: Issue) -> bool:
        if issue.kind != "enum" or not isinstance(issue.value, str):
            return False
        enum_set = _enum_set(ctx, issue.field)
        return enum_set is not None and issue.value.lower() in facts.enum_sets()[enum_set][0]

    return default(ctx, [i for i in issues if not folded_ok(i)])


SWITCHES.fault(
    "enum-case-insensitive",
    "ENUM-4",
    "Accepts values in any letter case and stores them as sent.",
    judge=_case_insensitive_enum,
)

# Near misses: values that are almost in the set, accepted by code that normalizes or matches where it
# should compare exactly.
SYNONYMS = {  # what legacy code and other mail APIs call the spec's values
    "subscriber_status": {
        "subscribed": "active",
        "unsubscribe": "unsubscribed",
        "spam_complaint": "scomp",
        "complained": "scomp",
        "bounce": "bounced",
        "inactive": "deactivated",
    },
    "custom_field_type": {
        "string": "text",
        "textarea": "text_multiline",
        "integer": "number",
        "bool": "boolean",
        "dropdown": "select_single_dropdown",
        "radio": "select_single_radio",
        "checkboxes": "select_multiple_checkboxes",
    },
    "winner_metric": {
        "unique_opens": "opens_unique",
        "unique_clicks": "clicks_unique",
        "total_opens": "opens_total",
        "total_clicks": "clicks_total",
        "ctor": "click_to_open_rate",
    },
}


def _normalizing(normalize: Callable[[str, str], str]) -> Hooks:
    """Hooks that accept a value ``normalize(enum_set, value)`` maps into the set, and store the mapped value."""

    def canonical(ctx: Ctx, name: str | None, value: Any) -> Any:
        enum_set = _enum_set(ctx, name)
        if enum_set is None or not isinstance(value, str):
            return value
        mapped = normalize(enum_set, value)
        return mapped if mapped in facts.enum_sets()[enum_set][0] else value

    def judge(default: Judge, ctx: Ctx, issues: list[Issue]) -> list[Issue]:
        kept = [i for i in issues if not (i.kind == "enum" and canonical(ctx, i.field, i.value) != i.value)]
        return default(ctx, kept)

    def compose(
        default: Composer,
        ctx: Ctx,
        old: Record | None,
        values: dict[str, Any],
    ) -> dict[str, Any]:
        return default(ctx, old, {name: canonical(ctx, name, value) for name, value in values.items()})

    return {"judge": judge, "compose": compose}


SWITCHES.fault(
    "enum-case-folded",
    "ENUM-4",
    "Lowercases enumerated values before checking them and stores the lowercased value (so every value "
    "read back is in the set).",
    **_normalizing(lambda enum_set, value: value.lower()),
)
SWITCHES.fault(
    "enum-stripped",
    "ENUM-4",
    "Strips whitespace around enumerated values before checking them and stores the stripped value.",
    **_normalizing(lambda enum_set, value: value.strip()),
)
SWITCHES.fault(
    "enum-synonyms",
    "ENUM-4",
    "Accepts legacy and other APIs' names for enumerated values (subscribed, string, unique_opens, ...) and "
    "stores the spec's value.",
    **_normalizing(lambda enum_set, value: SYNONYMS[enum_set].get(value, value)),
)

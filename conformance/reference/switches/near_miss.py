"""Near misses: credentials and enumerated values that are almost right, accepted by code that compares,
normalizes or matches where it should compare exactly (AUTH-2, ENUM-4)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from conformance.reference.behaviour import ApiError, Ctx
from conformance.reference.faults import Override, fault, variant
from conformance.reference.orgs import Organization, basic_credential
from conformance.reference.store import Record
from conformance.spec import facts


# -- AUTH-2 ---------------------------------------------------------------------------------------
def _key_matching(match: Callable[[str, str], bool]) -> Override:
    """An override of ``authenticate`` that also lets a credential ``match(given, key)`` accepts through."""

    def override(default: Override, ctx: Ctx) -> Organization:
        try:
            return default(ctx)
        except ApiError:
            given = basic_credential(ctx.request.headers.get("authorization"))
            for org in ctx.services.orgs:
                if given is not None and match(given, org.key):
                    return org
            raise

    return override


def _unicode_trimmed(default: Override, ctx: Ctx) -> Organization:
    """Go's ``strings.TrimSpace`` on the UTF-8 header: no-break, ideographic and other Unicode spaces go."""
    raw = ctx.request.headers.get("authorization") or ""
    text = raw.encode("latin-1", "replace").decode("utf-8", "replace")
    given = basic_credential(text)
    for org in ctx.services.orgs:
        if given is not None and given.strip() == org.key:
            return org
    return default(ctx)


def _rfc7617_too(given: str, key: str) -> bool:
    """The key verbatim, or RFC 7617's base64 of ``user:password`` with the key as either part."""
    try:
        decoded = base64.b64decode(given, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return ":" in decoded and key in decoded.split(":", 1)


# -- ENUM-4 ---------------------------------------------------------------------------------------
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


def _normalizing(normalize: Callable[[str, str], str]) -> dict[str, Override]:
    """Hooks that accept a value ``normalize(enum_set, value)`` maps into the set, and store the mapped value."""

    def canonical(ctx: Ctx, name: str | None, value: Any) -> Any:
        f = ctx.route.resource.fields.get(name) if ctx.route is not None and name else None
        if f is None or f.enum_set is None or not isinstance(value, str):
            return value
        mapped = normalize(f.enum_set, value)
        return mapped if mapped in facts.enum_sets()[f.enum_set][0] else value

    def judge(default: Override, ctx: Ctx, issues: list[Any]) -> list[Any]:
        kept = [i for i in issues if not (i.kind == "enum" and canonical(ctx, i.field, i.value) != i.value)]
        return default(ctx, kept)

    def compose(default: Override, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict[str, Any]:
        return default(ctx, old, {name: canonical(ctx, name, value) for name, value in values.items()})

    return {"judge": judge, "compose": compose}


SWITCHES = [
    fault(
        "auth-key-case-insensitive",
        "AUTH-2",
        "Compares the key case-insensitively: the key in other letter case is accepted.",
        authenticate=_key_matching(lambda given, key: given.lower() == key.lower()),
    ),
    fault(
        "auth-key-unicode-trim",
        "AUTH-2",
        "Reads the header as UTF-8 and trims the key of Unicode whitespace (Go's strings.TrimSpace): the key "
        "with a no-break or ideographic space around it is accepted.",
        authenticate=_unicode_trimmed,
    ),
    fault(
        "auth-key-prefix",
        "AUTH-2",
        "Compares only as many characters as were sent (strncmp with the given length): a prefix of the key "
        "is accepted.",
        authenticate=_key_matching(lambda given, key: key.startswith(given)),
    ),
    fault(
        "auth-key-startswith",
        "AUTH-2",
        "Accepts a credential that starts with the key (a fixed-length read): the key plus characters is accepted.",
        authenticate=_key_matching(lambda given, key: given.startswith(key)),
    ),
    variant(
        "auth-rfc7617-too",
        "Accepts the key verbatim and also as standard RFC 7617 Basic (base64 of key: or :key, as curl -u sends): "
        "the same secret, so not a wrong key.",
        authenticate=_key_matching(_rfc7617_too),
    ),
    fault(
        "enum-case-folded",
        "ENUM-4",
        "Lowercases enumerated values before checking them and stores the lowercased value (so every value "
        "read back is in the set).",
        **_normalizing(lambda enum_set, value: value.lower()),
    ),
    fault(
        "enum-stripped",
        "ENUM-4",
        "Strips whitespace around enumerated values before checking them and stores the stripped value.",
        **_normalizing(lambda enum_set, value: value.strip()),
    ),
    fault(
        "enum-synonyms",
        "ENUM-4",
        "Accepts legacy and other APIs' names for enumerated values (subscribed, string, unique_opens, ...) and "
        "stores the spec's value.",
        **_normalizing(lambda enum_set, value: SYNONYMS[enum_set].get(value, value)),
    ),
]

"""Rules a description does not state (SPEC ambiguity 15), kept right and kept wrong.

A vendor may validate more than its description says: the variant's rules refuse bodies the reference
description allows, by the body alone, and the suite must pass it (reporting description gaps). The
faults make validity depend on the history, the id or the method, which SPEC forbids.
"""

from __future__ import annotations

from typing import Any

from conformance.reference.behaviour import ApiError, Ctx
from conformance.reference.faults import Override, fault, variant
from conformance.reference.store import Record


def _refuse(message: str) -> ApiError:
    return ApiError(403, "validation_failed", message)


def _own_rules(default: Override, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict[str, Any]:
    """Campaign names start with a letter; a select field offers at least two options."""
    resource = ctx.route.resource.name if ctx.route else ""
    name = values.get("name")
    if resource == "campaigns" and isinstance(name, str) and not name[:1].isalpha():
        raise _refuse("name must start with a letter")
    kind = values.get("field_type")
    select = resource == "custom_fields" and isinstance(kind, str) and kind.startswith("select_")
    if select and len(values.get("options") or []) < 2:
        raise _refuse(f"a {kind} field needs at least two options")
    return default(ctx, old, values)


def _unique_name_counting_itself(default: Override, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> Any:
    """Campaign names unique per organization, by a check that forgets to leave out the object written."""
    if ctx.route is not None and ctx.route.resource.name == "campaigns" and "name" in values:
        siblings = ctx.services.store.children(ctx.org_id, ctx.route.parent_key, "campaigns")
        if any(r.fields.get("name") == values["name"] for r in siblings):
            raise _refuse(f"a campaign named {values['name']!r} already exists")
    return default(ctx, old, values)


def _put_needs_every_field(default: Override, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> Any:
    if ctx.method == "PUT" and ctx.route is not None:
        writable = {f.name for f in ctx.route.resource.writable(ctx.version)}
        missing = sorted(writable - set(values))
        if missing:
            raise _refuse(f"a PUT must give every field; missing: {', '.join(missing)}")
    return default(ctx, old, values)


def _field_type_fixed(default: Override, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> Any:
    if old is not None and "field_type" in old.fields and values.get("field_type") != old.fields["field_type"]:
        raise _refuse("field_type cannot be changed once the field exists")
    return default(ctx, old, values)


SWITCHES = [
    variant(
        "undeclared-rules",
        "Validates more than its description states: campaign names must start with a letter, select fields "
        "need two options (403 validation_failed for such bodies, wherever they are written).",
        compose=_own_rules,
    ),
    fault(
        "idem-unique-name-counts-itself",
        "IDEM-1",
        "Campaign names are unique per organization, but the check counts the object being written: repeating "
        "the same POST is refused with 403 validation_failed.",
        compose=_unique_name_counting_itself,
    ),
    fault(
        "idem-put-needs-every-field",
        "IDEM-2",
        "PUT refuses (403 validation_failed) a body that leaves out optional fields; POST accepts it.",
        compose=_put_needs_every_field,
    ),
    fault(
        "idem-field-type-fixed",
        "IDEM-3",
        "A custom field's field_type cannot change once written (403 validation_failed): whether a body is "
        "accepted depends on the id's history.",
        compose=_field_type_fixed,
    ),
]

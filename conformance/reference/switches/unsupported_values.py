"""A spec value the vendor never implemented: refused wherever it is written (ENUM-1..3 name the whole set)."""

from __future__ import annotations

from typing import Any

from conformance.reference.behaviour import ApiError, Ctx
from conformance.reference.faults import Override, fault
from conformance.reference.store import Record


def _no_day_of_year(default: Override, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> Any:
    if values.get("field_type") == "day_of_year":
        raise ApiError(403, "validation_failed", "field_type day_of_year is not supported")
    return default(ctx, old, values)


SWITCHES = [
    fault(
        "enum-value-unsupported",
        "ENUM-2",
        "Never implemented the day_of_year custom field type: writing it gets 403 validation_failed.",
        compose=_no_day_of_year,
    ),
]

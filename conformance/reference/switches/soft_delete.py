"""A soft delete whose filter was forgotten in one query: the row is flagged deleted, the item read checks
the flag (GET gets 404), but the collection's query does not, so the deleted object is still listed.
IDEM-6: DELETE removes the object, and a listing that still holds it shows it was not removed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.reference.behaviour import Ctx
from conformance.reference.faults import fault
from conformance.reference.store import Key, Record

_FLAGGED = "soft-deleted"  # Services.scratch: (organization, parent key, resource name) -> {id: record}


def _flag(default: Callable[..., None], ctx: Ctx, key: Key) -> None:
    record = ctx.services.store.get(ctx.org_id, key)
    default(ctx, key)
    if record is not None and ctx.route is not None:
        rows = ctx.services.scratch.setdefault(_FLAGGED, {})
        rows.setdefault((ctx.org_id, key[:-1], key[-1][0]), {})[key[-1][1]] = record


def _list_flagged(default: Callable[..., list], ctx: Ctx, records: list[Record]) -> list[Record]:
    out = default(ctx, records)
    route = ctx.route
    if route is None:
        return out
    flagged = ctx.services.scratch.get(_FLAGGED, {}).get((ctx.org_id, route.parent_key, route.resource.name), {})
    live = {r.ids.get(route.resource.id_param) for r in out}
    return out + [r for object_id, r in flagged.items() if object_id not in live]


SWITCHES: list[Any] = [
    fault(
        "idem-delete-still-listed",
        "IDEM-6",
        "A soft delete: GET of a deleted object gets 404, but the collection still lists it.",
        delete=_flag,
        listing=_list_flagged,
    ),
]

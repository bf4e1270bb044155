"""AUTH-4 on writes: the ways a multi-tenant store lets one organization's ids show through to another.

Ambiguity 16: another organization's POST or PUT to an id the first one holds creates its own object.
A store whose primary key is the id alone (no organization in it) refuses that write, and so tells the
second organization the id exists elsewhere (an existence oracle); one that updates by id alone changes
the first organization's object.
"""

from __future__ import annotations

from typing import Any

from conformance.reference.behaviour import ApiError, Ctx
from conformance.reference.faults import Override, fault
from conformance.reference.store import Record


def _held_elsewhere(ctx: Ctx) -> list[int]:
    """The other organizations holding an object at the request's key."""
    assert ctx.route is not None
    store, key = ctx.services.store, ctx.route.key
    return [o.number for o in ctx.services.orgs if o.number != ctx.org_id and store.get(o.number, key) is not None]


def _refuse_taken(status: int, code: str, message: str) -> Override:
    """An override of ``may_write``: a create at an id another organization holds fails like a unique index."""

    def override(default: Override, ctx: Ctx, old: Record | None) -> None:
        if old is None and _held_elsewhere(ctx):
            raise ApiError(status, code, message)
        default(ctx, old)

    return override


def _overwritten(rec: Record | None, fields: dict[str, Any], now: Any) -> Record:
    if rec is None:  # _held_elsewhere named it: another organization holds the key
        raise LookupError("the other organization's object went away")
    return Record(rec.ids, dict(fields), rec.created, now)


def _update_by_id_alone(default: Override, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict[str, Any]:
    """``UPDATE ... WHERE id = ?`` without the organization: an update also overwrites the others' rows."""
    fields = default(ctx, old, values)
    if old is not None and ctx.route is not None:
        for number in _held_elsewhere(ctx):
            ctx.services.store.write(number, ctx.route.key, lambda rec: _overwritten(rec, fields, ctx.now))
    return fields


SWITCHES = [
    fault(
        "auth-global-id-409",
        "AUTH-4",
        "Ids are unique across organizations (a global primary key): a write to an id another organization "
        'holds gets 409 "already exists".',
        may_write=_refuse_taken(409, "validation_failed", "an object with this id already exists"),
    ),
    fault(
        "auth-global-id-403",
        "AUTH-4",
        "Ids are unique across organizations: a write to an id another organization holds gets 403 "
        'validation_failed "id already in use" (inside the status table, so only the isolation test sees it).',
        may_write=_refuse_taken(403, "validation_failed", "this id is already in use"),
    ),
    fault(
        "auth-global-id-500",
        "AUTH-4",
        "Ids are unique across organizations and the unique-constraint violation escapes: a write to an id "
        "another organization holds gets 500.",
        may_write=_refuse_taken(500, "internal_error", 'duplicate key value violates unique constraint "objects_pkey"'),
    ),
    fault(
        "auth-update-any-org",
        "AUTH-4",
        "Updates by id without the organization filter: an update also overwrites every other organization's "
        "object at that id.",
        compose=_update_by_id_alone,
    ),
]

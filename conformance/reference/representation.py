"""A stored record as the client sees it, in the request's version and the org's zone.

Read-only fields are filled by their role in the model (the id, the parent's id,
creation and last-change time); every time field ``X`` is followed by ``X_epoch``
whether or not the description lists it, because TIME-2 requires it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from conformance.model import Field, Resource
from conformance.reference.behaviour import OMIT, Behaviour, Ctx
from conformance.reference.store import Record

FILLABLE_ROLES = frozenset({"id", "parent_id", "created", "updated", "epoch"})


def unfillable(resource: Resource) -> list[str]:
    """Read-only fields the server would not know how to fill (served descriptions must have none)."""
    return [f.name for f in resource.fields.values() if f.read_only and f.role not in FILLABLE_ROLES]


def represent(ctx: Ctx, behaviour: Behaviour, resource: Resource, record: Record) -> dict[str, Any]:
    zone = behaviour.zone(ctx)
    out: dict[str, Any] = {}
    for f in resource.fields.values():
        if not f.in_version(ctx.version) or f.role == "epoch":
            continue
        value = _value(f, resource, record)
        if value is OMIT:
            continue
        if f.kind == "time":
            text, epoch = behaviour.render_time(ctx, value, zone) if isinstance(value, datetime) else (value, None)
            out[f.name] = text
            if epoch is not OMIT:
                out[f.name + "_epoch"] = epoch
        elif f.kind == "date" and isinstance(value, str):
            out[f.name] = behaviour.render_date(ctx, value)
        elif f.kind == "enum" and value is not None:
            out[f.name] = behaviour.render_enum(ctx, f, value)
        else:
            out[f.name] = value
    return out


def _value(f: Field, resource: Resource, record: Record) -> Any:
    if f.role == "id":
        return record.ids[resource.id_param]
    if f.role == "parent_id" and resource.parent_param:
        return record.ids[resource.parent_param]
    if f.role == "created":
        return record.created
    if f.role == "updated":
        return record.updated
    return record.fields.get(f.name, OMIT)

"""ENV: every answer is the envelope ``{success, data, error_code, error_message}``, all four keys, no
others (ENV-1); a success carries an object or array and null error members (ENV-2); an error carries
null data and a spec code with a message (ENV-3); success and the HTTP status agree (ENV-4)."""

from __future__ import annotations

import uuid
from typing import Any

from conformance.reference import times
from conformance.reference.behaviour import Ctx, Reply
from conformance.reference.faults.shared import after_shape, is_404, set_member, to_status, validation_failed
from conformance.reference.faults.switch import Group

SWITCHES = Group()


def _errors(ctx: Ctx, reply: Reply) -> bool:
    """An error other than 401 (whose data the AUTH clauses judge)."""
    return not reply.ok and reply.status != 401


def _objects(data: Any) -> list[dict[str, Any]]:
    """The objects of a success's data: itself, or the members of an array."""
    return [obj for obj in (data if isinstance(data, list) else [data]) if isinstance(obj, dict)]


# -- ENV-1 ----------------------------------------------------------------------------------------
SWITCHES.fault(
    "env-extra-key",
    "ENV-1",
    "Adds a request_id key to every envelope.",
    shape_reply=after_shape(set_member("request_id", lambda: uuid.uuid4().hex, lambda c, r: True)),
)


def _drop_nulls(ctx: Ctx, reply: Reply) -> None:
    reply.payload = {k: v for k, v in reply.payload.items() if v is not None}


SWITCHES.fault(
    "env-missing-null-keys",
    "ENV-1",
    "Serializer drops null members: success bodies lack error_code/error_message, errors lack data.",
    shape_reply=after_shape(_drop_nulls),
)


def _success_as_string(ctx: Ctx, reply: Reply) -> None:
    reply.payload["success"] = "true" if reply.payload.get("success") is True else "false"


SWITCHES.fault(
    "env-success-string",
    "ENV-1",
    'success is the string "true"/"false", not a boolean.',
    shape_reply=after_shape(_success_as_string),
)

# -- ENV-2 ----------------------------------------------------------------------------------------
SWITCHES.fault(
    "env-delete-data-null",
    "ENV-2",
    "A successful DELETE has data null.",
    shape_reply=after_shape(set_member("data", None, lambda c, r: c.method == "DELETE" and r.ok)),
)
SWITCHES.fault(
    "env-success-message",
    "ENV-2",
    'Successes carry error_message "OK".',
    shape_reply=after_shape(set_member("error_message", "OK", lambda c, r: r.ok)),
)

# -- ENV-3 ----------------------------------------------------------------------------------------
SWITCHES.fault(
    "env-error-data-not-null",
    "ENV-3",
    "Errors other than 401 carry data {} instead of null.",
    shape_reply=after_shape(set_member("data", dict, _errors)),
)
SWITCHES.fault(
    "env-empty-error-message",
    "ENV-3",
    "Errors carry an empty error_message.",
    shape_reply=after_shape(set_member("error_message", "", lambda c, r: not r.ok)),
)
SWITCHES.fault(
    "env-unknown-error-code",
    "ENV-3",
    "Uses the non-spec code invalid_field for validation errors.",
    shape_reply=after_shape(set_member("error_code", "invalid_field", validation_failed)),
)

# -- ENV-4 ----------------------------------------------------------------------------------------
SWITCHES.fault(
    "env-success-on-404",
    "ENV-4",
    "404 answers say success true.",
    shape_reply=after_shape(set_member("success", True, lambda c, r: is_404(r))),
)
SWITCHES.fault(
    "env-failure-200",
    "ENV-4",
    "Validation errors come with HTTP 200 (success false in the body).",
    shape_reply=after_shape(to_status(200, None, validation_failed)),
)


# -- valid variants: what success data may be ----------------------------------------------------
def _delete_empty_array(ctx: Ctx, reply: Reply) -> None:
    if ctx.method == "DELETE" and reply.ok:
        reply.payload["data"] = []


SWITCHES.variant(
    "delete-empty-array",
    "A successful DELETE answers data: [] (an array is a legal success data, ENV-2).",
    shape_reply=after_shape(_delete_empty_array),
)


def _write_minimal(ctx: Ctx, reply: Reply) -> None:
    if ctx.method in ("POST", "PUT") and reply.ok and ctx.route is not None:
        id_field = ctx.route.resource.with_role("id")
        created = reply.status == 201
        reply.payload["data"] = {(id_field.name if id_field else "id"): ctx.route.key[-1][1]} if created else []


SWITCHES.variant(
    "write-minimal",
    "A create answers data: {id} and an update data: [] (ENV-2 asks only for an object or an array).",
    shape_reply=after_shape(_write_minimal),
)


def _sparse(ctx: Ctx, reply: Reply) -> None:
    for obj in _objects(reply.payload["data"]):
        for name in [name for name, value in obj.items() if value is None or value == []]:
            del obj[name]


SWITCHES.variant(
    "sparse-json",
    "Leaves null members and empty arrays out of objects (Go's omitempty, Jackson's NON_EMPTY).",
    shape_reply=after_shape(_sparse),
)


def _omit_zero(value: Any) -> Any:
    """Go's ``omitempty`` at every depth: an object's members that hold null, false, 0, "" or an empty array or
    object are left out."""
    if isinstance(value, dict):
        kept = {k: _omit_zero(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if not (v is None or v is False or v in ("", [], {}) or _zero(v))}
    if isinstance(value, list):
        return [_omit_zero(v) for v in value]
    return value


def _zero(value: Any) -> bool:
    return type(value) in (int, float) and value == 0


def _omitempty(ctx: Ctx, reply: Reply) -> None:
    data = reply.payload["data"]
    if isinstance(data, dict | list):
        reply.payload["data"] = _omit_zero(data)


SWITCHES.variant(
    "omitempty-everywhere",
    'Go\'s omitempty on every struct, nested ones too: members holding null, false, 0, "" or an empty array or '
    "object are left out of every object in data, at any depth.",
    shape_reply=after_shape(_omitempty),
)


def _undeclared_fields(ctx: Ctx, reply: Reply) -> None:
    """Server fields the description does not list: a constant, a null time with its null epoch, a nested
    object whose members share names with enumerated fields, and ``last_updated_at``, an update stamp under a
    name the model does not know, moving on every write (identical ones too)."""
    route, data = ctx.route, reply.payload["data"]
    if route is None or ctx.org is None:
        return
    touched = ctx.services.scratch.setdefault("last_updated_at", {})
    key = (ctx.org_id, route.key)
    if route.kind == "item" and ctx.method in ("POST", "PUT") and reply.ok:
        touched[key] = ctx.now
    for obj in _objects(data):
        obj.update({"object": route.resource.name, "archived_at": None, "archived_at_epoch": None})
        obj["last_delivery"] = {"status": "sent", "winner_metric": "revenue", "field_type": "blob"}
    if route.kind == "item" and isinstance(data, dict) and key in touched and ctx.method != "DELETE":
        data["last_updated_at"] = times.format_time(touched[key].astimezone(ctx.org.zone))
        data["last_updated_at_epoch"] = times.epoch(touched[key])


SWITCHES.variant(
    "undeclared-fields",
    "Objects carry server fields the description does not list: object, archived_at: null with its null "
    "epoch, a nested last_delivery whose members are named like enumerated fields, and last_updated_at, "
    "moving on every write.",
    shape_reply=after_shape(_undeclared_fields),
)

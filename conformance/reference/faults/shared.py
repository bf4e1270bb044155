"""Building blocks of overrides that several clause groups use."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from conformance.reference.behaviour import Ctx, Issue, Reply
from conformance.reference.faults.hooks import EncodeReply, Judge, ShapeReply
from conformance.reference.store import Record

Change = Callable[[Ctx, Reply], None]  # edits a reply in place
When = Callable[[Ctx, Reply], bool]


def after_shape(change: Change) -> ShapeReply:
    """An override of ``shape_reply`` that edits the envelope after the correct shaping."""

    def override(default: Callable[[Ctx, Reply], Reply], ctx: Ctx, reply: Reply) -> Reply:
        reply = default(ctx, reply)
        if envelope(reply) is not None:
            change(ctx, reply)
        return reply

    return override


def after_encode(change: Change) -> EncodeReply:
    """An override of ``encode_reply`` that edits the reply after the correct encoding."""

    def override(default: Callable[[Ctx, Reply], Reply], ctx: Ctx, reply: Reply) -> Reply:
        reply = default(ctx, reply)
        change(ctx, reply)
        return reply

    return override


def envelope(reply: Reply) -> dict[str, Any] | None:
    return reply.payload if isinstance(reply.payload, dict) else None


def is_404(reply: Reply) -> bool:
    return reply.status == 404


def validation_failed(ctx: Ctx, reply: Reply) -> bool:
    return reply.status == 403 and reply.payload.get("error_code") == "validation_failed"


def set_member(key: str, value: Any, when: When) -> Change:
    """Sets the envelope's ``key`` to ``value`` (called, if callable) on the replies ``when`` accepts."""

    def change(ctx: Ctx, reply: Reply) -> None:
        if when(ctx, reply):
            reply.payload[key] = value() if callable(value) else value

    return change


def to_status(status: int, code: str | None, when: When) -> Change:
    """Answers the replies ``when`` accepts with ``status`` (and error_code ``code``, unless None)."""

    def change(ctx: Ctx, reply: Reply) -> None:
        if when(ctx, reply):
            reply.status = status
            if code is not None:
                reply.payload["error_code"] = code

    return change


def crash_on(kind: str, exc: type[Exception], when: Callable[[Any], bool] = lambda value: True) -> Judge:
    """An override of ``judge`` that raises on the first issue of ``kind`` whose value ``when`` accepts."""

    def override(default: Callable[[Ctx, list[Issue]], list[Issue]], ctx: Ctx, issues: list[Issue]) -> list[Issue]:
        for issue in issues:
            if issue.kind == kind and when(issue.value):
                raise exc(issue.field)
        return default(ctx, issues)

    return override


def recode(reply: Reply, **dump: Any) -> None:
    """Encodes the envelope again, with ``json.dumps`` options of a serializer configured otherwise."""
    reply.body = json.dumps(reply.payload, **dump).encode("ascii")


def later(previous: datetime, now: datetime) -> datetime:
    """A time strictly after ``previous``: a moved timestamp stays visible within one second."""
    return max(now, previous + timedelta(seconds=1))


def count_row(ctx: Ctx, table: str) -> None:
    """One more row at the request's key in ``Services.scratch[table]``: a duplicate insert."""
    assert ctx.route is not None
    rows = ctx.services.scratch.setdefault(table, {})
    rows[(ctx.org_id, ctx.route.key)] = rows.get((ctx.org_id, ctx.route.key), 0) + 1


def with_rows(ctx: Ctx, table: str, records: list[Record]) -> list[Record]:
    """``records`` with each repeated as often as :func:`count_row` counted extra rows for it."""
    rows = ctx.services.scratch.get(table, {})
    out: list[Record] = []
    for record in records:
        assert ctx.route is not None
        key = (*ctx.route.parent_key, (ctx.route.resource.name, record.ids[ctx.route.resource.id_param]))
        out += [record] * (1 + rows.get((ctx.org_id, key), 0))
    return out

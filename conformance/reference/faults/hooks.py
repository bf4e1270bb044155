"""What a switch may override: one signature per public method of
:class:`~conformance.reference.behaviour.Behaviour`.

An override takes the correct method first (``default``, already bound), then the method's own
arguments, and returns what the method returns: ``Override[[Ctx, Key], None]`` is
``(default: (Ctx, Key) -> None, ctx: Ctx, key: Key) -> None``. :class:`Hooks` names them, so that
``fault(..., delete=...)`` is type-checked against ``Behaviour.delete``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from typing import Any, Concatenate, ParamSpec, TypedDict, TypeVar

from conformance.model import Field
from conformance.reference.behaviour import HOOKS, ApiError, Ctx, Issue, Reply, Services
from conformance.reference.orgs import Organization
from conformance.reference.store import Key, Record

P = ParamSpec("P")
R = TypeVar("R")

Override = Callable[Concatenate[Callable[P, R], P], R]
Composer = Callable[[Ctx, Record | None, dict[str, Any]], dict[str, Any]]  # the correct compose, as overrides get it
"""An override of a hook whose correct method takes ``P`` and returns ``R``."""

# -- the server around the requests
Start = Override[[Services], list[Callable[[], None]]]
KeepAlive = Override[[], float]
Clock = Override[[Ctx], datetime]
# -- who is asking, and in which version
Authenticate = Override[[Ctx], Organization]
Version = Override[[Ctx], int]
VersionError = Override[[Ctx, str], ApiError]
UnknownMethod = Override[[Ctx], ApiError]
# -- reading a write body
ParseBody = Override[[Ctx, bytes], dict[str, Any]]
ToInstant = Override[[Ctx, str], datetime]
ToDate = Override[[Ctx, str], str]
Judge = Override[[Ctx, list[Issue]], list[Issue]]
Rejected = Override[[Ctx, list[Issue], Callable[[], Any]], None]
# -- writing
Settle = Override[[Ctx], Awaitable[None]]
MayWrite = Override[[Ctx, Record | None], None]
Compose = Override[[Ctx, Record | None, dict[str, Any]], dict[str, Any]]
Stamp = Override[[Ctx, Record | None, dict[str, Any]], tuple[datetime, datetime]]
Stored = Override[[Ctx, Record | None, Record], None]
WriteStatus = Override[[Ctx, bool], int]
# -- reading and deleting
Load = Override[[Ctx, Key], Record | None]
Listing = Override[[Ctx, list[Record]], list[Record]]
Delete = Override[[Ctx, Key], None]
Limit = Override[[Ctx, str | None], int]
# -- representation
Zone = Override[[Ctx], tzinfo]
RenderTime = Override[[Ctx, datetime, tzinfo], tuple[str, Any]]
RenderDate = Override[[Ctx, str], str]
RenderEnum = Override[[Ctx, Field, Any], Any]
# -- the response
ShapeReply = Override[[Ctx, Reply], Reply]
EncodeReply = Override[[Ctx, Reply], Reply]


class Hooks(TypedDict, total=False):
    """A switch's overrides, by the name of the :class:`Behaviour` method each wraps."""

    start: Start
    keep_alive: KeepAlive
    clock: Clock
    authenticate: Authenticate
    version: Version
    version_error: VersionError
    unknown_method: UnknownMethod
    parse_body: ParseBody
    to_instant: ToInstant
    to_date: ToDate
    judge: Judge
    rejected: Rejected
    settle: Settle
    may_write: MayWrite
    compose: Compose
    stamp: Stamp
    stored: Stored
    write_status: WriteStatus
    load: Load
    listing: Listing
    delete: Delete
    limit: Limit
    zone: Zone
    render_time: RenderTime
    render_date: RenderDate
    render_enum: RenderEnum
    shape_reply: ShapeReply
    encode_reply: EncodeReply


if set(Hooks.__annotations__) != HOOKS:
    raise AssertionError(f"Hooks and Behaviour differ: {sorted(set(Hooks.__annotations__) ^ HOOKS)}")

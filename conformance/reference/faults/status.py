"""STATUS: the status-code table: only 200, 201, 401, 403, 404 and 500 (STATUS-1), each failure with its
error code (STATUS-2), 403 validation_failed for invalid arguments, never 5xx (STATUS-3), 404 not_found for
a missing object or path (STATUS-4), 403 requested_too_many above the limit's maximum (STATUS-5), 201 for a
create and 200 for an update (STATUS-6)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import jsonschema

from conformance.model import Resource
from conformance.reference.behaviour import ApiError, Ctx, Issue, Reply, success
from conformance.reference.faults.hooks import Limit, WriteStatus
from conformance.reference.faults.shared import (
    after_shape,
    crash_on,
    is_404,
    set_member,
    to_status,
    validation_failed,
)
from conformance.reference.faults.switch import Group

SWITCHES = Group()
Judge = Callable[[Ctx, list[Issue]], list[Issue]]  # the correct judge
LimitOf = Callable[[Ctx, str | None], int]  # the correct limit


def _status_always(status: int) -> WriteStatus:
    return lambda default, ctx, created: status


def _limit_code(source: str, target: str) -> Limit:
    """An override of ``limit`` that answers its ``source`` error code with ``target``."""

    def override(default: LimitOf, ctx: Ctx, raw: str | None) -> int:
        try:
            return default(ctx, raw)
        except ApiError as e:
            if e.code == source:
                raise ApiError(e.status, target, e.message) from None
            raise

    return override


# -- STATUS-1 -------------------------------------------------------------------------------------
SWITCHES.fault(
    "status-422-validation",
    "STATUS-1",
    "Answers validation errors with 422.",
    shape_reply=after_shape(to_status(422, None, validation_failed)),
)


def _method_405(default: Callable[[Ctx], ApiError], ctx: Ctx) -> ApiError:
    allowed = "GET" if ctx.route is not None and ctx.route.kind == "collection" else "GET, POST, PUT, DELETE"
    return ApiError(405, "invalid_request", f"method {ctx.method} not allowed", {"allow": allowed})


SWITCHES.fault(
    "status-405-wrong-method", "STATUS-1", "Answers a method the path lacks with 405.", unknown_method=_method_405
)

# -- STATUS-2 -------------------------------------------------------------------------------------
SWITCHES.fault(
    "status-wrong-error-code",
    "STATUS-2",
    "404 answers carry error_code invalid_request.",
    shape_reply=after_shape(set_member("error_code", "invalid_request", lambda c, r: is_404(r))),
)

# -- STATUS-3 -------------------------------------------------------------------------------------
SWITCHES.fault(
    "status-500-on-missing-required",
    "STATUS-3",
    "A missing required field raises KeyError: 500.",
    judge=crash_on("required", KeyError),
)
SWITCHES.fault(
    "status-500-on-wrong-type",
    "STATUS-3",
    "A field of the wrong JSON type raises TypeError: 500.",
    judge=crash_on("type", TypeError),
)

_ITEM_KEYWORDS = frozenset({"items", "prefixItems", "unevaluatedItems", "contains"})
_NAMED_SUBSCHEMAS = frozenset({"properties", "patternProperties", "dependentSchemas", "$defs", "definitions"})
_VALUE_KEYWORDS = frozenset({"enum", "const", "default", "examples"})


def _any_items(schema: Any) -> Any:
    """``schema`` with every array's item constraints removed, at any depth."""
    if isinstance(schema, list):
        return [_any_items(sub) for sub in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _ITEM_KEYWORDS:
            continue
        if key in _NAMED_SUBSCHEMAS and isinstance(value, dict):
            out[key] = {name: _any_items(sub) for name, sub in value.items()}
        elif key in _VALUE_KEYWORDS or key.startswith("x-"):
            out[key] = value
        else:
            out[key] = _any_items(value)
    return out


@lru_cache(maxsize=256)
def _items_unchecked_validator(resource: Resource, version: int) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_any_items(resource.write_schema_for(version)))


def _array_items_unchecked(default: Judge, ctx: Ctx, issues: list[Issue]) -> list[Issue]:
    """Drops the issues of an array field that only its items caused: without item
    constraints the write schema finds nothing wrong with that field."""
    assert ctx.route is not None
    resource = ctx.route.resource
    writable = {f.name for f in resource.writable(ctx.version)}
    payload = {name: value for name, value in json.loads(ctx.body).items() if name in writable}
    arrays = {name for name, value in payload.items() if isinstance(value, list)}
    still = {e.path[0] for e in _items_unchecked_validator(resource, ctx.version).iter_errors(payload) if e.path}
    return default(ctx, [i for i in issues if i.field not in arrays or i.field in still])


SWITCHES.fault(
    "status-array-items-unchecked",
    "STATUS-3",
    "Never validates array items: items of any JSON type are accepted and stored.",
    judge=_array_items_unchecked,
)


_BOUND_KEYWORDS = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems"}
)


def _without(schema: Any, dropped: frozenset[str]) -> Any:
    """``schema`` without the ``dropped`` keywords, at any depth (never a property's name, nor a value)."""
    if isinstance(schema, list):
        return [_without(sub, dropped) for sub in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in dropped:
            continue
        if key in _NAMED_SUBSCHEMAS and isinstance(value, dict):
            out[key] = {name: _without(sub, dropped) for name, sub in value.items()}
        elif key in _VALUE_KEYWORDS or key.startswith("x-"):
            out[key] = value
        else:
            out[key] = _without(value, dropped)
    return out


@lru_cache(maxsize=256)
def _types_only_validator(resource: Resource, version: int) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_without(resource.write_schema_for(version), _BOUND_KEYWORDS | {"pattern"}))


def _bounds_unchecked(default: Judge, ctx: Ctx, issues: list[Issue]) -> list[Issue]:
    """Drops the issues of a field that only a bound or a pattern of the description caused."""
    assert ctx.route is not None
    resource = ctx.route.resource
    writable = {f.name for f in resource.writable(ctx.version)}
    payload = {name: value for name, value in json.loads(ctx.body).items() if name in writable}
    still = {e.path[0] for e in _types_only_validator(resource, ctx.version).iter_errors(payload) if e.path}
    return default(ctx, [i for i in issues if i.kind != "invalid" or i.field is None or i.field in still])


SWITCHES.fault(
    "status-bounds-unchecked",
    "STATUS-3",
    "A hand-written validator checks types, required fields, enumerations and times only: the ranges, lengths, "
    "item counts and patterns the description declares are never checked (an empty name is stored).",
    judge=_bounds_unchecked,
)


# -- STATUS-4 -------------------------------------------------------------------------------------
def _missing_object_as_empty(ctx: Ctx, reply: Reply) -> None:
    if is_404(reply) and ctx.method == "GET" and ctx.route is not None and ctx.route.kind == "item":
        reply.status = 200
        reply.payload = {"success": True, "data": {}, "error_code": None, "error_message": None}


SWITCHES.fault(
    "status-200-on-missing",
    "STATUS-4",
    "GET of a missing object answers 200 with data {}.",
    shape_reply=after_shape(_missing_object_as_empty),
)
SWITCHES.fault(
    "status-unknown-path-403",
    "STATUS-4",
    "An unknown path gets 403 invalid_request.",
    shape_reply=after_shape(
        to_status(403, "invalid_request", lambda c, r: is_404(r) and c.org is not None and c.route is None)
    ),
)


# Rules kept on some operations only (see auth.py): a catch-all route, and validation before routing.
def _unknown_path(ctx: Ctx) -> bool:
    return ctx.route is None and ctx.org is not None and ctx.services.router.match(ctx.path) is None


def _catch_all_delete(default: Callable[[Ctx, Reply], Reply], ctx: Ctx, reply: Reply) -> Reply:
    reply = default(ctx, reply)
    if ctx.method == "DELETE" and reply.status == 404 and _unknown_path(ctx):
        return success({"deleted": True})
    return reply


SWITCHES.fault(
    "status-delete-unknown-path-200",
    "STATUS-4",
    "A catch-all DELETE route: DELETE of a path the API does not have answers 200.",
    shape_reply=_catch_all_delete,
)


def _writes_validated_before_routing(default: Callable[[Ctx], int], ctx: Ctx) -> int:
    version = default(ctx)
    if ctx.method in ("POST", "PUT") and ctx.services.router.match(ctx.path) is None:
        raise ApiError(403, "validation_failed", "the body does not match any resource")
    return version


SWITCHES.fault(
    "status-unknown-path-write-403",
    "STATUS-4",
    "Validates write bodies before routing: POST or PUT to a path the API does not have gets 403 validation_failed.",
    version=_writes_validated_before_routing,
)


# -- STATUS-5 -------------------------------------------------------------------------------------
def _limit_capped(default: LimitOf, ctx: Ctx, raw: str | None) -> int:
    try:
        return default(ctx, raw)
    except ApiError as e:
        if e.code == "requested_too_many" and ctx.route is not None and ctx.route.resource.limit_max:
            return ctx.route.resource.limit_max
        raise


SWITCHES.fault(
    "status-ignore-limit-max", "STATUS-5", "A limit above the maximum is silently capped.", limit=_limit_capped
)
SWITCHES.fault(
    "status-too-many-validation",
    "STATUS-5",
    "A limit above the maximum gets validation_failed.",
    limit=_limit_code("requested_too_many", "validation_failed"),
)

# -- STATUS-6 -------------------------------------------------------------------------------------
SWITCHES.fault(
    "status-update-201",
    "STATUS-6",
    "Every successful write answers 201, updates too.",
    write_status=_status_always(201),
)


# -- valid variants -------------------------------------------------------------------------------
SWITCHES.variant(
    "created-200", "Answers 200 (not 201) on create (STATUS-6 is only a SHOULD).", write_status=_status_always(200)
)


def _keep_unknown(default: Judge, ctx: Ctx, issues: list[Issue]) -> list[Issue]:
    return default(ctx, issues) + [i for i in issues if i.kind == "unknown"]


SWITCHES.variant(
    "unknown-fields-reject", "Refuses unknown fields with 403 validation_failed (Ambiguity 7).", judge=_keep_unknown
)
SWITCHES.variant(
    "method-403",
    "A method the path lacks gets 403 invalid_request instead of 404 (Ambiguity 13).",
    unknown_method=lambda default, ctx: ApiError(403, "invalid_request", f"{ctx.method} is not offered"),
)


def _limit_as_javascript(default: LimitOf, ctx: Ctx, raw: str | None) -> int:
    """``Number(raw)`` of a JavaScript server: a whole number in any of its forms is that number; an empty
    ``limit=`` is taken as not given (a framework's default value)."""
    text = (raw or "").strip()
    if raw is not None and not text:
        return default(ctx, None)
    if raw is not None and re.fullmatch(r"[+-]?(0[xX][0-9a-fA-F]+|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)", text):
        value = int(text, 16) if text.lower().lstrip("+-").startswith("0x") else float(text)
        if math.isfinite(value) and value == int(value) and abs(value) < 2**53:
            raw = str(int(value))
    return default(ctx, raw)


def _limit_int32(default: LimitOf, ctx: Ctx, raw: str | None) -> int:
    """``limit`` parsed into a 32-bit integer, as a Java or .NET server binds it: beyond, a malformed query."""
    if raw is not None and raw.strip().isdigit() and int(raw) > 2**31 - 1:
        raise ApiError(403, "validation_failed", "limit must be a 32-bit integer")
    return default(ctx, raw)


SWITCHES.variant(
    "limit-int32",
    "Binds limit to a 32-bit integer: a limit beyond 2147483647 is malformed (validation_failed), whatever the "
    "declared maximum (seen only with a maximum that high: limit is then refused as malformed, not as too many).",
    limit=_limit_int32,
)
SWITCHES.variant(
    "limit-lenient",
    "Reads limit as JavaScript's Number() does: ' 7 ', '7.0', '+7', '7e1' and '0x10' are those whole numbers; "
    "an empty limit= is not given.",
    limit=_limit_as_javascript,
)
SWITCHES.variant(
    "bad-query-invalid-request",
    "A limit below 1 or not an integer gets invalid_request (Ambiguity 11).",
    limit=_limit_code("validation_failed", "invalid_request"),
)

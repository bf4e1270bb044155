"""Fault switches and valid variants: named, documented deviations, all in one place.

A *fault* breaks exactly one clause the way a real vendor might; the suite must
flag it under that clause. A *variant* is a legal choice the spec leaves open;
the suite must pass it. Both are :class:`Switch` entries. A switch changes the
server only by wrapping :class:`~conformance.reference.behaviour.Behaviour`
methods (its ``hooks``: each override receives the correct method first, so it
can defer to it), or by server-level settings (TLS certificate, org zones).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import math
import random
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache, partial
from typing import Any
from urllib.parse import quote

import jsonschema

from conformance.model import Resource
from conformance.reference import times
from conformance.reference.behaviour import HOOKS, OMIT, ApiError, Behaviour, Ctx, Reply, not_found
from conformance.reference.orgs import Organization, basic_credential, find_org
from conformance.reference.store import Key, Record

Override = Callable[..., Any]  # (default, ctx, *args) -> result


@dataclass(frozen=True)
class Switch:
    name: str
    description: str
    clause: str | None = None  # the clause a fault breaks; None for a valid variant
    hooks: Mapping[str, Override] = field(default_factory=dict)
    tls: str | None = None  # "plain" | "untrusted" | "wrong-host" | "expired"
    zones: tuple[str, ...] | None = None  # default organization zones

    @property
    def is_fault(self) -> bool:
        return self.clause is not None


def _fault(name: str, clause: str, description: str, **kw: Any) -> Switch:
    return _switch(name, description, clause, **kw)


def _variant(name: str, description: str, **kw: Any) -> Switch:
    return _switch(name, description, None, **kw)


def _switch(
    name: str,
    description: str,
    clause: str | None,
    *,
    tls: str | None = None,
    zones: tuple[str, ...] | None = None,
    **hooks: Override,
) -> Switch:
    unknown = set(hooks) - HOOKS
    if unknown:
        raise AssertionError(f"{name}: no Behaviour hook named {sorted(unknown)}")
    return Switch(name, description, clause, hooks, tls, zones)


# == overrides ===================================================================================
# Each takes the correct behaviour (``default``) first. Grouped by clause group.


def _later(previous: datetime, now: datetime) -> datetime:
    """A time strictly after ``previous``: a moved timestamp stays visible within one second."""
    return max(now, previous + timedelta(seconds=1))


def _is_404(reply: Reply) -> bool:
    return reply.status == 404


def _envelope(reply: Reply) -> dict[str, Any] | None:
    return reply.payload if isinstance(reply.payload, dict) else None


def _after_shape(change: Callable[[Ctx, Reply], None]) -> Override:
    """An override of ``shape_reply`` that edits the envelope after the correct shaping."""

    def override(default: Callable[..., Reply], ctx: Ctx, reply: Reply) -> Reply:
        reply = default(ctx, reply)
        if _envelope(reply) is not None:
            change(ctx, reply)
        return reply

    return override


def _after_encode(change: Callable[[Ctx, Reply], None]) -> Override:
    def override(default: Callable[..., Reply], ctx: Ctx, reply: Reply) -> Reply:
        reply = default(ctx, reply)
        change(ctx, reply)
        return reply

    return override


def _recode(ctx: Ctx, reply: Reply, **dump: Any) -> None:
    reply.body = json.dumps(reply.payload, **dump).encode("ascii")


def _html_404(ctx: Ctx, reply: Reply) -> None:
    if _is_404(reply):
        reply.body = b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>"
        reply.headers["content-type"] = "text/html; charset=utf-8"


def _empty_delete(ctx: Ctx, reply: Reply) -> None:
    if ctx.method == "DELETE" and reply.ok:
        reply.body = b""
        reply.headers.pop("content-type", None)


def _bad_body_500(default: Override, ctx: Ctx, raw: bytes) -> dict[str, Any]:
    try:
        return default(ctx, raw)
    except ApiError:
        raise ValueError("unhandled JSON decode error") from None


def _bad_body_validation(default: Override, ctx: Ctx, raw: bytes) -> dict[str, Any]:
    try:
        return default(ctx, raw)
    except ApiError as e:
        raise ApiError(403, "validation_failed", e.message) from None


def _set(key: str, value: Any, when: Callable[[Ctx, Reply], bool]) -> Callable[[Ctx, Reply], None]:
    def change(ctx: Ctx, reply: Reply) -> None:
        if when(ctx, reply):
            reply.payload[key] = value() if callable(value) else value

    return change


def _drop_nulls(ctx: Ctx, reply: Reply) -> None:
    reply.payload = {k: v for k, v in reply.payload.items() if v is not None}


def _success_as_string(ctx: Ctx, reply: Reply) -> None:
    reply.payload["success"] = "true" if reply.payload.get("success") is True else "false"


def _to_status(status: int, code: str | None, when: Callable[[Ctx, Reply], bool]) -> Callable[[Ctx, Reply], None]:
    def change(ctx: Ctx, reply: Reply) -> None:
        if when(ctx, reply):
            reply.status = status
            if code is not None:
                reply.payload["error_code"] = code

    return change


def _validation_failed(ctx: Ctx, reply: Reply) -> bool:
    return reply.status == 403 and reply.payload.get("error_code") == "validation_failed"


THROTTLE_EVERY = 7


def _throttle(default: Override, ctx: Ctx) -> Organization:
    """Every THROTTLE_EVERY-th authenticated request is refused before anything happens."""
    org = default(ctx)
    count = ctx.services.scratch.setdefault("throttle", [0])
    count[0] += 1
    if count[0] % THROTTLE_EVERY == 0:
        raise ApiError(429, "requested_too_many", "slow down")
    return org


def _retry_after(ctx: Ctx, reply: Reply) -> None:
    if reply.status == 429:
        reply.headers["Retry-After"] = "0"


def _missing_object_as_empty(ctx: Ctx, reply: Reply) -> None:
    if _is_404(reply) and ctx.method == "GET" and ctx.route is not None and ctx.route.kind == "item":
        reply.status = 200
        reply.payload = {"success": True, "data": {}, "error_code": None, "error_message": None}


def _method_405(default: Override, ctx: Ctx) -> ApiError:
    allowed = "GET" if ctx.route is not None and ctx.route.kind == "collection" else "GET, POST, PUT, DELETE"
    return ApiError(405, "invalid_request", f"method {ctx.method} not allowed", {"allow": allowed})


def _crash_on(kind: str, exc: type[Exception], when: Callable[[Any], bool] = lambda value: True) -> Override:
    """An override of ``judge`` that raises on the first issue of ``kind`` whose value ``when`` accepts."""

    def override(default: Override, ctx: Ctx, issues: list[Any]) -> list[Any]:
        for issue in issues:
            if issue.kind == kind and when(issue.value):
                raise exc(issue.field)
        return default(ctx, issues)

    return override


def _limit_capped(default: Override, ctx: Ctx, raw: str | None) -> int:
    try:
        return default(ctx, raw)
    except ApiError as e:
        if e.code == "requested_too_many" and ctx.route is not None and ctx.route.resource.limit_max:
            return ctx.route.resource.limit_max
        raise


def _limit_code(source: str, target: str) -> Override:
    def override(default: Override, ctx: Ctx, raw: str | None) -> int:
        try:
            return default(ctx, raw)
        except ApiError as e:
            if e.code == source:
                raise ApiError(e.status, target, e.message) from None
            raise

    return override


def _status_always(status: int) -> Override:
    return lambda default, ctx, created: status


# -- AUTH ---------------------------------------------------------------------------------------
def _auth_skip_reads(default: Override, ctx: Ctx) -> Organization:
    if ctx.method == "GET" and "authorization" not in ctx.request.headers:
        return ctx.services.orgs[0]
    return default(ctx)


def _auth_route_first(default: Override, ctx: Ctx) -> Organization:
    if ctx.services.router.match(ctx.path) is None:
        raise not_found(f"no such path: {ctx.path}")
    return default(ctx)


def _auth_wrong_key_403(default: Override, ctx: Ctx) -> Organization:
    try:
        return default(ctx)
    except ApiError:
        if "authorization" in ctx.request.headers:
            raise ApiError(403, "invalid_request", "invalid API key") from None
        raise


def _auth_any_basic(default: Override, ctx: Ctx) -> Organization:
    if basic_credential(ctx.request.headers.get("authorization")) is not None:
        return (
            find_org(ctx.services.orgs, basic_credential(ctx.request.headers["authorization"])) or ctx.services.orgs[0]
        )
    return default(ctx)


def _auth_decode_crash(default: Override, ctx: Ctx) -> Organization:
    key = basic_credential(ctx.request.headers.get("authorization"))
    if key is not None and find_org(ctx.services.orgs, key) is None:
        # "find the organization from the key's number" without guarding the decode
        number = base64.b64decode(key, validate=True).decode("ascii").split(":")[0]
        int(number)
    return default(ctx)


def _auth_any_scheme(default: Override, ctx: Ctx) -> Organization:
    _, _, key = (ctx.request.headers.get("authorization") or "").strip().partition(" ")
    return find_org(ctx.services.orgs, key.strip() or None) or default(ctx)


def _auth_double_decode(default: Override, ctx: Ctx) -> Organization:
    """Treats the key as RFC 7617 ``base64(user:password)`` and looks the *user* up."""
    key = basic_credential(ctx.request.headers.get("authorization")) or ""
    try:
        user = base64.b64decode(key, validate=True).decode("utf-8").split(":", 1)[0]
    except ValueError:
        user = ""
    org = find_org(ctx.services.orgs, user or None)
    if org is None:
        raise ApiError(401, "not_authorized", "send Authorization: Basic <key> with a valid API key")
    return org


def _read_any_org(default: Override, ctx: Ctx, key: Key) -> Record | None:
    found = default(ctx, key)
    for org in ctx.services.orgs:
        if found is None:
            found = ctx.services.store.get(org.number, key)
    return found


def _delete_any_org(default: Override, ctx: Ctx, key: Key) -> None:
    default(ctx, key)
    for org in ctx.services.orgs:
        ctx.services.store.delete(org.number, key)


# -- VER ----------------------------------------------------------------------------------------
def _ignore_header(default: Override, ctx: Ctx) -> int:
    ctx.header_version = None
    return default(ctx)


def _ignore_header_on_write(default: Override, ctx: Ctx) -> int:
    if ctx.method in ("POST", "PUT"):
        ctx.header_version = None
    return default(ctx)


def _no_path_version(default: Override, ctx: Ctx) -> int:
    if ctx.path_version is not None:
        raise not_found(f"no such path: /v{ctx.path_version}{ctx.path}")
    return default(ctx)


def _latest_by_default(default: Override, ctx: Ctx) -> int:
    if ctx.path_version is None and ctx.header_version is None:
        return ctx.services.model.latest_version
    return default(ctx)


def _fallback_to_1(default: Override, ctx: Ctx) -> int:
    try:
        return default(ctx)
    except ApiError:
        return 1


def _int_header(default: Override, ctx: Ctx) -> int:
    if ctx.header_version is not None:
        return int(ctx.header_version)  # ValueError on "abc" escapes as a 500
    return default(ctx)


def _version_403(default: Override, ctx: Ctx, text: str) -> ApiError:
    return ApiError(403, "invalid_request", f"unsupported API version {text[:20]!r}")


# -- IDEM ---------------------------------------------------------------------------------------
def _post_conflict(default: Override, ctx: Ctx, old: Record | None) -> None:
    if ctx.method == "POST" and old is not None:
        raise ApiError(403, "validation_failed", "an object with this id already exists")
    default(ctx, old)


def _put_update_only(default: Override, ctx: Ctx, old: Record | None) -> None:
    if ctx.method == "PUT" and old is None:
        raise not_found("nothing to update at this id")
    default(ctx, old)


def _post_duplicates_count(default: Override, ctx: Ctx, old: Record | None) -> None:
    default(ctx, old)
    if ctx.method == "POST" and old is not None and ctx.route is not None:
        rows = ctx.services.scratch.setdefault("idem-post-duplicates", {})
        rows[(ctx.org_id, ctx.route.key)] = rows.get((ctx.org_id, ctx.route.key), 0) + 1


def _post_duplicates_list(default: Override, ctx: Ctx, records: list[Record]) -> list[Record]:
    rows = ctx.services.scratch.get("idem-post-duplicates", {})
    out = []
    for record in default(ctx, records):
        assert ctx.route is not None
        key = (*ctx.route.parent_key, (ctx.route.resource.name, record.ids[ctx.route.resource.id_param]))
        out += [record] * (1 + rows.get((ctx.org_id, key), 0))
    return out


def _put_without_defaults(default: Override, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict:
    fields = default(ctx, old, values)
    if ctx.method == "PUT" and ctx.route is not None:
        for f in ctx.route.resource.writable(ctx.version):
            if f.name not in values:
                fields[f.name] = None
    return fields


def _merge(default: Override, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict:
    return default(ctx, old, {**(old.fields if old else {}), **values})


def _stale_read(default: Override, ctx: Ctx, key: Key) -> Record | None:
    cache = ctx.services.scratch.setdefault("idem-stale-read", {})
    current = default(ctx, key)
    if current is None:
        cache.pop((ctx.org_id, key), None)
        return None
    return cache.setdefault((ctx.org_id, key), current)


def _read_drops_field(default: Override, ctx: Ctx, key: Key) -> Record | None:
    record = default(ctx, key)
    if record is not None and ctx.route is not None:
        optional = [f for f in ctx.route.resource.writable(ctx.version) if not f.required]
        if optional and (optional[0].has_default or optional[0].nullable):
            record.fields[optional[0].name] = optional[0].default()
    return record


def _get_touches(default: Override, ctx: Ctx, key: Key) -> Record | None:
    if default(ctx, key) is None:
        return None

    def touch(old: Record | None) -> Record:
        assert old is not None
        old.updated = _later(old.updated, ctx.now)
        return old

    return ctx.services.store.write(ctx.org_id, key, touch)[1]


def _delete_missing_404(default: Override, ctx: Ctx, key: Key) -> None:
    if ctx.services.store.get(ctx.org_id, key) is None:
        raise not_found("already deleted")
    default(ctx, key)


def _first_delete_500(default: Override, ctx: Ctx, key: Key) -> None:
    """A cold connection pool: the server's very first DELETE fails; every later one works."""
    if not ctx.services.scratch.get("deleted_once"):
        ctx.services.scratch["deleted_once"] = True
        raise ApiError(500, "internal_error", "database connection not ready")
    default(ctx, key)


def _delete_never_existed_404(default: Override, ctx: Ctx, key: Key) -> None:
    if not ctx.services.store.existed(ctx.org_id, key):
        raise not_found("no object has ever had this id")
    default(ctx, key)


def _touch_always(default: Override, ctx: Ctx, old: Record | None, fields: dict) -> tuple[datetime, datetime]:
    created, updated = default(ctx, old, fields)
    return (created, _later(old.updated, ctx.now)) if old is not None else (created, updated)


def _created_moves(default: Override, ctx: Ctx, old: Record | None, fields: dict) -> tuple[datetime, datetime]:
    created, updated = default(ctx, old, fields)
    if old is None:
        return created, updated
    moved = _later(old.created, ctx.now)
    return moved, max(moved, updated)


# -- TIME ---------------------------------------------------------------------------------------
def _time_z(default: Override, ctx: Ctx, instant: datetime, zone: tzinfo) -> tuple[str, Any]:
    _, epoch = default(ctx, instant, zone)
    return f"{instant.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z", epoch


def _time_fraction(default: Override, ctx: Ctx, instant: datetime, zone: tzinfo) -> tuple[str, Any]:
    text, epoch = default(ctx, instant, zone)
    return text[:19] + ".000" + text[19:], epoch


def _time_no_colon(default: Override, ctx: Ctx, instant: datetime, zone: tzinfo) -> tuple[str, Any]:
    text, epoch = default(ctx, instant, zone)
    return text[:-3] + text[-2:], epoch


def _epoch(change: Callable[[int, datetime, Any], Any]) -> Override:
    def override(default: Override, ctx: Ctx, instant: datetime, zone: tzinfo) -> tuple[str, Any]:
        text, epoch = default(ctx, instant, zone)
        return text, change(epoch, instant, zone)

    return override


def _wall_clock_epoch(epoch: int, instant: datetime, zone: Any) -> int:
    return int(instant.astimezone(zone).replace(tzinfo=UTC).timestamp())


def _standard_offset(default: Override, ctx: Ctx, instant: datetime, zone: tzinfo) -> tuple[str, Any]:
    local = instant.astimezone(zone)
    standard = timezone((local.utcoffset() or timedelta()) - (local.dst() or timedelta()))
    return default(ctx, instant, standard)


def _zone_utc(default: Override, ctx: Ctx) -> tzinfo:
    return UTC


def _zone_first_org(default: Override, ctx: Ctx) -> tzinfo:
    return ctx.services.orgs[0].zone


def _zone_utc_when_nested(default: Override, ctx: Ctx) -> tzinfo:
    return UTC if ctx.path.count("/") > 2 else default(ctx)


def _date_with_time(default: Override, ctx: Ctx, value: str) -> str:
    return default(ctx, value) + "T00:00:00"


def _date_us(default: Override, ctx: Ctx, value: str) -> str:
    year, month, day = default(ctx, value).split("-")
    return f"{month}/{day}/{year}"


def _offset_dropped(default: Override, ctx: Ctx, text: str) -> datetime:
    default(ctx, text)  # still refuses malformed input
    wall = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    return wall.replace(tzinfo=ctx.org.zone if ctx.org else UTC).astimezone(UTC)


def _date_pattern_only(default: Override, ctx: Ctx, text: str) -> str:
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return text
    return default(ctx, text)


def _lenient_time(default: Override, ctx: Ctx, text: str) -> datetime:
    try:
        return default(ctx, text)
    except ValueError:
        parsed = datetime.fromisoformat(text)  # accepts "2013-03-27 10:41", "Z", fractions
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ctx.org.zone if ctx.org else UTC)
        return parsed.astimezone(UTC).replace(microsecond=0)


def _only_org_offset(default: Override, ctx: Ctx, text: str) -> datetime:
    instant = default(ctx, text)
    offset = instant.astimezone(ctx.org.zone if ctx.org else UTC).utcoffset() or timedelta()
    sign, hours, minutes = text[-6], int(text[-5:-3]), int(text[-2:])
    given = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
    if given != offset:
        raise ValueError("only the organization's own offset is accepted")
    return instant


# -- ENUM ---------------------------------------------------------------------------------------
_LEGACY = {
    "subscriber_status": {"active": "subscribed", "deactivated": "disabled"},
    "custom_field_type": {
        "text": "string",
        "text_multiline": "textarea",
        "number": "integer",
        "boolean": "yes_no",
        "day_of_year": "month_day",
    },
    "winner_metric": {
        "opens_unique": "unique_opens",
        "clicks_unique": "unique_clicks",
        "opens_total": "total_opens",
        "clicks_total": "total_clicks",
        "click_to_open_rate": "ctor",
    },
}


def _legacy_names(enum_set: str) -> Override:
    def override(default: Override, ctx: Ctx, f: Any, value: Any) -> Any:
        value = default(ctx, f, value)
        return _LEGACY[enum_set].get(value, value) if f.enum_set == enum_set else value

    return override


def _drop_enum_issues(default: Override, ctx: Ctx, issues: list[Any]) -> list[Any]:
    return default(ctx, [i for i in issues if i.kind != "enum"])


def _case_insensitive_enum(default: Override, ctx: Ctx, issues: list[Any]) -> list[Any]:
    from conformance.spec import facts

    def folded_ok(issue: Any) -> bool:
        if issue.kind != "enum" or not isinstance(issue.value, str) or ctx.route is None:
            return False
        f = ctx.route.resource.fields.get(issue.field)
        return f is not None and f.enum_set is not None and issue.value.lower() in facts.enum_sets()[f.enum_set][0]

    return default(ctx, [i for i in issues if not folded_ok(i)])


def _store_before_refusing(default: Override, ctx: Ctx, issues: list[Any], commit: Callable[[], Any]) -> None:
    if all(i.kind == "enum" for i in issues):
        commit()
    default(ctx, issues, commit)


def _keep_unknown(default: Override, ctx: Ctx, issues: list[Any]) -> list[Any]:
    return default(ctx, issues) + [i for i in issues if i.kind == "unknown"]


# -- FUZZ: what only generated bodies reach ---------------------------------------------------
def _stored_text(convert: Callable[[str], str]) -> Override:
    """An override of ``compose`` that passes every string the body gives a field, at any depth,
    through a storage column's ``convert`` (which may raise)."""

    def override(default: Override, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict:
        return default(ctx, old, {name: _map_strings(convert, value) for name, value in values.items()})

    return override


def _map_strings(convert: Callable[[str], str], value: Any) -> Any:
    if isinstance(value, str):
        return convert(value)
    if isinstance(value, list):
        return [_map_strings(convert, item) for item in value]
    if isinstance(value, dict):
        return {key: _map_strings(convert, item) for key, item in value.items()}
    return value


def _ascii_column(text: str) -> str:
    return text.encode("ascii").decode("ascii")  # UnicodeEncodeError escapes as a 500


def _latin1_column(text: str) -> str:
    return text.encode("utf-8", "surrogatepass").decode("latin-1")  # UTF-8 bytes read back as latin-1


def _empty_string_crashes(default: Override, ctx: Ctx, issues: list[Any]) -> list[Any]:
    """Before validation, an empty string in any known field (at any depth) hits a CHECK constraint."""
    assert ctx.route is not None
    try:
        body = json.loads(ctx.body)
    except ValueError:
        return default(ctx, issues)
    if isinstance(body, dict):
        known = {f.name for f in ctx.route.resource.writable(ctx.version)}
        if any(_has_empty_string(value) for name, value in body.items() if name in known):
            raise ValueError("CHECK constraint failed: length(value) > 0")
    return default(ctx, issues)


def _has_empty_string(value: Any) -> bool:
    if value == "":
        return True
    if isinstance(value, list):
        return any(_has_empty_string(v) for v in value)
    if isinstance(value, dict):
        return any(_has_empty_string(v) for v in value.values())
    return False


def _null_crashes(default: Override, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict:
    assert ctx.route is not None
    for f in ctx.route.resource.writable(ctx.version):
        if f.nullable and f.name in values and values[f.name] is None:
            raise TypeError(f"{f.name}: the setter calls a method of None")
    return default(ctx, old, values)


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


def _array_items_unchecked(default: Override, ctx: Ctx, issues: list[Any]) -> list[Any]:
    """Drops the issues of an array field that only its items caused: without item
    constraints the write schema finds nothing wrong with that field."""
    assert ctx.route is not None
    resource = ctx.route.resource
    writable = {f.name for f in resource.writable(ctx.version)}
    payload = {name: value for name, value in json.loads(ctx.body).items() if name in writable}
    arrays = {name for name, value in payload.items() if isinstance(value, list)}
    still = {e.path[0] for e in _items_unchecked_validator(resource, ctx.version).iter_errors(payload) if e.path}
    return default(ctx, [i for i in issues if i.field not in arrays or i.field in still])


# -- wire variants ------------------------------------------------------------------------------
def _extra_headers(ctx: Ctx, reply: Reply) -> None:
    reply.headers.update(
        {
            "x-request-id": uuid.uuid4().hex,
            "cache-control": "no-store",
            "x-ratelimit-remaining": "999",
            "x-content-type-options": "nosniff",
        }
    )


def _connection_close(ctx: Ctx, reply: Reply) -> None:
    reply.headers["connection"] = "close"


def _shuffled(default: Override, ctx: Ctx, records: list[Record]) -> list[Record]:
    out = list(default(ctx, records))
    random.shuffle(out)
    return out


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
    for obj in data if isinstance(data, list) else [data]:
        if isinstance(obj, dict):
            obj.update({"object": route.resource.name, "archived_at": None, "archived_at_epoch": None})
            obj["last_delivery"] = {"status": "sent", "winner_metric": "revenue", "field_type": "blob"}
    if route.kind == "item" and isinstance(data, dict) and key in touched and ctx.method != "DELETE":
        data["last_updated_at"] = times.format_time(touched[key].astimezone(ctx.org.zone))
        data["last_updated_at_epoch"] = times.epoch(touched[key])


def _write_minimal(ctx: Ctx, reply: Reply) -> None:
    if ctx.method in ("POST", "PUT") and reply.ok and ctx.route is not None:
        id_field = ctx.route.resource.with_role("id")
        created = reply.status == 201
        reply.payload["data"] = {(id_field.name if id_field else "id"): ctx.route.key[-1][1]} if created else []


def _sparse(ctx: Ctx, reply: Reply) -> None:
    data = reply.payload["data"]
    for obj in data if isinstance(data, list) else [data]:
        if isinstance(obj, dict):
            for name in [name for name, value in obj.items() if value is None or value == []]:
                del obj[name]


def _localized_message(ctx: Ctx, reply: Reply) -> None:
    if reply.payload.get("error_message"):
        reply.payload["error_message"] = "Anfrage abgelehnt – " + reply.payload["error_message"]


def _raw_utf8(default: Override, ctx: Ctx, reply: Reply) -> Reply:
    if reply.body is None:
        with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate a client sent: only \u can carry it
            reply.body = json.dumps(reply.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return default(ctx, reply)


def _delete_empty_array(ctx: Ctx, reply: Reply) -> None:
    if ctx.method == "DELETE" and reply.ok:
        reply.payload["data"] = []


def _limit_as_javascript(default: Override, ctx: Ctx, raw: str | None) -> int:
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


def _charset(ctx: Ctx, reply: Reply) -> None:
    reply.headers["content-type"] = "application/json; charset=utf-8"


def _gzip(ctx: Ctx, reply: Reply) -> None:
    if "gzip" in ctx.request.headers.get("accept-encoding", "") and reply.body:
        reply.body = gzip.compress(reply.body)
        reply.headers.update({"content-encoding": "gzip", "vary": "Accept-Encoding"})


_JSON_SLOT = "\x00json-escaped-key\x00"  # replaced in the encoded body, where JSON escapes can be written


def _printable(text: str) -> str:
    """``text`` if it can go in a response header as is, else its percent-encoded form."""
    return text if text.isascii() and text.isprintable() else quote(text, safe="")


def _echo_credentials(default: Override, ctx: Ctx, reply: Reply) -> Reply:
    """A debugging aid left on: the caller's credentials come back in headers and error messages."""
    raw = ctx.request.headers.get("authorization")
    if raw is None:
        return default(ctx, reply)
    key = basic_credential(raw) or ""
    try:
        decoded = base64.b64decode(key, validate=True).decode("utf-8")
    except ValueError:
        decoded = ""
    envelope = _envelope(reply)
    if envelope is not None and envelope.get("success") is False and reply.body is None:
        envelope["error_message"] = (
            f"{envelope.get('error_message') or 'error'} [debug: Authorization={raw} key={key} decoded={decoded}"
            f" json={_JSON_SLOT} url={quote(key, safe='')} url-decoded={quote(decoded, safe='')}]"
        )
    reply = default(ctx, reply)
    if reply.body is not None and envelope is not None:
        # the key JSON-escaped two legal ways: "/" as "\/", and every character as a \u escape (4 hex digits)
        escaped = json.dumps(key)[1:-1].replace("/", "\\/") + " " + "".join(f"\\u{ord(c):04x}" for c in key)
        reply.body = reply.body.replace(json.dumps(_JSON_SLOT)[1:-1].encode("ascii"), escaped.encode("ascii"))
    reply.headers["x-debug-authorization"] = _printable(raw)
    reply.headers["x-debug-key"] = _printable(key)
    if decoded:
        reply.headers["x-debug-key-decoded"] = _printable(decoded)
    return reply


# == the catalogue ===============================================================================
def _errors(ctx: Ctx, reply: Reply) -> bool:
    return not reply.ok and reply.status != 401


_CATALOGUE: list[Switch] = [
    # TLS
    _fault("tls-plain-http", "TLS-1", "Serves the API over plain HTTP (TLS terminated nowhere).", tls="plain"),
    _fault(
        "tls-untrusted-cert",
        "TLS-2",
        "Presents a certificate from a CA other than the published one (a leftover self-signed test certificate).",
        tls="untrusted",
    ),
    _fault("tls-wrong-hostname", "TLS-2", "Presents a certificate issued for another host name.", tls="wrong-host"),
    _fault("tls-expired-cert", "TLS-2", "Presents an expired certificate (renewal forgotten).", tls="expired"),
    # JSON
    _fault(
        "json-content-type-text",
        "JSON-1",
        "Sends JSON labelled Content-Type: text/plain.",
        encode_reply=_after_encode(lambda ctx, r: r.headers.__setitem__("content-type", "text/plain")),
    ),
    _fault(
        "json-html-error-page",
        "JSON-1",
        "Answers 404 with the web framework's HTML error page.",
        encode_reply=_after_encode(_html_404),
    ),
    _fault(
        "json-empty-delete-body",
        "JSON-1",
        "Answers a successful DELETE with an empty body.",
        encode_reply=_after_encode(_empty_delete),
    ),
    _fault(
        "json-500-on-bad-body",
        "JSON-2",
        "Lets the JSON decoder's exception escape: a body that is not a JSON object gets 500.",
        parse_body=_bad_body_500,
    ),
    _fault(
        "json-bad-body-validation",
        "JSON-2",
        "Answers a non-JSON or non-object body with validation_failed instead of invalid_request.",
        parse_body=_bad_body_validation,
    ),
    _fault(
        "json-pretty",
        "JSON-3",
        "Pretty-prints every response (indent=2).",
        encode_reply=_after_encode(lambda ctx, r: _recode(ctx, r, indent=2)),
    ),
    # ENV
    _fault(
        "env-extra-key",
        "ENV-1",
        "Adds a request_id key to every envelope.",
        shape_reply=_after_shape(_set("request_id", lambda: uuid.uuid4().hex, lambda c, r: True)),
    ),
    _fault(
        "env-missing-null-keys",
        "ENV-1",
        "Serializer drops null members: success bodies lack error_code/error_message, errors lack data.",
        shape_reply=_after_shape(_drop_nulls),
    ),
    _fault(
        "env-success-string",
        "ENV-1",
        'success is the string "true"/"false", not a boolean.',
        shape_reply=_after_shape(_success_as_string),
    ),
    _fault(
        "env-delete-data-null",
        "ENV-2",
        "A successful DELETE has data null.",
        shape_reply=_after_shape(_set("data", None, lambda c, r: c.method == "DELETE" and r.ok)),
    ),
    _fault(
        "env-success-message",
        "ENV-2",
        'Successes carry error_message "OK".',
        shape_reply=_after_shape(_set("error_message", "OK", lambda c, r: r.ok)),
    ),
    _fault(
        "env-error-data-not-null",
        "ENV-3",
        "Errors other than 401 carry data {} instead of null.",
        shape_reply=_after_shape(_set("data", dict, _errors)),
    ),
    _fault(
        "env-empty-error-message",
        "ENV-3",
        "Errors carry an empty error_message.",
        shape_reply=_after_shape(_set("error_message", "", lambda c, r: not r.ok)),
    ),
    _fault(
        "env-unknown-error-code",
        "ENV-3",
        "Uses the non-spec code invalid_field for validation errors.",
        shape_reply=_after_shape(_set("error_code", "invalid_field", _validation_failed)),
    ),
    _fault(
        "env-success-on-404",
        "ENV-4",
        "404 answers say success true.",
        shape_reply=_after_shape(_set("success", True, lambda c, r: _is_404(r))),
    ),
    _fault(
        "env-failure-200",
        "ENV-4",
        "Validation errors come with HTTP 200 (success false in the body).",
        shape_reply=_after_shape(_to_status(200, None, _validation_failed)),
    ),
    # STATUS
    _fault(
        "status-422-validation",
        "STATUS-1",
        "Answers validation errors with 422.",
        shape_reply=_after_shape(_to_status(422, None, _validation_failed)),
    ),
    _fault(
        "status-405-wrong-method", "STATUS-1", "Answers a method the path lacks with 405.", unknown_method=_method_405
    ),
    _fault(
        "status-wrong-error-code",
        "STATUS-2",
        "404 answers carry error_code invalid_request.",
        shape_reply=_after_shape(_set("error_code", "invalid_request", lambda c, r: _is_404(r))),
    ),
    _fault(
        "status-500-on-missing-required",
        "STATUS-3",
        "A missing required field raises KeyError: 500.",
        judge=_crash_on("required", KeyError),
    ),
    _fault(
        "status-500-on-wrong-type",
        "STATUS-3",
        "A field of the wrong JSON type raises TypeError: 500.",
        judge=_crash_on("type", TypeError),
    ),
    _fault(
        "status-200-on-missing",
        "STATUS-4",
        "GET of a missing object answers 200 with data {}.",
        shape_reply=_after_shape(_missing_object_as_empty),
    ),
    _fault(
        "status-unknown-path-403",
        "STATUS-4",
        "An unknown path gets 403 invalid_request.",
        shape_reply=_after_shape(
            _to_status(403, "invalid_request", lambda c, r: _is_404(r) and c.org is not None and c.route is None)
        ),
    ),
    _fault("status-ignore-limit-max", "STATUS-5", "A limit above the maximum is silently capped.", limit=_limit_capped),
    _fault(
        "status-too-many-validation",
        "STATUS-5",
        "A limit above the maximum gets validation_failed.",
        limit=_limit_code("requested_too_many", "validation_failed"),
    ),
    _fault(
        "status-update-201",
        "STATUS-6",
        "Every successful write answers 201, updates too.",
        write_status=_status_always(201),
    ),
    # AUTH
    _fault(
        "auth-skip-on-reads",
        "AUTH-1",
        "GET without an Authorization header is served (as org 1).",
        authenticate=_auth_skip_reads,
    ),
    _fault(
        "auth-401-data-not-null",
        "AUTH-1",
        "401 answers carry data {}.",
        shape_reply=_after_shape(_set("data", dict, lambda c, r: r.status == 401)),
    ),
    _fault(
        "auth-unknown-path-404",
        "AUTH-1",
        "Routes before authenticating: an unknown path gets 404 without credentials.",
        authenticate=_auth_route_first,
    ),
    _fault("auth-403-wrong-key", "AUTH-2", "A present but wrong key gets 403.", authenticate=_auth_wrong_key_403),
    _fault(
        "auth-accept-any-basic", "AUTH-2", "Any Basic credential is accepted (as org 1).", authenticate=_auth_any_basic
    ),
    _fault(
        "auth-500-undecodable",
        "AUTH-2",
        "Decodes unknown keys to find the org number: garbage gets 500.",
        authenticate=_auth_decode_crash,
    ),
    _fault(
        "auth-accept-bearer",
        "AUTH-2",
        "Accepts a valid key under any scheme (Bearer, Token, ...).",
        authenticate=_auth_any_scheme,
    ),
    _fault(
        "auth-reject-valid",
        "AUTH-3",
        "Expects RFC 7617 base64(key:) instead of the key verbatim.",
        authenticate=_auth_double_decode,
    ),
    _fault("auth-cross-org-read", "AUTH-4", "GET finds objects of any organization.", load=_read_any_org),
    _fault(
        "flaky-first-delete-500",
        "IDEM-6",
        "Intermittent: the server's first DELETE gets 500 internal_error and deletes nothing; later ones work "
        "(a finding that --confirm re-runs do not reproduce).",
        delete=_first_delete_500,
    ),
    _fault("auth-cross-org-delete", "AUTH-4", "DELETE removes the id in every organization.", delete=_delete_any_org),
    # VER
    _fault("ver-header-ignored", "VER-1", "Ignores X-Version (serves version 1).", version=_ignore_header),
    _fault("ver-path-unsupported", "VER-2", "Has no /vN routes: 404.", version=_no_path_version),
    _fault("ver-latest-default", "VER-3", "No version means the latest, not 1.", version=_latest_by_default),
    _fault(
        "ver-header-ignored-on-write",
        "VER-4",
        "Honours X-Version on reads but not on writes (the /vN path works for both).",
        version=_ignore_header_on_write,
    ),
    _fault(
        "ver-unknown-fallback",
        "VER-5",
        "An unknown or malformed version silently serves version 1.",
        version=_fallback_to_1,
    ),
    _fault("ver-500-bad-header", "VER-5", "int(X-Version) unguarded: X-Version: abc gets 500.", version=_int_header),
    # IDEM
    _fault("idem-post-conflict", "IDEM-1", "POST is create-only: a second POST gets 403.", may_write=_post_conflict),
    _fault(
        "idem-post-duplicates",
        "IDEM-1",
        "Every POST inserts a row: repeats show up twice in the collection.",
        may_write=_post_duplicates_count,
        listing=_post_duplicates_list,
    ),
    _fault(
        "idem-put-update-only", "IDEM-2", "PUT is update-only: PUT to a new id gets 404.", may_write=_put_update_only
    ),
    _fault(
        "idem-put-no-defaults",
        "IDEM-2",
        "PUT stores omitted fields as null instead of their defaults.",
        compose=_put_without_defaults,
    ),
    _fault("idem-merge", "IDEM-3", "Writes merge into the stored object instead of replacing it.", compose=_merge),
    _fault("idem-stale-read", "IDEM-4", "GET serves a read cache that writes never invalidate.", load=_stale_read),
    _fault(
        "idem-write-drops-field",
        "IDEM-4",
        "The read path loses the first optional field (its default comes back).",
        load=_read_drops_field,
    ),
    _fault("idem-get-side-effect", "IDEM-5", "GET records an access by moving updated_at.", load=_get_touches),
    _fault(
        "idem-delete-twice-404", "IDEM-6", "Deleting an already deleted object gets 404.", delete=_delete_missing_404
    ),
    _fault(
        "idem-delete-noop",
        "IDEM-6",
        "DELETE answers success but removes nothing.",
        delete=lambda default, ctx, key: None,
    ),
    _fault(
        "idem-touch-updated-at",
        "IDEM-7",
        "Every write moves updated_at, even one that changes nothing.",
        stamp=_touch_always,
    ),
    _fault("idem-created-at-moves", "IDEM-7", "Updates reset created_at to the update time.", stamp=_created_moves),
    # TIME
    _fault("time-z-suffix", "TIME-1", "Renders times in UTC with a Z suffix.", render_time=_time_z),
    _fault("time-fraction", "TIME-1", "Renders times with milliseconds (.000).", render_time=_time_fraction),
    _fault("time-no-colon", "TIME-1", "Renders offsets without a colon (+0530).", render_time=_time_no_colon),
    _fault(
        "time-epoch-local",
        "TIME-2",
        "Computes X_epoch from the local wall clock as if it were UTC.",
        render_time=_epoch(_wall_clock_epoch),
    ),
    _fault(
        "time-epoch-string",
        "TIME-2",
        "Renders X_epoch as a string.",
        render_time=_epoch(lambda epoch, instant, zone: str(epoch)),
    ),
    _fault(
        "time-epoch-float",
        "TIME-2",
        "Renders X_epoch as a float.",
        render_time=_epoch(lambda epoch, instant, zone: float(epoch)),
    ),
    _fault(
        "time-epoch-ms",
        "TIME-2",
        "Renders X_epoch in milliseconds.",
        render_time=_epoch(lambda epoch, instant, zone: epoch * 1000),
    ),
    _fault(
        "time-missing-epoch",
        "TIME-2",
        "Omits the X_epoch companions.",
        render_time=_epoch(lambda epoch, instant, zone: OMIT),
    ),
    _fault(
        "time-utc-not-org-zone", "TIME-3", "Renders times in UTC (+00:00), not the organization's zone.", zone=_zone_utc
    ),
    _fault(
        "time-dst-ignored", "TIME-3", "Uses the zone's standard offset all year (no DST).", render_time=_standard_offset
    ),
    _fault(
        "time-first-org-zone",
        "TIME-3",
        "Renders every organization's times in the first one's zone (a server-wide zone setting).",
        zone=_zone_first_org,
    ),
    _fault(
        "time-zone-per-resource",
        "TIME-3",
        "Renders nested resources' times in UTC, the others in the organization's zone (one serializer never "
        "got the zone): each test alone sees one zone, the run sees two.",
        zone=_zone_utc_when_nested,
    ),
    _fault(
        "time-date-with-time",
        "TIME-4",
        "Renders dates with a time part (YYYY-MM-DDT00:00:00).",
        render_date=_date_with_time,
    ),
    _fault("time-date-us-format", "TIME-4", "Renders dates as MM/DD/YYYY.", render_date=_date_us),
    _fault(
        "time-offset-dropped",
        "TIME-5",
        "Stores the wall-clock time in the org zone, ignoring the offset.",
        to_instant=_offset_dropped,
    ),
    _fault(
        "time-accept-impossible-date", "TIME-5", "Accepts any NNNN-NN-NN date (2013-02-30).", to_date=_date_pattern_only
    ),
    _fault(
        "time-accept-malformed",
        "TIME-5",
        "Parses times leniently (2013-03-27 10:41, Z, fractions).",
        to_instant=_lenient_time,
    ),
    _fault(
        "time-reject-other-offsets",
        "TIME-5",
        "Refuses times not written in the org's own offset.",
        to_instant=_only_org_offset,
    ),
    # ENUM
    _fault(
        "enum-extra-status",
        "ENUM-1",
        "Returns legacy subscriber statuses (subscribed, disabled).",
        render_enum=_legacy_names("subscriber_status"),
    ),
    _fault(
        "enum-legacy-field-type",
        "ENUM-2",
        "Returns legacy custom field types (string, textarea, ...).",
        render_enum=_legacy_names("custom_field_type"),
    ),
    _fault(
        "enum-metric-renamed",
        "ENUM-3",
        "Returns renamed winner metrics (unique_opens, ctor, ...).",
        render_enum=_legacy_names("winner_metric"),
    ),
    _fault("enum-accept-unknown", "ENUM-4", "Accepts and stores values outside the set.", judge=_drop_enum_issues),
    _fault(
        "enum-partial-write",
        "ENUM-4",
        "Answers 403 for an out-of-set value but has stored it already.",
        rejected=_store_before_refusing,
    ),
    _fault(
        "enum-case-insensitive",
        "ENUM-4",
        "Accepts values in any letter case and stores them as sent.",
        judge=_case_insensitive_enum,
    ),
    # FUZZ: faults only generated input (schemathesis) reaches; scripted clause tests send tame ASCII.
    _fault(
        "fuzz-500-non-ascii",
        "IDEM-1",
        "A write with a non-ASCII character in a string field, at any depth, gets 500 (an ASCII storage column).",
        compose=_stored_text(_ascii_column),
    ),
    _fault(
        "fuzz-500-empty-string",
        "IDEM-1",
        "An empty string in any field, at any depth, gets 500: a CHECK constraint the description never declared "
        "escapes, so valid writes fail.",
        judge=_empty_string_crashes,
    ),
    _fault(
        "fuzz-mangles-non-ascii",
        "IDEM-4",
        "Stores strings as UTF-8 bytes read back as latin-1: non-ASCII text comes back mangled (é as Ã©).",
        compose=_stored_text(_latin1_column),
    ),
    _fault(
        "fuzz-500-unknown-nested",
        "IDEM-1",
        "Ignores unknown scalar members, but an unknown member that is an object or array gets 500.",
        judge=_crash_on("unknown", TypeError, lambda value: isinstance(value, dict | list)),
    ),
    _fault(
        "status-array-items-unchecked",
        "STATUS-3",
        "Never validates array items: items of any JSON type are accepted and stored.",
        judge=_array_items_unchecked,
    ),
    _fault(
        "fuzz-500-null-optional",
        "IDEM-1",
        "An explicit null for a nullable field gets 500 (leaving the field out works).",
        compose=_null_crashes,
    ),
    # Valid variants: legal choices the suite must pass.
    _variant(
        "created-200", "Answers 200 (not 201) on create (STATUS-6 is only a SHOULD).", write_status=_status_always(200)
    ),
    _variant(
        "unknown-fields-reject", "Refuses unknown fields with 403 validation_failed (Ambiguity 7).", judge=_keep_unknown
    ),
    _variant(
        "delete-unknown-404",
        "DELETE of an id that never existed gets 404; an already deleted one still succeeds (Ambiguity 6).",
        delete=_delete_never_existed_404,
    ),
    _variant(
        "delete-empty-array",
        "A successful DELETE answers data: [] (an array is a legal success data, ENV-2).",
        shape_reply=_after_shape(_delete_empty_array),
    ),
    _variant(
        "write-minimal",
        "A create answers data: {id} and an update data: [] (ENV-2 asks only for an object or an array).",
        shape_reply=_after_shape(_write_minimal),
    ),
    _variant(
        "sparse-json",
        "Leaves null members and empty arrays out of objects (Go's omitempty, Jackson's NON_EMPTY).",
        shape_reply=_after_shape(_sparse),
    ),
    _variant(
        "utf8-raw",
        "Writes non-ASCII text as raw UTF-8 (no \\u escapes), and its error messages in German (non-ASCII).",
        shape_reply=_after_shape(_localized_message),
        encode_reply=_raw_utf8,
    ),
    _variant(
        "extra-headers",
        "Adds X-Request-Id, Cache-Control and rate-limit headers.",
        encode_reply=_after_encode(_extra_headers),
    ),
    _variant(
        "throttles",
        f"Answers every {THROTTLE_EVERY}th request 429 with Retry-After: 0 before doing anything (a rate limiter).",
        authenticate=_throttle,
        encode_reply=_after_encode(_retry_after),
    ),
    _variant(
        "connection-close",
        "Closes the connection after every response (Connection: close): no keep-alive.",
        encode_reply=_after_encode(_connection_close),
    ),
    _variant(
        "collection-shuffled",
        "Lists a collection in a different order on every request (SPEC.md sets no order).",
        listing=_shuffled,
    ),
    _variant(
        "undeclared-fields",
        "Objects carry server fields the description does not list: object, archived_at: null with its null "
        "epoch, a nested last_delivery whose members are named like enumerated fields, and last_updated_at, "
        "moving on every write.",
        shape_reply=_after_shape(_undeclared_fields),
    ),
    _variant("charset", "Content-Type: application/json; charset=utf-8.", encode_reply=_after_encode(_charset)),
    _variant("gzip", "Compresses responses when the client accepts gzip.", encode_reply=_after_encode(_gzip)),
    _variant(
        "json-spaced",
        "A single space after ':' and ',' (still compact per JSON-3).",
        encode_reply=_after_encode(lambda ctx, r: _recode(ctx, r, separators=(", ", ": "))),
    ),
    _variant(
        "echo-credentials",
        "Echoes the caller's credentials (the Authorization value, the key, its decoded, JSON-escaped and "
        "URL-encoded forms) in X-Debug-* headers and in every error_message.",
        encode_reply=_echo_credentials,
    ),
    _variant(
        "version-error-403",
        "An unknown version gets 403 invalid_request instead of 404 not_found.",
        version_error=_version_403,
    ),
    _variant(
        "limit-lenient",
        "Reads limit as JavaScript's Number() does: ' 7 ', '7.0', '+7', '7e1' and '0x10' are those whole numbers; "
        "an empty limit= is not given.",
        limit=_limit_as_javascript,
    ),
    _variant(
        "method-403",
        "A method the path lacks gets 403 invalid_request instead of 404 (Ambiguity 13).",
        unknown_method=lambda default, ctx: ApiError(403, "invalid_request", f"{ctx.method} is not offered"),
    ),
    _variant(
        "bad-query-invalid-request",
        "A limit below 1 or not an integer gets invalid_request (Ambiguity 11).",
        limit=_limit_code("validation_failed", "invalid_request"),
    ),
    _variant(
        "zone-dst",
        "Organizations in America/New_York and Europe/Berlin (both observe DST).",
        zones=("America/New_York", "Europe/Berlin"),
    ),
    _variant(
        "zone-kolkata",
        "The first organization is Asia/Kolkata (+05:30, no DST).",
        zones=("Asia/Kolkata", "America/Chicago"),
    ),
    _variant(
        "zone-utc",
        "Organizations in UTC (+00:00, never Z) and Pacific/Chatham (+12:45/+13:45).",
        zones=("UTC", "Pacific/Chatham"),
    ),
]


def _more_switches() -> list[Switch]:
    """The switches of every module of :mod:`conformance.reference.switches` (see its docstring)."""
    import importlib
    import pkgutil

    from conformance.reference import switches

    out: list[Switch] = []
    for info in sorted(pkgutil.iter_modules(switches.__path__), key=lambda m: m.name):
        out.extend(importlib.import_module(f"{switches.__name__}.{info.name}").SWITCHES)
    return out


fault, variant = _fault, _variant  # the public names for modules of conformance.reference.switches
_CATALOGUE += _more_switches()
_names = [s.name for s in _CATALOGUE]
if len(_names) != len(set(_names)):
    raise AssertionError(f"switch names twice: {sorted({n for n in _names if _names.count(n) > 1})}")

FAULTS: dict[str, Switch] = {s.name: s for s in _CATALOGUE if s.is_fault}
VARIANTS: dict[str, Switch] = {s.name: s for s in _CATALOGUE if not s.is_fault}


def select(faults: Iterable[str] = (), variants: Iterable[str] = ()) -> list[Switch]:
    """The named switches; ``ValueError`` listing the valid names for an unknown one."""
    chosen: list[Switch] = []
    for names, table, kind in ((faults, FAULTS, "fault"), (variants, VARIANTS, "variant")):
        for name in names:
            if name not in table:
                raise ValueError(f"unknown {kind} {name!r}; valid {kind}s: {', '.join(sorted(table))}")
            chosen.append(table[name])
    return chosen


def build_behaviour(switches: Iterable[Switch]) -> Behaviour:
    """The correct behaviour with each switch's overrides wrapped around it, in order."""
    behaviour = Behaviour()
    for switch in switches:
        for hook, override in switch.hooks.items():
            setattr(behaviour, hook, partial(override, getattr(behaviour, hook)))
    return behaviour

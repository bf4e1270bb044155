"""A second independent implementation of SPEC.md: "Dispatch", a newsletter API on Werkzeug.

Written from SPEC.md alone (not from the suite or its reference server), deliberately different
from the first independent implementation ("Postbox") and from the spec's example API.

    start(faults=()) -> handle  (.base_url, .ca_bundle, .keys, .zones, .path_params, .stop())

Resources (paths after <base>[/vN], described in openapi.json beside this file):
    /environments/{environment}/lists/{list_key}                          title, summary, double_opt_in
    /environments/{environment}/lists/{list_key}/contacts/{contact_key}   address, state, full_name, opted_in_at
    /environments/{environment}/lists/{list_key}/properties/{property_key}  label, kind, choices, mandatory
    /environments/{environment}/broadcasts/{broadcast_key}                subject, send_on, launch_at,
                                                                          test_percent, winner_metric (v2+),
                                                                          preheader (v3+)
`{environment}` is not client-chosen: every organization has `live` and `sandbox`.
Collections are listed by key ascending, `limit` 1..500 (default 100), `after` cursor.

`faults` switches on planted bugs, each named CLAUSE:short-name after the clause it breaks.
"""

from __future__ import annotations

import base64
import gzip
import hmac
import json
import logging
import os
import random
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo

import trustme
from werkzeug.exceptions import NotFound
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

BASE = "/dispatch/rest"
VERSIONS = (1, 2, 3)
LIMIT_MAX = 500
LIMIT_DEFAULT = 100
ENVIRONMENTS = ("live", "sandbox")
SEED_COUNT = 700
MAX_BODY = 1 << 20

STATES = ("active", "unsubscribed", "scomp", "bounced", "deactivated")
KINDS = (
    "text",
    "text_multiline",
    "number",
    "date",
    "day_of_year",
    "select_single_dropdown",
    "select_single_radio",
    "select_multiple_checkboxes",
    "boolean",
)
METRICS = ("opens_unique", "clicks_unique", "opens_total", "clicks_total", "click_to_open_rate")

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
ADDRESS_PATTERN = r"^[^@\s]+@[^@\s]+$"
TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
TIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:(Z)|([+-])(\d{2}):(\d{2}))$")
DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
EPOCH0 = datetime(1970, 1, 1, tzinfo=UTC)
SEND_ON_MIN = date(2000, 1, 1)

FAULTS = {
    # JSON
    "JSON-1:auth-error-text-plain": "the auth middleware builds its 401 with Response(json), no mimetype: text/plain",
    "JSON-2:get-json-silent": "bodies are read with get_json(silent=True) or {}: bad JSON -> 403 validation_failed,"
    " a non-empty array -> AttributeError 500",
    "JSON-3:pretty-print": "the JSON encoder was left in debug mode: indent=2",
    # ENV
    "ENV-1:request-id-key": "a tracing middleware adds a request_id member to every envelope",
    "ENV-2:delete-data-null": "DELETE answers success with data null",
    "ENV-3:validation-data-errors": "validation failures carry the field errors in data ({errors: {...}}), Rails style",
    "ENV-4:delete-missing-success-false": "DELETE of a missing key answers HTTP 200 with success false, not_found",
    # STATUS
    "STATUS-1:patch-405": "methods a path does not have get 405 (the framework's MethodNotAllowed)",
    "STATUS-2:unknown-version-403-not-found": "X-Version naming an unknown version gets 403 with error_code not_found",
    "STATUS-3:missing-required-500": "required fields are read with body[name]: a missing one raises KeyError, 500",
    "STATUS-4:unknown-path-403": "the catch-all route answers unknown paths 403 invalid_request",
    "STATUS-5:limit-max-refused": "the limit check is `limit >= max`: limit=500 (the declared maximum) is refused",
    # AUTH
    "AUTH-1:route-before-auth": "routing runs before the auth middleware: unknown paths get 404 without credentials",
    "AUTH-2:key-prefix-like": "keys are looked up with SQL LIKE '<presented>%': a prefix (or empty key) matches",
    "AUTH-2:bearer-accepted": "the scheme is never checked: the token after the first space is taken as the key",
    "AUTH-3:basic-decoded": "the key is read with request.authorization (base64 user:password): verbatim keys fail",
    "AUTH-4:global-unique-key": "keys are unique across organizations: another org's key is refused 403 'taken'",
    # VER
    "VER-1:header-ignored-on-writes": "POST/PUT read the version from the path only: X-Version is ignored on writes",
    "VER-2:path-regex-v1-v2": "the version route is `/v[12]/`: /v3/... is an unknown path",
    "VER-3:unversioned-leaks-v3-field": "with no version named, the serializer renders every field (v3's preheader)",
    "VER-4:header-max-2": "the header parser clamps a known X-Version to 2 (written before v3): X-Version: 3 serves v2",
    "VER-5:header-int-500": "X-Version is read with int(): a non-numeric value raises ValueError, 500",
    # IDEM
    "IDEM-1:race-duplicate-insert": "POST looks the key up, then inserts with no lock or unique index:"
    " concurrent POSTs insert twice (then 403 multiple_records_found)",
    "IDEM-1:varchar255-500": "string columns are VARCHAR(255): longer values (description allows 1000) get 500",
    "IDEM-2:put-no-create": "PUT only updates: a PUT to a new key gets 404",
    "IDEM-3:put-keeps-omitted-optional": "PUT merges the body into the stored object (POST replaces it)",
    "IDEM-4:stale-cache-after-put": "GETs are cached; POST and DELETE evict the cache entry, PUT forgets to",
    "IDEM-4:address-lowercased": "contact addresses are stored lower-cased",
    "IDEM-4:date-shifted-by-zone": "send_on is stored as midnight UTC and rendered as the date in the org's zone",
    "IDEM-5:get-touches-updated-at": "GET of a broadcast saves it (derived stats): updated_at moves on read",
    "IDEM-6:soft-delete-listed": "DELETE sets deleted_at; the collection query forgets to filter deleted rows",
    "IDEM-6:second-delete-404": "DELETE of an already deleted object gets 404",
    "IDEM-3:put-resets-created-at": "PUT of an existing object is delete+insert: created_at moves",
    "IDEM-7:updated-at-always-moves": "every write sets updated_at, also when nothing changed",
    # TIME
    "TIME-1:strftime-z-no-colon": "client-written times are rendered with strftime %z: -0300 (no colon)",
    "TIME-2:epoch-float": "_epoch companions are datetime.timestamp() floats",
    "TIME-3:fixed-standard-offset": "offsets are the zone's standard (raw) offset: DST is ignored",
    "TIME-4:date-as-midnight-timestamp": "send_on (a DATE column) is rendered as a midnight timestamp",
    "TIME-5:offset-dropped-on-input": "input times are parsed as local wall-clock times: the sent offset is dropped",
    # second wave: subtler bugs
    "JSON-1:framework-html-404": "unknown paths fall through to the framework's NotFound: an HTML 404 page",
    "STATUS-3:test-percent-range-unchecked": "test_percent is checked against 0..100 (the description says 0..50)",
    "AUTH-2:key-case-insensitive": "keys live in a case-insensitive column (utf8_general_ci):"
    " the key in other case matches",
    "AUTH-4:collection-no-tenant-filter": "the collection query filters by environment but not by organization",
    "IDEM-1:utf8mb3-astral-500": "strings go to a utf8mb3 column: characters beyond U+FFFF (emoji) get 500",
    "IDEM-2:put-race-500": "PUT looks the key up, then inserts under a unique index: concurrent PUTs to a new key"
    " -> IntegrityError, 500",
    "IDEM-6:delete-race-500": "DELETE looks the row up, then removes it without a lock: concurrent DELETEs -> 500",
    "TIME-1:millis-on-client-times": "client-written times are rendered JS-style with milliseconds (...:00.000-03:00)",
    "TIME-3:offset-from-utc-wallclock": "the offset is looked up with the UTC wall-clock time as if it were local:"
    " wrong for the hours next to a DST change",
    "TIME-5:utc-wallclock-local-label": "client-written times are rendered as their UTC wall-clock time labelled with"
    " the org's offset (the _epoch is right)",
    "ENUM-4:partial-write-before-403": "fields are saved one by one: a write refused for its enum keeps the fields"
    " saved before it",
    # ENUM
    "ENUM-1:legacy-default-subscribed": "a contact written without state gets the legacy default 'subscribed'",
    "ENUM-2:number-rendered-integer": "property kind number is rendered under its column name 'integer'",
    "ENUM-3:ctor-abbreviation": "winner_metric click_to_open_rate is rendered as 'ctor'",
    "ENUM-4:state-trimmed-folded": "state is normalized with strip().lower() before the enum check",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, errors: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors


class HtmlNotFound(ApiError):
    pass


def invalid(field_name: str, msg: str) -> ApiError:
    return ApiError(403, "validation_failed", f"{field_name} {msg}", {field_name: msg})


def not_found(msg: str) -> ApiError:
    return ApiError(404, "not_found", msg)


# ---------------------------------------------------------------------------------------------- times


def fmt_offset(off: timedelta, colon: bool = True) -> str:
    secs = int(off.total_seconds())
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    return f"{sign}{secs // 3600:02d}{':' if colon else ''}{secs % 3600 // 60:02d}"


def epoch_of(instant: datetime) -> int:
    return (instant - EPOCH0) // timedelta(seconds=1)


class OrgClock:
    def __init__(self, zone_name: str, faults: frozenset):
        self.zone = ZoneInfo(zone_name)
        self.faults = faults

    def local(self, instant: datetime) -> datetime:
        if "TIME-3:offset-from-utc-wallclock" in self.faults:
            off = self.zone.utcoffset(instant.astimezone(UTC).replace(tzinfo=None))
            return instant.astimezone(timezone(off))
        loc = instant.astimezone(self.zone)
        if "TIME-3:fixed-standard-offset" in self.faults:
            raw = loc.utcoffset() - (loc.dst() or timedelta(0))
            loc = instant.astimezone(timezone(raw))
        return loc

    def render(self, instant: datetime, client_written: bool = False) -> str:
        loc = self.local(instant)
        off = loc.utcoffset()
        if off % timedelta(minutes=1):
            raise ApiError(403, "validation_failed", "time cannot be rendered with a minute offset in this zone")
        wall = loc
        if client_written and "TIME-5:utc-wallclock-local-label" in self.faults:
            wall = instant.astimezone(UTC)
        text = f"{wall.year:04d}-{wall.month:02d}-{wall.day:02d}T{wall.hour:02d}:{wall.minute:02d}:{wall.second:02d}"
        if client_written and "TIME-1:millis-on-client-times" in self.faults:
            text += ".000"
        return text + fmt_offset(off, colon=not (client_written and "TIME-1:strftime-z-no-colon" in self.faults))

    def epoch(self, instant: datetime):
        if "TIME-2:epoch-float" in self.faults:
            return instant.timestamp()
        return epoch_of(instant)

    def parse_time(self, name: str, value) -> datetime:
        if not isinstance(value, str):
            raise invalid(name, "must be a time string")
        m = TIME_RE.match(value)
        if not m or value.endswith("\n"):
            raise invalid(name, "must be a time like 2013-03-27T10:41:15-05:00")
        y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        if m.group(7):
            tz = UTC
        else:
            oh, om = int(m.group(9)), int(m.group(10))
            if oh > 23 or om > 59:
                raise invalid(name, "has an impossible offset")
            delta = timedelta(hours=oh, minutes=om)
            tz = timezone(-delta if m.group(8) == "-" else delta)
        try:
            naive = datetime(y, mo, d, h, mi, s)
            if "TIME-5:offset-dropped-on-input" in self.faults:
                instant = naive.replace(tzinfo=self.zone).astimezone(UTC)
            else:
                instant = naive.replace(tzinfo=tz).astimezone(UTC)
            self.render(instant)  # renderable in the org's zone (ambiguity 18), no overflow
        except (ValueError, OverflowError):
            raise invalid(name, "is not a real time") from None
        return instant


def parse_date(name: str, value, faults) -> date:
    if not isinstance(value, str):
        raise invalid(name, "must be a date string")
    m = DATE_RE.match(value)
    if not m or value.endswith("\n"):
        raise invalid(name, "must be a date like 2010-03-30")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise invalid(name, "is not a calendar date") from None


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# ---------------------------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # string | bool | int | enum | date | time | strlist
    required: bool = False
    nullable: bool = False
    default: object = None
    since: int = 1
    min_len: int = 0
    max_len: int = 1000
    pattern: str | None = None
    values: tuple = ()
    minimum: int = 0
    maximum: int = 0
    max_items: int = 0


RESOURCES: dict[str, list[Field]] = {
    "lists": [
        Field("title", "string", required=True, min_len=1, max_len=1000),
        Field("summary", "string", nullable=True, max_len=4000),
        Field("double_opt_in", "bool", default=False),
    ],
    "contacts": [
        Field("address", "string", required=True, min_len=3, max_len=254, pattern=ADDRESS_PATTERN),
        Field("state", "enum", default="active", values=STATES),
        Field("full_name", "string", nullable=True, max_len=1000),
        Field("opted_in_at", "time", nullable=True),
    ],
    "properties": [
        Field("label", "string", required=True, min_len=1, max_len=200),
        Field("kind", "enum", required=True, values=KINDS),
        Field("choices", "strlist", default=(), min_len=1, max_len=100, max_items=50),
        Field("mandatory", "bool", default=False),
    ],
    "broadcasts": [
        Field("subject", "string", required=True, min_len=1, max_len=998),
        Field("send_on", "date", nullable=True),
        Field("launch_at", "time", nullable=True),
        Field("test_percent", "int", default=0, minimum=0, maximum=50),
        Field("winner_metric", "enum", nullable=True, values=METRICS, since=2),
        Field("preheader", "string", nullable=True, max_len=500, since=3),
    ],
}
PARENT = {"contacts": "lists", "properties": "lists"}


def check_value(f: Field, v, clock: OrgClock, faults):
    if f.type == "string":
        if not isinstance(v, str):
            raise invalid(f.name, "must be a string")
        if len(v) < f.min_len:
            raise invalid(f.name, "is too short" if f.min_len > 1 else "cannot be blank")
        if len(v) > f.max_len:
            raise invalid(f.name, f"is longer than {f.max_len} characters")
        if f.pattern and not re.search(f.pattern, v):
            raise invalid(f.name, "is not a valid address")
        if f.name == "address" and "IDEM-4:address-lowercased" in faults:
            v = v.lower()
        return v
    if f.type == "bool":
        if not isinstance(v, bool):
            raise invalid(f.name, "must be true or false")
        return v
    if f.type == "int":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise invalid(f.name, "must be an integer")
        if isinstance(v, float):
            if not v.is_integer():
                raise invalid(f.name, "must be an integer")
            v = int(v)
        top = 100 if "STATUS-3:test-percent-range-unchecked" in faults else f.maximum
        if not f.minimum <= v <= top:
            raise invalid(f.name, f"must be between {f.minimum} and {f.maximum}")
        return v
    if f.type == "enum":
        if not isinstance(v, str):
            raise invalid(f.name, "must be a string")
        if f.name == "state" and "ENUM-4:state-trimmed-folded" in faults:
            v = v.strip().lower()
        if v not in f.values:
            raise invalid(f.name, f"must be one of {', '.join(f.values)}")
        return v
    if f.type == "date":
        d = parse_date(f.name, v, faults)
        if f.name == "send_on" and d < SEND_ON_MIN:
            raise invalid(f.name, "must not be before 2000-01-01")
        return d
    if f.type == "time":
        return clock.parse_time(f.name, v)
    if f.type == "strlist":
        if not isinstance(v, list):
            raise invalid(f.name, "must be an array of strings")
        if len(v) > f.max_items:
            raise invalid(f.name, f"has more than {f.max_items} items")
        for item in v:
            if not isinstance(item, str) or not f.min_len <= len(item) <= f.max_len:
                raise invalid(f.name, f"items must be strings of {f.min_len} to {f.max_len} characters")
        return tuple(v)
    raise AssertionError(f.type)


def validate(kind: str, body: dict, version: int, clock: OrgClock, faults, merge_into: dict | None) -> dict:
    """The complete stored values for a write of `body` (fields of later versions are filled in by the caller)."""
    out = {}
    for f in RESOURCES[kind]:
        if f.since > version:
            continue
        if f.required and "STATUS-3:missing-required-500" in faults:
            body[f.name]  # noqa: B018 - the planted KeyError
        if f.name not in body:
            if f.required:
                raise invalid(f.name, "is required")
            if merge_into is not None and f.name in merge_into:
                out[f.name] = merge_into[f.name]
            elif f.name == "state" and "ENUM-1:legacy-default-subscribed" in faults:
                out[f.name] = "subscribed"
            else:
                out[f.name] = f.default
            continue
        v = body[f.name]
        if v is None:
            if not f.nullable:
                raise invalid(f.name, "cannot be null")
            out[f.name] = None
            continue
        out[f.name] = check_value(f, v, clock, faults)
    if "IDEM-1:utf8mb3-astral-500" in faults:
        for v in out.values():
            if isinstance(v, str) and any(ord(ch) > 0xFFFF for ch in v):
                raise RuntimeError("Incorrect string value for column (utf8mb3)")
    if "IDEM-1:varchar255-500" in faults:
        for f in RESOURCES[kind]:
            v = out.get(f.name)
            if f.type == "string" and isinstance(v, str) and len(v) > 255:
                raise RuntimeError("Data too long for column (VARCHAR(255))")
    return out


# ---------------------------------------------------------------------------------------------- store


@dataclass
class Row:
    org: str
    env: str
    kind: str
    parent: str | None
    key: str
    values: dict
    created: datetime
    updated: datetime
    deleted: bool = False


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        # (org, env, kind, parent) -> key -> [rows]  (a list: the race fault can insert twice)
        self.tables: dict[tuple, dict[str, list[Row]]] = {}

    def table(self, org, env, kind, parent) -> dict[str, list[Row]]:
        return self.tables.setdefault((org, env, kind, parent), {})

    def find(self, org, env, kind, parent, key, include_deleted=False) -> Row | None:
        rows = [r for r in self.table(org, env, kind, parent).get(key, ()) if include_deleted or not r.deleted]
        if len(rows) > 1:
            raise ApiError(403, "multiple_records_found", f"{len(rows)} records found for key {key}")
        return rows[0] if rows else None

    def find_any_org(self, env, kind, parent, key) -> Row | None:
        for (_org, e, k, p), table in self.tables.items():
            if (e, k, p) == (env, kind, parent):
                for r in table.get(key, ()):
                    if not r.deleted:
                        return r
        return None

    def insert(self, row: Row):
        self.table(row.org, row.env, row.kind, row.parent).setdefault(row.key, []).append(row)

    def remove(self, row: Row, soft: bool, strict: bool = False):
        if soft:
            row.deleted = True
            return
        if strict:  # DELETE FROM ... then check the affected row count
            self.table(row.org, row.env, row.kind, row.parent)[row.key].remove(row)
        rows = self.table(row.org, row.env, row.kind, row.parent).get(row.key, [])
        if row in rows:
            rows.remove(row)
        if not rows:
            self.table(row.org, row.env, row.kind, row.parent).pop(row.key, None)
        if row.kind == "lists":
            for kind in PARENT:
                self.tables.pop((row.org, row.env, kind, row.key), None)

    def listing(self, org, env, kind, parent, after, limit, include_deleted, all_orgs=False) -> list[Row]:
        table = self.table(org, env, kind, parent)
        if all_orgs:
            merged: dict[str, list[Row]] = {}
            for (_o, e, k, p), t in self.tables.items():
                if (e, k, p) == (env, kind, parent):
                    for key, rows in t.items():
                        merged.setdefault(key, []).extend(rows)
            table = merged
        out = []
        for key in sorted(table):
            if after is not None and key <= after:
                continue
            for r in table[key]:
                if include_deleted or not r.deleted:
                    out.append(r)
            if len(out) >= limit:
                break
        return out[:limit]


# ---------------------------------------------------------------------------------------------- app


@dataclass
class Org:
    name: str
    key: str
    zone: str
    clock: OrgClock = None


@dataclass
class Ctx:
    org: Org
    version: int
    version_named: bool
    env: str
    kind: str
    parent: str | None
    key: str | None
    query: dict = field(default_factory=dict)


class App:
    def __init__(self, faults, orgs: list[Org]):
        self.faults = frozenset(faults)
        unknown = self.faults - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        self.orgs = orgs
        for o in orgs:
            o.clock = OrgClock(o.zone, self.faults)
        self.store = Store()
        self.cache: dict[tuple, dict] = {}
        self.cache_lock = threading.Lock()

    def has(self, name: str) -> bool:
        return name in self.faults

    # ---------------------------------------------------------------- WSGI

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            status, payload = self.dispatch(request)
        except HtmlNotFound:
            return NotFound()(environ, start_response)
        except ApiError as e:
            status, payload = e.status, self.failure(e)
        except Exception as e:  # noqa: BLE001 - every unexpected error becomes an enveloped 500
            status, payload = 500, self.failure(ApiError(500, "internal_error", f"internal error ({type(e).__name__})"))
        response = self.respond(request, status, payload)
        return response(environ, start_response)

    def failure(self, e: ApiError) -> dict:
        data = None
        if self.has("ENV-3:validation-data-errors") and e.code == "validation_failed":
            data = {"errors": e.errors or {"base": e.message}}
        return {"success": False, "data": data, "error_code": e.code, "error_message": e.message}

    @staticmethod
    def success(data) -> dict:
        return {"success": True, "data": data, "error_code": None, "error_message": None}

    def respond(self, request: Request, status: int, payload: dict) -> Response:
        if self.has("ENV-1:request-id-key"):
            payload["request_id"] = uuid.uuid4().hex
        if self.has("JSON-3:pretty-print"):
            body = json.dumps(payload, indent=2).encode()
        else:
            body = json.dumps(payload, separators=(",", ":")).encode()
        mimetype = "application/json"
        if status == 401 and self.has("JSON-1:auth-error-text-plain"):
            mimetype = "text/plain"
        headers = {"Vary": "Accept-Encoding"}
        if request.accept_encodings["gzip"] > 0 and len(body) > 0:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        return Response(body, status=status, mimetype=mimetype, headers=headers)

    # ---------------------------------------------------------------- auth, version, routing

    def authenticate(self, request: Request) -> Org:
        header = request.headers.get("Authorization")
        if header is None:
            raise ApiError(401, "not_authorized", "the Authorization header is missing")
        if self.has("AUTH-3:basic-decoded"):
            auth = request.authorization
            presented = (auth.password if auth and auth.type == "basic" else None) or ""
        else:
            scheme, _, presented = header.partition(" ")
            presented = presented.strip()
            if scheme.lower() != "basic" and not self.has("AUTH-2:bearer-accepted"):
                raise ApiError(401, "not_authorized", "use Authorization: Basic <API key>")
        if self.has("AUTH-2:key-prefix-like"):
            for org in self.orgs:
                if org.key.startswith(presented):
                    return org
        raw = presented.encode("latin-1", "replace")
        for org in self.orgs:
            if self.has("AUTH-2:key-case-insensitive") and presented and presented.lower() == org.key.lower():
                return org
            if presented and hmac.compare_digest(raw, org.key.encode()):
                return org
        raise ApiError(401, "not_authorized", "please specify a valid API key")

    def header_version(self, request: Request) -> int | None:
        value = request.headers.get("X-Version")
        if value is None:
            return None
        value = value.strip()
        if self.has("VER-5:header-int-500") or re.fullmatch(r"[0-9]{1,6}", value):
            n = int(value)
        else:
            raise ApiError(403, "invalid_request", f"X-Version must be one of {', '.join(map(str, VERSIONS))}")
        if self.has("VER-4:header-max-2") and n in VERSIONS:
            n = min(n, 2)
        if n not in VERSIONS:
            if self.has("STATUS-2:unknown-version-403-not-found"):
                raise ApiError(403, "not_found", f"API version {n} not found")
            raise ApiError(404, "not_found", f"API version {n} does not exist")
        return n

    def dispatch(self, request: Request):
        raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path
        parts = urlsplit(raw_uri)
        method = request.method.upper()
        if self.has("AUTH-1:route-before-auth"):
            try:
                self.route(parts.path, check_only=True)
            except ApiError as e:
                if e.status == 404:
                    raise
        org = self.authenticate(request)
        segs, path_version = self.route(parts.path)
        header_version = self.header_version(request)
        if method in ("POST", "PUT") and self.has("VER-1:header-ignored-on-writes"):
            header_version = None
        if path_version and header_version and path_version != header_version:
            raise ApiError(403, "invalid_request", "X-Version and the path name different versions")
        version = path_version or header_version or 1
        named = bool(path_version or header_version)
        ctx = self.resolve(segs, org, version, named)
        ctx.query = parts.query
        is_item = ctx.key is not None
        allowed = ("GET", "HEAD", "POST", "PUT", "DELETE") if is_item else ("GET", "HEAD")
        if method not in allowed:
            if self.has("STATUS-1:patch-405"):
                raise ApiError(405, "invalid_request", f"method {method} not allowed")
            raise ApiError(403, "invalid_request", f"{method} is not supported on this path")
        self.check_parent(ctx)
        if not is_item:
            return 200, self.success(self.list(ctx))
        if method in ("GET", "HEAD"):
            return 200, self.success(self.get(ctx))
        if method == "DELETE":
            return self.delete(ctx)
        return self.write(ctx, method, self.parse_body(request))

    def unknown_path(self) -> ApiError:
        if self.has("JSON-1:framework-html-404"):
            return HtmlNotFound(404, "not_found", "not found")
        if self.has("STATUS-4:unknown-path-403"):
            return ApiError(403, "invalid_request", "no route matches this request")
        return not_found("this path does not exist")

    def route(self, path: str, check_only: bool = False):
        if path != BASE and not path.startswith(BASE + "/"):
            raise self.unknown_path()
        try:
            segs = [unquote(s, errors="strict") for s in path[len(BASE) :].split("/")[1:]]
        except UnicodeDecodeError:
            raise self.unknown_path() from None
        version = None
        if segs and re.fullmatch(r"v[0-9]+", segs[0]):
            if self.has("VER-2:path-regex-v1-v2") and segs[0] not in ("v1", "v2"):
                raise self.unknown_path()
            n = int(segs[0][1:])
            if segs[0] != f"v{n}" or n not in VERSIONS:
                raise not_found(f"API version {segs[0]} does not exist")
            version, segs = n, segs[1:]
        shape = self.shape(segs)
        if shape is None:
            raise self.unknown_path()
        return segs, version

    @staticmethod
    def shape(segs):
        n = len(segs)
        if n < 3 or segs[0] != "environments":
            return None
        if n in (3, 4) and segs[2] in ("lists", "broadcasts"):
            return "ok"
        if n in (5, 6) and segs[2] == "lists" and segs[4] in ("contacts", "properties"):
            return "ok"
        return None

    def resolve(self, segs, org, version, named) -> Ctx:
        env = segs[1]
        n = len(segs)
        if n <= 4:
            kind, parent, key = segs[2], None, segs[3] if n == 4 else None
        else:
            kind, parent, key = segs[4], segs[3], segs[5] if n == 6 else None
        return Ctx(org, version, named, env, kind, parent, key)

    def check_parent(self, ctx: Ctx):
        if ctx.env not in ENVIRONMENTS:
            raise not_found(f"environment {ctx.env!r} does not exist (live, sandbox)")
        if ctx.parent is not None:
            with self.store.lock:
                if not KEY_RE.match(ctx.parent) or not self.store.find(
                    ctx.org.name, ctx.env, "lists", None, ctx.parent
                ):
                    raise not_found(f"list {ctx.parent} does not exist")

    def parse_body(self, request: Request):
        if self.has("JSON-2:get-json-silent"):
            body = request.get_json(force=True, silent=True) or {}
            body.get("title")  # a list body raises AttributeError
            return dict(body)
        length = request.content_length
        if length is not None and length > MAX_BODY:
            raise ApiError(403, "invalid_request", "the body is too large")
        raw = request.get_data(cache=False)
        if len(raw) > MAX_BODY:
            raise ApiError(403, "invalid_request", "the body is too large")

        def no_constants(c):
            raise ValueError(f"{c} is not JSON")

        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=no_constants)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise ApiError(403, "invalid_request", "the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ApiError(403, "invalid_request", "the body must be a JSON object")
        return body

    # ---------------------------------------------------------------- operations

    def render(self, org: Org, row: Row, version: int, named: bool = True) -> dict:
        clock = org.clock
        out: dict = {"key": row.key}
        if row.parent is not None:
            out["list_key"] = row.parent
        out["environment"] = row.env
        all_fields = not named and self.has("VER-3:unversioned-leaks-v3-field")
        for f in RESOURCES[row.kind]:
            if f.since > version and not all_fields:
                continue
            v = row.values.get(f.name, f.default)
            if f.type == "time":
                out[f.name] = None if v is None else clock.render(v, client_written=True)
                out[f.name + "_epoch"] = None if v is None else clock.epoch(v)
            elif f.type == "date":
                if v is None:
                    out[f.name] = None
                elif self.has("TIME-4:date-as-midnight-timestamp"):
                    midnight = datetime(v.year, v.month, v.day, tzinfo=clock.zone)
                    out[f.name] = clock.render(midnight.astimezone(UTC))
                elif self.has("IDEM-4:date-shifted-by-zone"):
                    out[f.name] = clock.local(datetime(v.year, v.month, v.day, tzinfo=UTC)).date().isoformat()
                else:
                    out[f.name] = f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
            elif f.type == "strlist":
                out[f.name] = list(v)
            elif f.name == "kind" and v == "number" and self.has("ENUM-2:number-rendered-integer"):
                out[f.name] = "integer"
            elif f.name == "winner_metric" and v == "click_to_open_rate" and self.has("ENUM-3:ctor-abbreviation"):
                out[f.name] = "ctor"
            else:
                out[f.name] = v
        for stamp, instant in (("created_at", row.created), ("updated_at", row.updated)):
            out[stamp] = clock.render(instant)
            out[stamp + "_epoch"] = clock.epoch(instant)
        return out

    def limit_arg(self, query: str) -> tuple[int, str | None]:
        args = dict(parse_qsl(query, keep_blank_values=True))
        limit = LIMIT_DEFAULT
        if "limit" in args:
            text = args["limit"].strip()
            if not re.fullmatch(r"[0-9]{1,18}", text):
                raise ApiError(403, "validation_failed", "limit must be an integer from 1 to 500")
            limit = int(text)
            if limit < 1:
                raise ApiError(403, "validation_failed", "limit must be at least 1")
            too_many = limit >= LIMIT_MAX if self.has("STATUS-5:limit-max-refused") else limit > LIMIT_MAX
            if too_many:
                raise ApiError(403, "requested_too_many", f"at most {LIMIT_MAX} records can be requested at once")
        after = args.get("after")
        return limit, after

    def list(self, ctx: Ctx) -> list:
        limit, after = self.limit_arg(ctx.query)
        with self.store.lock:
            rows = self.store.listing(
                ctx.org.name,
                ctx.env,
                ctx.kind,
                ctx.parent,
                after,
                limit,
                include_deleted=self.has("IDEM-6:soft-delete-listed"),
                all_orgs=self.has("AUTH-4:collection-no-tenant-filter"),
            )
            return [self.render(ctx.org, r, ctx.version, ctx.version_named) for r in rows]

    def cache_key(self, ctx: Ctx) -> tuple:
        return (ctx.org.name, ctx.env, ctx.kind, ctx.parent, ctx.key)

    def evict(self, ctx: Ctx):
        with self.cache_lock:
            for k in [k for k in self.cache if k[0] == self.cache_key(ctx)]:
                del self.cache[k]

    def get(self, ctx: Ctx) -> dict:
        caching = self.has("IDEM-4:stale-cache-after-put")
        ck = (self.cache_key(ctx), ctx.version, ctx.version_named)
        if caching:
            with self.cache_lock:
                if ck in self.cache:
                    return self.cache[ck]
        with self.store.lock:
            row = (
                self.store.find(ctx.org.name, ctx.env, ctx.kind, ctx.parent, ctx.key) if KEY_RE.match(ctx.key) else None
            )
            if row is None:
                raise not_found(f"{ctx.kind[:-1]} {ctx.key} does not exist")
            if ctx.kind == "broadcasts" and self.has("IDEM-5:get-touches-updated-at"):
                row.updated = now_utc()
            data = self.render(ctx.org, row, ctx.version, ctx.version_named)
        if caching:
            with self.cache_lock:
                self.cache[ck] = data
        return data

    def delete(self, ctx: Ctx):
        self.evict(ctx)
        gone = {"key": ctx.key, "deleted": True}
        racy = self.has("IDEM-6:delete-race-500")
        with _NoLock() if racy else self.store.lock:
            row = None
            if KEY_RE.match(ctx.key):
                if self.has("IDEM-6:second-delete-404"):
                    row = self.store.find(ctx.org.name, ctx.env, ctx.kind, ctx.parent, ctx.key, include_deleted=True)
                    if row is None or row.deleted:
                        raise not_found(f"{ctx.kind[:-1]} {ctx.key} does not exist")
                else:
                    row = self.store.find(ctx.org.name, ctx.env, ctx.kind, ctx.parent, ctx.key)
            if row is None:
                if self.has("ENV-4:delete-missing-success-false"):
                    return 200, self.failure(not_found(f"{ctx.kind[:-1]} {ctx.key} does not exist"))
                return 200, self.success(None if self.has("ENV-2:delete-data-null") else gone)
            soft = self.has("IDEM-6:soft-delete-listed") or self.has("IDEM-6:second-delete-404")
            if racy:
                time.sleep(0.05)  # cascade to the list's children first
            self.store.remove(row, soft=soft, strict=racy)
        return 200, self.success(None if self.has("ENV-2:delete-data-null") else gone)

    def write(self, ctx: Ctx, method: str, body: dict):
        if ctx.key is None or not KEY_RE.match(ctx.key):
            raise ApiError(403, "validation_failed", "key must match ^[a-z0-9][a-z0-9-]{0,39}$ (lowercase)")
        if method == "POST" or not self.has("IDEM-4:stale-cache-after-put"):
            self.evict(ctx)
        org, clock = ctx.org, ctx.org.clock
        racy = (method == "POST" and self.has("IDEM-1:race-duplicate-insert")) or (
            method == "PUT" and self.has("IDEM-2:put-race-500")
        )
        lock = _NoLock() if racy else self.store.lock
        with lock:
            existing = self.store.find(org.name, ctx.env, ctx.kind, ctx.parent, ctx.key)
            merge = (
                existing.values
                if (existing and method == "PUT" and self.has("IDEM-3:put-keeps-omitted-optional"))
                else None
            )
            try:
                values = validate(ctx.kind, body, ctx.version, clock, self.faults, merge)
            except ApiError:
                if existing is not None and self.has("ENUM-4:partial-write-before-403"):
                    self.save_valid_fields(existing, ctx, body, clock)
                raise
            for f in RESOURCES[ctx.kind]:  # fields of later versions: not writable here, kept (ambiguity 19)
                if f.since > ctx.version:
                    values[f.name] = existing.values.get(f.name, f.default) if existing else f.default
            if existing is None and method == "PUT" and self.has("IDEM-2:put-no-create"):
                raise not_found(f"{ctx.kind[:-1]} {ctx.key} does not exist")
            taken = existing is None and self.has("AUTH-4:global-unique-key")
            if taken and self.store.find_any_org(ctx.env, ctx.kind, ctx.parent, ctx.key):
                raise ApiError(403, "validation_failed", f"key {ctx.key} has already been taken")
            now = now_utc()
            if existing is None:
                if racy:
                    time.sleep(0.05)  # the INSERT's round trip
                    if method == "PUT" and self.store.table(org.name, ctx.env, ctx.kind, ctx.parent).get(ctx.key):
                        raise RuntimeError("IntegrityError: duplicate key value violates unique constraint")
                row = Row(org.name, ctx.env, ctx.kind, ctx.parent, ctx.key, values, now, now)
                self.store.insert(row)
                status = 201
            else:
                row = existing
                if method == "PUT" and self.has("IDEM-3:put-resets-created-at"):
                    row.created = now
                changed = values != existing.values
                existing.values = values
                if changed or self.has("IDEM-7:updated-at-always-moves"):
                    existing.updated = now
                status = 200
            data = self.render(org, row, ctx.version, ctx.version_named)
        return status, self.success(data)

    def save_valid_fields(self, row: Row, ctx: Ctx, body: dict, clock: OrgClock):
        """The planted partial write: every field that validates on its own is saved before the refusal."""
        for f in RESOURCES[ctx.kind]:
            if f.since <= ctx.version and f.name in body:
                try:
                    v = body[f.name]
                    row.values[f.name] = None if v is None and f.nullable else check_value(f, v, clock, self.faults)
                except ApiError:
                    break


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# ---------------------------------------------------------------------------------------------- seed


WORDS = tuple(
    [
        "spring",
        "summer",
        "autumn",
        "winter",
        "weekly",
        "monthly",
        "product",
        "news",
        "launch",
        "digest",
        "partner",
        "beta",
        "vip",
        "trial",
        "alerts",
        "offers",
        "events",
        "webinar",
        "release",
        "notes",
        "onboarding",
        "feedback",
        "survey",
        "regional",
    ]
)


def seed(app: App, count: int = SEED_COUNT):
    """Pre-existing data: ~700 objects in every collection of each organization's sandbox."""
    for org in app.orgs:
        _seed_org(app, org, count)


def _seed_org(app: App, org: Org, count: int):
    rnd = random.Random(f"dispatch-{org.name}")

    def key():
        first = rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789")
        rest = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789-") for _ in range(rnd.randint(5, 14)))
        return first + rest

    def stamp():
        return datetime(2005, 1, 1, tzinfo=UTC) + timedelta(seconds=rnd.randint(0, 21 * 365 * 86400))

    def time_value():
        return None if rnd.random() < 0.3 else stamp()

    def add(env, kind, parent, values):
        k = key()
        while app.store.table(org.name, env, kind, parent).get(k):
            k = key()
        c = stamp()
        u = c + timedelta(seconds=rnd.randint(0, 90 * 86400))
        app.store.insert(Row(org.name, env, kind, parent, k, values, c, u))
        return k

    for env, n in (("sandbox", count), ("live", 20)):
        list_keys = [
            add(
                env,
                "lists",
                None,
                {
                    "title": f"{rnd.choice(WORDS).title()} {rnd.choice(WORDS)}",
                    "summary": rnd.choice((None, "Seeded list")),
                    "double_opt_in": rnd.random() < 0.5,
                },
            )
            for _ in range(n)
        ]
        for _ in range(n):
            send_on = None if rnd.random() < 0.4 else date(2000, 1, 1) + timedelta(days=rnd.randint(0, 10000))
            add(
                env,
                "broadcasts",
                None,
                {
                    "subject": f"{rnd.choice(WORDS).title()} {rnd.choice(WORDS)} #{rnd.randint(1, 999)}",
                    "send_on": send_on,
                    "launch_at": time_value(),
                    "test_percent": rnd.randint(0, 50),
                    "winner_metric": rnd.choice((None, *METRICS)),
                    "preheader": rnd.choice((None, "Do not miss it")),
                },
            )
        parent = list_keys[0]
        for _ in range(n):
            add(
                env,
                "contacts",
                parent,
                {
                    "address": f"{rnd.choice(WORDS)}.{rnd.randint(1, 99999)}@example.net",
                    "state": rnd.choice(STATES),
                    "full_name": rnd.choice((None, "Ana Souza", "Wiremu Ngata", "Li Wei")),
                    "opted_in_at": time_value(),
                },
            )
            kind = rnd.choice(KINDS)
            add(
                env,
                "properties",
                parent,
                {
                    "label": f"{rnd.choice(WORDS).title()} {rnd.randint(1, 999)}",
                    "kind": kind,
                    "choices": ("a", "b", "c") if kind.startswith("select") else (),
                    "mandatory": rnd.random() < 0.2,
                },
            )


# ---------------------------------------------------------------------------------------------- server


class QuietHandler(WSGIRequestHandler):
    timeout = 60

    def log_request(self, *args, **kwargs):
        pass

    def log_error(self, *args):
        pass


@dataclass
class Handle:
    base_url: str
    ca_bundle: str
    keys: tuple[str, str]
    zones: tuple[str, str]
    path_params: dict
    server: object
    thread: threading.Thread
    tmpdir: str
    app: App

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def make_key(org_no: int) -> str:
    """Keys look like the seed's example: base64 of '<n>:<40 hex>'."""
    return base64.b64encode(f"{org_no}:{os.urandom(20).hex()}".encode()).decode()


def start(faults=(), host="127.0.0.1", port=0) -> Handle:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    orgs = [
        Org("org-1", make_key(1), "America/Sao_Paulo"),
        Org("org-2", make_key(2), "Pacific/Auckland"),
    ]
    app = App(faults, orgs)
    seed(app)
    ca = trustme.CA()
    cert = ca.issue_cert(host, "localhost")
    tmpdir = tempfile.mkdtemp(prefix="dispatch-")
    ca_path = os.path.join(tmpdir, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler, ssl_context=ctx)
    thread = threading.Thread(target=server.serve_forever, name="dispatch", daemon=True)
    thread.start()
    return Handle(
        base_url=f"https://{host}:{server.server_port}{BASE}",
        ca_bundle=ca_path,
        keys=(orgs[0].key, orgs[1].key),
        zones=(orgs[0].zone, orgs[1].zone),
        path_params={"environment": "sandbox"},
        server=server,
        thread=thread,
        tmpdir=tmpdir,
        app=app,
    )


# ---------------------------------------------------------------------------------------------- description

DESCRIPTION_TEXT = """Dispatch: mailing lists, their contacts and custom properties, and broadcasts.

Every request carries `Authorization: Basic <API key>`, the key exactly as the organization page
shows it. Every organization has two environments, `live` and `sandbox`; `{environment}` is one
of them (any other value is 404 not_found). Keys of objects are chosen by the client.

Versions 1, 2 and 3 exist. Choose one with the `X-Version: N` header or the path segment `/vN`
right after the API root; with neither, version 1 is served. Version 2 adds `winner_metric` to
broadcasts, version 3 adds `preheader`. An unknown version is answered 404 not_found (403
invalid_request for a malformed X-Version).

POST and PUT both create the object or replace it completely (fields left out return to their
defaults); writes answer the stored object, 201 when created, 200 when updated. DELETE is
idempotent. Times are accepted with any UTC offset and rendered in the organization's time zone,
each with an integer `_epoch` companion (seconds). Collections are ordered by key ascending;
`limit` is 1 to 500 (default 100), `after` continues after a key.

Business rule: a broadcast's `send_on` must not be before 2000-01-01 (403 validation_failed).
"""


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _field_schema(f: Field) -> dict:
    if f.type == "string":
        s = {"type": "string", "minLength": f.min_len, "maxLength": f.max_len}
        if f.pattern:
            s["pattern"] = f.pattern
        if f.name == "address":
            s["format"] = "email"
    elif f.type == "bool":
        s = {"type": "boolean"}
    elif f.type == "int":
        s = {"type": "integer", "minimum": f.minimum, "maximum": f.maximum}
    elif f.type == "enum":
        spec = {"state": "subscriber_status", "kind": "custom_field_type", "winner_metric": "winner_metric"}[f.name]
        s = {"type": "string", "enum": list(f.values), "x-spec-enum": spec}
    elif f.type == "date":
        s = {"type": "string", "format": "date", "pattern": DATE_PATTERN}
    elif f.type == "time":
        s = {"type": "string", "format": "date-time", "pattern": TIME_PATTERN}
    elif f.type == "strlist":
        s = {
            "type": "array",
            "maxItems": f.max_items,
            "items": {"type": "string", "minLength": f.min_len, "maxLength": f.max_len},
        }
    if f.nullable:
        s["nullable"] = True
    if not f.required:
        s["default"] = list(f.default) if isinstance(f.default, tuple) else f.default
    if f.since > 1:
        s["description"] = f"Version {f.since} and later only."
    return s


SCHEMA_NAMES = {"lists": "List", "contacts": "Contact", "properties": "Property", "broadcasts": "Broadcast"}
EXAMPLES = {
    "lists": {"title": "Weekly digest", "summary": "Our Friday news", "double_opt_in": True},
    "contacts": {
        "address": "ana@example.com",
        "state": "active",
        "full_name": "Ana Souza",
        "opted_in_at": "2024-03-10T14:05:00-03:00",
    },
    "properties": {"label": "Favourite colour", "kind": "select_single_radio", "choices": ["red", "green"]},
    "broadcasts": {
        "subject": "Spring sale",
        "send_on": "2026-09-01",
        "launch_at": "2026-09-01T09:30:00-03:00",
        "test_percent": 10,
        "winner_metric": "opens_unique",
        "preheader": "Everything 20% off",
    },
}


def description() -> dict:
    schemas: dict = {
        "Key": {"type": "string", "pattern": KEY_RE.pattern, "minLength": 1, "maxLength": 40},
        "Stamp": {"type": "string", "format": "date-time", "readOnly": True},
        "Epoch": {"type": "integer", "format": "int64", "readOnly": True},
        "ServerStamps": {
            "type": "object",
            "properties": {
                "created_at": _ref("Stamp"),
                "created_at_epoch": _ref("Epoch"),
                "updated_at": _ref("Stamp"),
                "updated_at_epoch": _ref("Epoch"),
            },
        },
        "Envelope": {
            "type": "object",
            "required": ["success", "data", "error_code", "error_message"],
            "properties": {
                "success": {"type": "boolean"},
                "data": {"nullable": True},
                "error_code": {"type": "string", "nullable": True},
                "error_message": {"type": "string", "nullable": True},
            },
        },
        "Failure": {
            "allOf": [
                _ref("Envelope"),
                {
                    "type": "object",
                    "properties": {
                        "success": {"type": "boolean", "enum": [False]},
                        "error_code": {
                            "type": "string",
                            "enum": [
                                "not_authorized",
                                "validation_failed",
                                "invalid_request",
                                "requested_too_many",
                                "not_found",
                                "multiple_records_found",
                                "internal_error",
                            ],
                        },
                    },
                },
            ]
        },
        "Deleted": {
            "type": "object",
            "properties": {"key": _ref("Key"), "deleted": {"type": "boolean"}},
        },
    }
    paths: dict = {}
    parameters = {
        "Version": {
            "name": "X-Version",
            "in": "header",
            "required": False,
            "description": "API version (or use the /vN path segment). Default 1.",
            "schema": {"type": "integer", "enum": list(VERSIONS), "default": 1},
        },
        "Environment": {
            "name": "environment",
            "in": "path",
            "required": True,
            "description": "The organization's environment: live or sandbox.",
            "schema": {"type": "string"},
        },
        "Limit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT},
        },
        "After": {
            "name": "after",
            "in": "query",
            "required": False,
            "description": "Only objects whose key sorts after this one.",
            "schema": _ref("Key"),
        },
    }
    for kind, fields in RESOURCES.items():
        name = SCHEMA_NAMES[kind]
        key_param = {
            "lists": "list_key",
            "contacts": "contact_key",
            "properties": "property_key",
            "broadcasts": "broadcast_key",
        }[kind]
        parameters[name + "Key"] = {
            "name": key_param,
            "in": "path",
            "required": True,
            "description": f"The {name.lower()}'s key, chosen by the client.",
            "schema": _ref("Key"),
        }
        write = {
            "type": "object",
            "required": [f.name for f in fields if f.required],
            "properties": {f.name: _field_schema(f) for f in fields},
            "example": EXAMPLES[kind],
        }
        server_props = {
            "key": {"type": "string", "pattern": KEY_RE.pattern, "readOnly": True},
            "environment": {"type": "string", "readOnly": True},
        }
        if kind in PARENT:
            server_props["list_key"] = {"type": "string", "readOnly": True}
        for f in fields:
            if f.type == "time":
                server_props[f.name + "_epoch"] = {
                    "type": "integer",
                    "format": "int64",
                    "nullable": True,
                    "readOnly": True,
                }
        schemas[name + "Write"] = write
        schemas[name] = {
            "allOf": [_ref(name + "Write"), _ref("ServerStamps"), {"type": "object", "properties": server_props}]
        }
        schemas[name + "Answer"] = {"allOf": [_ref("Envelope"), {"type": "object", "properties": {"data": _ref(name)}}]}
        schemas[name + "Page"] = {
            "allOf": [
                _ref("Envelope"),
                {"type": "object", "properties": {"data": {"type": "array", "items": _ref(name)}}},
            ]
        }
        prefix = "/environments/{environment}"
        coll = prefix + ("/lists/{list_key}/" + kind if kind in PARENT else "/" + kind)
        item = coll + "/{" + key_param + "}"
        common = [{"$ref": "#/components/parameters/Environment"}]
        if kind in PARENT:
            common.append({"$ref": "#/components/parameters/ListKey"})
        version = {"$ref": "#/components/parameters/Version"}
        failure = {"$ref": "#/components/responses/Failure"}

        def answer(what, schema):
            return {"description": what, "content": {"application/json": {"schema": _ref(schema)}}}

        paths[coll] = {
            "parameters": common,
            "get": {
                "operationId": f"list{name}s",
                "summary": f"The environment's {kind}, by key ascending.",
                "parameters": [
                    version,
                    {"$ref": "#/components/parameters/Limit"},
                    {"$ref": "#/components/parameters/After"},
                ],
                "responses": {"200": answer(f"A page of {kind}.", name + "Page"), "default": failure},
            },
        }
        body = {"required": True, "content": {"application/json": {"schema": _ref(name + "Write")}}}
        item_params = common + [{"$ref": f"#/components/parameters/{name}Key"}]
        written = {
            "200": answer("Updated.", name + "Answer"),
            "201": answer("Created.", name + "Answer"),
            "default": failure,
        }
        paths[item] = {
            "parameters": item_params,
            "get": {
                "operationId": f"get{name}",
                "parameters": [version],
                "responses": {"200": answer(f"The {name.lower()}.", name + "Answer"), "default": failure},
            },
            "post": {
                "operationId": f"post{name}",
                "summary": "Create, or replace if it exists.",
                "parameters": [version],
                "requestBody": body,
                "responses": written,
            },
            "put": {
                "operationId": f"put{name}",
                "summary": "Create, or replace if it exists (same as POST).",
                "parameters": [version],
                "requestBody": body,
                "responses": written,
            },
            "delete": {
                "operationId": f"delete{name}",
                "parameters": [version],
                "responses": {
                    "200": {
                        "description": "Deleted (also when it did not exist).",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "allOf": [
                                        _ref("Envelope"),
                                        {"type": "object", "properties": {"data": _ref("Deleted")}},
                                    ]
                                }
                            }
                        },
                    },
                    "default": failure,
                },
            },
        }
    return {
        "openapi": "3.0.3",
        "info": {"title": "Dispatch newsletter API", "version": "3.0.0", "description": DESCRIPTION_TEXT},
        "servers": [{"url": "https://127.0.0.1/dispatch/rest"}],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Basic <API key>`, the key verbatim.",
                }
            },
            "parameters": parameters,
            "responses": {
                "Failure": {
                    "description": "An error, with the envelope.",
                    "content": {"application/json": {"schema": _ref("Failure")}},
                }
            },
            "schemas": schemas,
        },
    }


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--openapi"]:
        out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi.json")
        with open(out, "w") as fh:
            json.dump(description(), fh, indent=1)
            fh.write("\n")
        raise SystemExit(0)
    h = start(tuple(a for a in sys.argv[1:]))
    print(h.base_url, h.ca_bundle, h.keys, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        h.stop()

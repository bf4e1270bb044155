"""An independent implementation of SPEC.md ("Postbox" mail API), written from the spec alone.

Standard library only (http.server + ssl), plus trustme for a throw-away CA.

    start(faults=()) -> handle  (.base_url, .ca_bundle, .keys, .zones, .stop())

Resources (paths after <base>/vN, described in openapi.yaml beside this file):
    /audiences/{audience_id}                                  title, note, (member_count)
    /audiences/{audience_id}/members/{member_id}              email_address, status, joined_at
    /audiences/{audience_id}/fields/{field_id}                label, kind, choices, required
    /mailings/{mailing_id}                                    subject, deliver_on, launch_at, priority, tags,
                                                              winner_criterion (v2 only)

`faults` switches on planted bugs, each named after the clause it breaks (see FAULTS).
"""

from __future__ import annotations

import gzip
import hmac
import json
import os
import re
import socket
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, unquote_plus, urlsplit
from zoneinfo import ZoneInfo

import trustme

BASE = "/postbox/api"
VERSIONS = (1, 2)
LIMIT_MAX = 200
LIMIT_DEFAULT = 50

SUBSCRIBER_STATUS = ("active", "unsubscribed", "scomp", "bounced", "deactivated")
FIELD_KINDS = (
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
SELECT_KINDS = {"select_single_dropdown", "select_single_radio", "select_multiple_checkboxes"}
WINNER = ("opens_unique", "clicks_unique", "opens_total", "clicks_total", "click_to_open_rate")

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$")
DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
INT64 = 2**63 - 1

FAULTS = {
    "JSON-1:gzip-octet-stream": "gzip-compressed answers are labelled Content-Type: application/octet-stream",
    "JSON-2:array-body-500": "a JSON body that is an array reaches body.get(): AttributeError, 500",
    "ENV-1:404-omits-data": "the 404 envelope builder drops null members: no 'data' key on 404s",
    "ENV-2:delete-data-string": 'DELETE answers data: "deleted"',
    "ENV-3:401-null-message": "the auth middleware's 401 carries error_message null",
    "ENV-4:too-many-200": "requested_too_many is answered with HTTP 200 (success false in the body)",
    "STATUS-1:limit-zero-400": "a limit below 1 gets 400 validation_failed",
    "STATUS-2:missing-parent-invalid-request": "a child path under a missing audience gets 404 invalid_request",
    "STATUS-3:int-coerces-strings": 'priority is read with int(): a numeric string ("12") is accepted as 12',
    "STATUS-4:missing-field-get-403": "GET of a missing custom field gets 403 validation_failed",
    "STATUS-5:limit-off-by-one": "the limit check is `limit > max + 1`: max+1 is served",
    "AUTH-1:collections-unauthenticated": "collection GETs are served without an Authorization header (as org 1)",
    "AUTH-2:key-prefix16": "keys are compared on their first 16 characters only (a CHAR(16) column)",
    "AUTH-3:key-plus-unquoted": "the key is URL-decoded (unquote_plus) before comparison: a key with '+' never matches",
    "AUTH-4:put-no-tenant-filter": "PUT looks the id up without the organization filter and overwrites another org's object",
    "VER-1:header-ignored-on-collections": "X-Version is ignored on collection GETs (served as version 1)",
    "VER-2:path-version-reads-only": "the /vN router is mounted for GET only: writes under /vN get 404",
    "VER-3:unversioned-item-get-latest": "an item GET with no version is served as the latest version",
    "VER-5:clamp-to-latest": "an unknown numeric version is clamped to the latest (X-Version: 999 -> 2)",
    "IDEM-1:race-check-then-insert": "POST looks the id up, then inserts (no unique key): concurrent POSTs insert twice",
    "IDEM-1:long-string-500": "strings over 255 characters overflow a VARCHAR(255): 500 (description allows 1000)",
    "IDEM-1:int32-overflow-500": "priority is stored in an INT column: beyond 2^31-1 gets 500 (description: int64)",
    "IDEM-3:put-merges": "PUT merges the body into the stored object (omitted fields keep older values)",
    "IDEM-4:tags-sorted": "tags are stored in a sorted set: read back sorted and de-duplicated",
    "IDEM-5:get-touches-members": "GET of a member records activity by moving updated_at",
    "IDEM-6:second-delete-500": "DELETE of an already deleted object dereferences None: 500",
    "TIME-1:microseconds": "stamps are rendered with isoformat(): microseconds included",
    "TIME-2:epoch-ms-members": "members' _epoch companions are in milliseconds",
    "TIME-3:fixed-offset-at-startup": "the org's UTC offset is computed once at startup and used for every instant",
    "TIME-4:unpadded-date": "dates are rendered without zero padding (2024-5-1)",
    "TIME-5:space-separator-accepted": "times are parsed with datetime.fromisoformat: '2013-03-27 10:41' is accepted",
    "ENUM-1:scomp-renamed": "the serializer maps status scomp to spam_complaint on output",
    "ENUM-4:kind-prefix-match": "kind is matched by prefix (select_single -> select_single_dropdown)",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def invalid(msg: str) -> ApiError:
    return ApiError(403, "validation_failed", msg)


# ---------------------------------------------------------------------------------------------- times


def fmt_offset(off: timedelta) -> str:
    secs = int(off.total_seconds())
    sign = "+" if secs >= 0 else "-"
    secs = abs(secs)
    return f"{sign}{secs // 3600:02d}:{secs % 3600 // 60:02d}"


class Clock:
    """Renders instants in an organization's zone."""

    def __init__(self, zone: ZoneInfo, fixed: timedelta | None = None):
        self.zone, self.fixed = zone, fixed

    def local(self, instant: datetime) -> datetime:
        if self.fixed is not None:
            return instant.astimezone(timezone(self.fixed))
        return instant.astimezone(self.zone)

    def render(self, instant: datetime, micro: bool = False) -> str:
        loc = self.local(instant)
        off = loc.utcoffset()
        if off.total_seconds() % 60:
            raise invalid("time cannot be rendered in the organization's zone (local mean time)")
        text = f"{loc.year:04d}-{loc.month:02d}-{loc.day:02d}T{loc.hour:02d}:{loc.minute:02d}:{loc.second:02d}"
        if micro and instant.microsecond:
            text += f".{instant.microsecond:06d}"
        return text + fmt_offset(off)


def parse_time(value, clock: Clock, lenient: bool) -> datetime:
    if not isinstance(value, str):
        raise invalid("time must be a string")
    if lenient:
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise invalid(f"malformed time: {value!r}") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
    else:
        m = TIME_RE.match(value)
        if not m:
            raise invalid(f"malformed time: {value!r} (expected YYYY-MM-DDThh:mm:ss+hh:mm)")
        y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        if m.group(8) in ("Z", "z"):
            tz = UTC
        else:
            oh, om = int(m.group(10)), int(m.group(11))
            if oh > 23 or om > 59:
                raise invalid(f"impossible offset in {value!r}")
            delta = timedelta(hours=oh, minutes=om)
            tz = timezone(delta if m.group(9) == "+" else -delta)
        try:
            dt = datetime(y, mo, d, h, mi, s, tzinfo=tz)
        except ValueError:
            raise invalid(f"impossible time: {value!r}") from None
    try:
        utc = dt.astimezone(UTC).replace(microsecond=0)
        clock.render(utc)  # must be renderable (ambiguity 18), and not overflow
        int(utc.timestamp())
    except (OverflowError, ValueError):
        raise invalid(f"time out of range: {value!r}") from None
    return utc


def parse_date(value) -> date:
    if not isinstance(value, str):
        raise invalid("date must be a string")
    m = DATE_RE.match(value)
    if not m:
        raise invalid(f"malformed date: {value!r} (expected YYYY-MM-DD)")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise invalid(f"impossible date: {value!r}") from None


# ---------------------------------------------------------------------------------------------- model


@dataclass
class Org:
    name: str
    key: str
    zone: str
    clock: Clock = None


@dataclass
class Row:
    id: str
    org: str
    kind: str  # audience | member | field | mailing
    parent: str | None
    values: dict
    created: datetime
    updated: datetime
    seq: int
    deleted: bool = False


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.rows: list[Row] = []
        self.seq = 0

    def find(self, org, kind, parent, id_, any_org=False) -> Row | None:
        for r in self.rows:
            if r.kind == kind and r.id == id_ and r.parent == parent and not r.deleted and (any_org or r.org == org):
                return r
        return None

    def list(self, org, kind, parent) -> list[Row]:
        out = [r for r in self.rows if r.org == org and r.kind == kind and r.parent == parent and not r.deleted]
        out.sort(key=lambda r: r.seq, reverse=True)  # newest first
        return out

    def insert(self, row: Row):
        self.seq += 1
        row.seq = self.seq
        self.rows.append(row)


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def now_utc_micro() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------- validation


def _string(body, name, required=False, nullable=False, max_len=1000, min_len=0, default=None, faults=()):
    if name not in body:
        if required:
            raise invalid(f"{name} is required")
        return default
    v = body[name]
    if v is None:
        if nullable:
            return None
        raise invalid(f"{name} must not be null")
    if not isinstance(v, str):
        raise invalid(f"{name} must be a string")
    if len(v) < min_len:
        raise invalid(f"{name} must not be empty")
    if len(v) > max_len:
        raise invalid(f"{name} is longer than {max_len} characters")
    return v


def _string_list(body, name, max_items=50, max_len=200, faults=()):
    if name not in body:
        return []
    v = body[name]
    if not isinstance(v, list):
        raise invalid(f"{name} must be an array of strings")
    if len(v) > max_items:
        raise invalid(f"{name} has more than {max_items} items")
    for item in v:
        if not isinstance(item, str):
            raise invalid(f"{name} items must be strings")
        if len(item) > max_len:
            raise invalid(f"{name} items must be at most {max_len} characters")
    return list(v)


def _enum(body, name, values, required=False, nullable=False, default=None, faults=()):
    if name not in body:
        if required:
            raise invalid(f"{name} is required")
        return default
    v = body[name]
    if v is None:
        if nullable:
            return None
        raise invalid(f"{name} must not be null")
    if not isinstance(v, str):
        raise invalid(f"{name} must be a string")
    if v in values:
        return v
    if name == "kind" and "ENUM-4:kind-prefix-match" in faults and v:
        match = [x for x in values if x.startswith(v)]
        if match:
            return match[0]
    raise invalid(f"{name} must be one of {', '.join(values)}")


def validate(kind: str, body: dict, version: int, clock: Clock, faults, stored: Row | None) -> dict:
    f = faults
    if kind == "audience":
        return {
            "title": _string(body, "title", required=True, min_len=1, faults=f),
            "note": _string(body, "note", nullable=True, max_len=2000, faults=f),
        }
    if kind == "member":
        email = _string(body, "email_address", required=True, max_len=320, faults=f)
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
            raise invalid("email_address must be an email address")
        joined = body.get("joined_at")
        lenient = "TIME-5:space-separator-accepted" in f
        return {
            "email_address": email,
            "status": _enum(body, "status", SUBSCRIBER_STATUS, default="active", faults=f),
            "joined_at": None if joined is None else parse_time(joined, clock, lenient),
        }
    if kind == "field":
        out = {
            "label": _string(body, "label", required=True, min_len=1, max_len=200, faults=f),
            "kind": _enum(body, "kind", FIELD_KINDS, required=True, faults=f),
            "choices": _string_list(body, "choices", faults=f),
        }
        req = body.get("required", False)
        if not isinstance(req, bool):
            raise invalid("required must be a boolean")
        out["required"] = req
        # business rule stated in the description's prose only
        if out["kind"] in SELECT_KINDS and not out["choices"]:
            raise invalid(f"a {out['kind']} field needs at least one choice")
        return out
    if kind == "mailing":
        prio = body.get("priority", 0)
        if "STATUS-3:int-coerces-strings" in f and isinstance(prio, str):
            try:
                prio = int(prio)
            except ValueError:
                raise invalid("priority must be an integer") from None
        if isinstance(prio, bool) or not isinstance(prio, int):
            raise invalid("priority must be an integer")
        if abs(prio) > INT64:
            raise invalid("priority must fit in 64 bits")
        tags = _string_list(body, "tags", faults=f)
        if "IDEM-4:tags-sorted" in f:
            tags = sorted(set(tags))
        deliver = body.get("deliver_on")
        launch = body.get("launch_at")
        lenient = "TIME-5:space-separator-accepted" in f
        out = {
            "subject": _string(body, "subject", required=True, min_len=1, faults=f),
            "deliver_on": None if deliver is None else parse_date(deliver),
            "launch_at": None if launch is None else parse_time(launch, clock, lenient),
            "priority": prio,
            "tags": tags,
        }
        if version >= 2:
            out["winner_criterion"] = _enum(body, "winner_criterion", WINNER, nullable=True, faults=f)
        else:  # not writable in v1: keep what is stored (ambiguity 19)
            out["winner_criterion"] = stored.values.get("winner_criterion") if stored else None
        return out
    raise AssertionError(kind)


# ---------------------------------------------------------------------------------------------- server


@dataclass
class Handle:
    base_url: str
    ca_bundle: str
    keys: tuple
    zones: tuple
    faults: frozenset
    server: ThreadingHTTPServer = None
    thread: threading.Thread = None
    tmpdir: str = None
    store: Store = None

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, ctx):
        self.ctx = ctx
        super().__init__(addr, handler)

    def process_request_thread(self, request, client_address):
        try:
            request.settimeout(30)
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            try:
                request.close()
            except OSError:
                pass
            return
        try:
            self.finish_request(tls, client_address)
        except Exception:
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass


def make_handler(app):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "Postbox/1.4"
        sys_version = ""
        timeout = 30

        def log_message(self, *a):
            pass

        def __getattr__(self, name):
            if name.startswith("do_"):
                return self.handle_any
            raise AttributeError(name)

        def send_error(self, code, message=None, explain=None):
            # errors the HTTP layer finds before the API sees the request
            self.close_connection = True
            self._send(
                403 if code != 404 else 404,
                {
                    "success": False,
                    "data": None,
                    "error_code": "invalid_request" if code != 404 else "not_found",
                    "error_message": message or "bad request",
                },
            )

        def _send(self, status, env, content_type="application/json; charset=utf-8", raw=None):
            body = raw if raw is not None else json.dumps(env, separators=(",", ":")).encode()
            headers = {}
            hdrs = getattr(self, "headers", None)
            accept = hdrs.get("Accept-Encoding", "") if hdrs else ""
            if raw is None and "gzip" in accept.lower():
                body = gzip.compress(body)
                headers["Content-Encoding"] = "gzip"
                if "JSON-1:gzip-octet-stream" in app.faults:
                    content_type = "application/octet-stream"
            headers["Vary"] = "Accept-Encoding"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def handle_any(self):
            length = self.headers.get("Content-Length")
            raw = b""
            try:
                if length:
                    n = int(length)
                    if n < 0 or n > 5_000_000:
                        raise ValueError
                    raw = self.rfile.read(n)
            except ValueError:
                self.close_connection = True
                return self._send(403, app.error(ApiError(403, "invalid_request", "bad Content-Length")))
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                self.close_connection = True
            try:
                status, env, extra = app.dispatch(self.command, self.path, self.headers, raw)
            except ApiError as e:
                status, env, extra = e.status, app.error(e), {}
            except Exception as e:  # the 500 every framework has
                status, env, extra = (
                    500,
                    app.error(ApiError(500, "internal_error", f"internal error: {type(e).__name__}")),
                    {},
                )
            if status == 404 and "ENV-1:404-omits-data" in app.faults:
                env = {k: v for k, v in env.items() if v is not None}
            if status == 401 and "ENV-3:401-null-message" in app.faults:
                env["error_message"] = None
            self._send(status, env)

    return Handler


class App:
    def __init__(self, faults, orgs: list[Org]):
        self.faults = frozenset(faults)
        self.orgs = orgs
        self.store = Store()
        fixed = "TIME-3:fixed-offset-at-startup" in self.faults
        for o in orgs:
            z = ZoneInfo(o.zone)
            o.clock = Clock(z, datetime.now(UTC).astimezone(z).utcoffset() if fixed else None)

    # -- envelope
    @staticmethod
    def ok(data):
        return {"success": True, "data": data, "error_code": None, "error_message": None}

    @staticmethod
    def error(e: ApiError):
        return {"success": False, "data": None, "error_code": e.code, "error_message": e.message}

    # -- auth
    def authenticate(self, headers) -> Org:
        value = headers.get("Authorization")
        if value is None:
            raise ApiError(401, "not_authorized", "the Authorization header is missing")
        parts = value.split(" ", 1)
        if len(parts) != 2 or parts[0].lower() != "basic" or not parts[1]:
            raise ApiError(401, "not_authorized", "use Authorization: Basic <API key>")
        given = parts[1]
        if "AUTH-3:key-plus-unquoted" in self.faults:
            given = unquote_plus(given)
        for org in self.orgs:
            if "AUTH-2:key-prefix16" in self.faults:
                if len(given) >= 16 and given[:16] == org.key[:16]:
                    return org
                continue
            if hmac.compare_digest(given.encode("utf-8", "surrogateescape"), org.key.encode()):
                return org
        raise ApiError(401, "not_authorized", "invalid API key")

    # -- dispatch
    def dispatch(self, method, target, headers, raw):
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        anon_collection = (
            "AUTH-1:collections-unauthenticated" in self.faults
            and method == "GET"
            and headers.get("Authorization") is None
        )
        if not anon_collection:
            org = self.authenticate(headers)
        if not (path == BASE or path.startswith(BASE + "/")):
            raise ApiError(404, "not_found", f"no such path: {path}")
        segs = [s for s in path[len(BASE) :].split("/") if s != ""]
        trailing = path.endswith("/") and len(segs) > 0
        version, path_version = None, False
        if segs and re.fullmatch(r"v\d+", segs[0]):
            n = int(segs[0][1:]) if len(segs[0]) < 8 else -1
            if "VER-5:clamp-to-latest" in self.faults and n > max(VERSIONS):
                n = max(VERSIONS)
            if n not in VERSIONS:
                raise ApiError(404, "not_found", f"unknown API version {segs[0]}")
            if "VER-2:path-version-reads-only" in self.faults and method != "GET":
                raise ApiError(404, "not_found", f"no such path: {path}")
            version, path_version = n, True
            segs = segs[1:]
        header = headers.get("X-Version")
        if version is None and header is not None:
            h = header.strip()
            if not re.fullmatch(r"[0-9]{1,6}", h):
                raise ApiError(403, "invalid_request", f"malformed X-Version: {header!r}")
            n = int(h)
            if "VER-5:clamp-to-latest" in self.faults and n > max(VERSIONS):
                n = max(VERSIONS)
            if n not in VERSIONS:
                raise ApiError(404, "not_found", f"unknown API version {h}")
            version = n
        if version is None:
            version = 1
        route = self.route(segs)
        if route is None or trailing:
            raise ApiError(404, "not_found", f"no such path: {path}")
        kind, parent, id_ = route
        is_item = id_ is not None
        if anon_collection:
            if is_item:
                org = self.authenticate(headers)
            else:
                org = self.orgs[0]
        if not is_item and "VER-1:header-ignored-on-collections" in self.faults and not path_version:
            version = 1
        if is_item and method == "GET" and "VER-3:unversioned-item-get-latest" in self.faults:
            if not path_version and header is None:
                version = max(VERSIONS)
        allowed = {"GET", "POST", "PUT", "DELETE"} if is_item else {"GET"}
        if method not in allowed:
            raise ApiError(403, "invalid_request", f"{method} is not supported on this path")
        with self.store.lock:
            if parent is not None and self.store.find(org.name, "audience", None, parent) is None:
                code = "invalid_request" if "STATUS-2:missing-parent-invalid-request" in self.faults else "not_found"
                raise ApiError(404, code, f"audience {parent} not found")
        if not is_item:
            return self.list(org, kind, parent, query, version)
        if method == "GET":
            return self.get(org, kind, parent, id_, version)
        if method == "DELETE":
            return self.delete(org, kind, parent, id_)
        body = self.parse_body(raw)
        return self.write(method, org, kind, parent, id_, body, version)

    @staticmethod
    def route(segs):
        n = len(segs)
        if n in (1, 2) and segs[0] in ("audiences", "mailings"):
            kind = "audience" if segs[0] == "audiences" else "mailing"
            if n == 2 and not UUID_RE.match(segs[1]):
                return None
            return kind, None, segs[1] if n == 2 else None
        if n in (3, 4) and segs[0] == "audiences" and segs[2] in ("members", "fields") and UUID_RE.match(segs[1]):
            if n == 4 and not UUID_RE.match(segs[3]):
                return None
            return ("member" if segs[2] == "members" else "field"), segs[1], segs[3] if n == 4 else None
        return None

    def parse_body(self, raw: bytes):
        def no_constants(c):
            raise ValueError(c)

        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=no_constants)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ApiError(403, "invalid_request", "the body must be a JSON object") from None
        if not isinstance(body, dict):
            if "JSON-2:array-body-500" in self.faults and isinstance(body, list):
                return body  # crashes later at body.get / 'in'
            raise ApiError(403, "invalid_request", "the body must be a JSON object")
        return body

    # -- representation
    def render(self, org: Org, row: Row, version: int) -> dict:
        clock = org.clock
        micro = "TIME-1:microseconds" in self.faults
        ms = "TIME-2:epoch-ms-members" in self.faults and row.kind == "member"

        def stamp(name, instant):
            if instant is None:
                return
            out[name] = clock.render(instant, micro=micro)
            ep = int(instant.timestamp())
            out[name + "_epoch"] = ep * 1000 + (instant.microsecond // 1000 if micro else 0) if ms else ep

        out = {"id": row.id}
        if row.parent is not None:
            out["audience_id"] = row.parent
        v = row.values
        if row.kind == "audience":
            out["title"] = v["title"]
            if v["note"] is not None:
                out["note"] = v["note"]
            out["member_count"] = len(self.store.list(org.name, "member", row.id))
        elif row.kind == "member":
            out["email_address"] = v["email_address"]
            status = v["status"]
            if "ENUM-1:scomp-renamed" in self.faults and status == "scomp":
                status = "spam_complaint"
            out["status"] = status
            stamp("joined_at", v["joined_at"])
        elif row.kind == "field":
            out["label"], out["kind"], out["choices"], out["required"] = (
                v["label"],
                v["kind"],
                v["choices"],
                v["required"],
            )
        elif row.kind == "mailing":
            out["subject"] = v["subject"]
            if v["deliver_on"] is not None:
                d = v["deliver_on"]
                if "TIME-4:unpadded-date" in self.faults:
                    out["deliver_on"] = f"{d.year}-{d.month}-{d.day}"
                else:
                    out["deliver_on"] = f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
            stamp("launch_at", v["launch_at"])
            out["priority"] = v["priority"]
            out["tags"] = v["tags"]
            if version >= 2 and v.get("winner_criterion") is not None:
                out["winner_criterion"] = v["winner_criterion"]
        stamp("created_at", row.created)
        stamp("updated_at", row.updated)
        return out

    # -- operations
    def list(self, org, kind, parent, query, version):
        limit = LIMIT_DEFAULT
        if "limit" in query:
            text = query["limit"][-1]
            if not re.fullmatch(r"[0-9]+", text):
                raise ApiError(403, "validation_failed", "limit must be a positive integer")
            if len(text) > 12:
                raise ApiError(403, "requested_too_many", f"at most {LIMIT_MAX} records per request")
            limit = int(text)
            if limit < 1:
                if "STATUS-1:limit-zero-400" in self.faults:
                    raise ApiError(400, "validation_failed", "limit must be at least 1")
                raise ApiError(403, "validation_failed", "limit must be at least 1")
            bound = LIMIT_MAX + 1 if "STATUS-5:limit-off-by-one" in self.faults else LIMIT_MAX
            if limit > bound:
                e = ApiError(403, "requested_too_many", f"at most {LIMIT_MAX} records per request")
                if "ENV-4:too-many-200" in self.faults:
                    return 200, self.error(e), {}
                raise e
        with self.store.lock:
            rows = self.store.list(org.name, kind, parent)[:limit]
            return 200, self.ok([self.render(org, r, version) for r in rows]), {}

    def get(self, org, kind, parent, id_, version):
        with self.store.lock:
            row = self.store.find(org.name, kind, parent, id_)
            if row is None:
                if kind == "field" and "STATUS-4:missing-field-get-403" in self.faults:
                    raise ApiError(403, "validation_failed", f"field {id_} does not exist")
                raise ApiError(404, "not_found", f"{kind} {id_} not found")
            if kind == "member" and "IDEM-5:get-touches-members" in self.faults:
                row.updated = now_utc()
            return 200, self.ok(self.render(org, row, version)), {}

    def delete(self, org, kind, parent, id_):
        with self.store.lock:
            row = self.store.find(org.name, kind, parent, id_)
            if row is None and "IDEM-6:second-delete-500" in self.faults:
                gone = [
                    r
                    for r in self.store.rows
                    if r.org == org.name and r.kind == kind and r.id == id_ and r.parent == parent and r.deleted
                ]
                if gone:
                    raise AttributeError("'NoneType' object has no attribute 'destroy'")
            if row is not None:
                row.deleted = True
                if kind == "audience":
                    for child in self.store.rows:
                        if child.org == org.name and child.parent == id_:
                            child.deleted = True
            data = "deleted" if "ENV-2:delete-data-string" in self.faults else {"id": id_}
            return 200, self.ok(data), {}

    def write(self, method, org, kind, parent, id_, body, version):
        race = "IDEM-1:race-check-then-insert" in self.faults and method == "POST"
        lock = self.store.lock
        if race:
            with lock:
                existing = self.store.find(org.name, kind, parent, id_)
            time.sleep(0.03)
            lock.acquire()
        else:
            lock.acquire()
            existing = self.store.find(org.name, kind, parent, id_)
        try:
            if method == "PUT" and "AUTH-4:put-no-tenant-filter" in self.faults:
                other = self.store.find(org.name, kind, parent, id_, any_org=True)
                if other is not None:
                    existing = other
            if method == "PUT" and existing is not None and "IDEM-3:put-merges" in self.faults:
                merged = {k: v for k, v in existing.values.items() if v is not None}
                merged = {k: self.dump(k, v, kind) for k, v in merged.items()}
                merged.update(body)
                body = merged
            values = validate(kind, body, version, org.clock, self.faults, existing)
            self.storage_limits(values)  # the "database" sees only validated rows
            if existing is None:
                t = now_utc_micro() if "TIME-1:microseconds" in self.faults else now_utc()
                self.store.insert(Row(id_, org.name, kind, parent, values, t, t, 0))
                return 201, self.ok({"id": id_}), {}
            if existing.values != values:
                existing.values = values
                existing.updated = now_utc_micro() if "TIME-1:microseconds" in self.faults else now_utc()
            return 200, self.ok({"id": id_}), {}
        finally:
            lock.release()

    def storage_limits(self, values: dict):
        for v in values.values():
            texts = v if isinstance(v, list) else [v]
            if "IDEM-1:long-string-500" in self.faults and any(isinstance(t, str) and len(t) > 255 for t in texts):
                raise RuntimeError("value too long for type character varying(255)")
            if (
                "IDEM-1:int32-overflow-500" in self.faults
                and isinstance(v, int)
                and not isinstance(v, bool)
                and not -(2**31) <= v <= 2**31 - 1
            ):
                raise OverflowError("integer out of range for type integer")

    @staticmethod
    def dump(name, value, kind):
        """A stored value back in its JSON form (for the merging PUT)."""
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return value


# ---------------------------------------------------------------------------------------------- seed data


def seed(app: App):
    """Another client's data: 300 audiences in the first organization (and members in one of them)."""
    org = app.orgs[0]
    start = datetime(2021, 3, 1, 9, 30, tzinfo=UTC)
    ns = uuid.UUID("6f1c2a5e-0000-4000-8000-000000000000")
    first = None
    for i in range(300):
        aid = str(uuid.uuid5(ns, f"audience-{i}"))
        first = first or aid
        t = start + timedelta(days=i, hours=i % 24)
        app.store.insert(
            Row(
                aid,
                org.name,
                "audience",
                None,
                {"title": f"Imported audience {i}", "note": None if i % 3 else "legacy import"},
                t,
                t,
                0,
            )
        )
    for i in range(250):
        mid = str(uuid.uuid5(ns, f"member-{i}"))
        t = start + timedelta(days=i, minutes=i)
        app.store.insert(
            Row(
                mid,
                org.name,
                "member",
                first,
                {
                    "email_address": f"person{i}@example.org",
                    "status": SUBSCRIBER_STATUS[i % 5],
                    "joined_at": t - timedelta(days=30),
                },
                t,
                t,
                0,
            )
        )
    for i in range(40):
        mid = str(uuid.uuid5(ns, f"mailing-{i}"))
        t = start + timedelta(days=7 * i)
        app.store.insert(
            Row(
                mid,
                org.name,
                "mailing",
                None,
                {
                    "subject": f"Newsletter {i}",
                    "deliver_on": (t + timedelta(days=3)).date(),
                    "launch_at": t + timedelta(days=3, hours=8),
                    "priority": i,
                    "tags": ["news"],
                    "winner_criterion": WINNER[i % 5] if i % 2 else None,
                },
                t,
                t,
                0,
            )
        )


# ---------------------------------------------------------------------------------------------- start


KEYS = ("pbx_live_7Hq2LxV9pR4tZ8wN3cJ6kD", "pbx_live_Qm5+Yt2/Kd8Wn4Rz1Lp0Xs")
ZONES = ("Europe/London", "Australia/Adelaide")


def start(faults=(), host="127.0.0.1", port=0) -> Handle:
    unknown = set(faults) - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown faults: {sorted(unknown)}")
    tmp = tempfile.mkdtemp(prefix="postbox-")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_path = os.path.join(tmp, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    orgs = [Org("northwind", KEYS[0], ZONES[0]), Org("kangaroo", KEYS[1], ZONES[1])]
    app = App(faults, orgs)
    seed(app)
    server = TLSServer((host, port), make_handler(app), ctx)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    port = server.server_address[1]
    return Handle(
        f"https://{host}:{port}{BASE}", ca_path, KEYS, ZONES, frozenset(faults), server, thread, tmp, app.store
    )


if __name__ == "__main__":
    import sys

    h = start(sys.argv[1:])
    print(h.base_url, h.ca_bundle, *h.keys, sep="\n", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        h.stop()

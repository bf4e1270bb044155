"""The spec's answer at every point where a server decides something.

The app (``app.py``) runs a request through these methods in a fixed order; each
method is one decision a vendor makes, implemented as SPEC.md requires. Fault
switches and valid variants (``faults/``) replace individual methods with
wrappers that receive the correct one, so every deviation lives in one place and
this file reads as the model implementation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from conformance.model import Field, Resource, TargetModel
from conformance.reference import times
from conformance.reference.orgs import Organization, basic_credential, find_org
from conformance.reference.routing import Route, Router
from conformance.reference.store import Key, Record, Store

if TYPE_CHECKING:
    from starlette.requests import Request

MAX_BODY = 1 << 20  # bytes; a bigger body is refused with 403 invalid_request
OMIT = object()  # a render hook's way to leave a key out of the object


class ApiError(Exception):
    """A failure answered with the error envelope."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


@dataclass(frozen=True)
class Issue:
    """One thing wrong with a write body (``validation.py`` finds them; :meth:`Behaviour.judge` decides)."""

    field: str | None
    kind: str  # required | enum | time | date | type | invalid | unknown
    message: str
    value: Any = None


@dataclass
class Reply:
    """A response on its way out: the envelope first, bytes once encoded."""

    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def success(data: Any, status: int = 200) -> Reply:
    return Reply(status, {"success": True, "data": data, "error_code": None, "error_message": None})


def failure(error: ApiError) -> Reply:
    payload = {"success": False, "data": None, "error_code": error.code, "error_message": error.message}
    return Reply(error.status, payload, dict(error.headers))


@dataclass
class Services:
    """What a server instance holds: the model it serves, its data and its tenants."""

    model: TargetModel
    store: Store
    orgs: list[Organization]
    router: Router
    scratch: dict[str, Any] = field(default_factory=dict)  # per-server state of stateful switches


@dataclass
class Ctx:
    """One request as the decisions see it; filled in as the request is understood."""

    request: Request
    services: Services
    method: str
    path: str = ""  # under the base path, without the version segment
    path_version: str | None = None  # the N of a /vN segment
    header_version: str | None = None  # X-Version, as sent
    body: bytes = b""
    now: datetime = field(default_factory=times.now)
    org: Organization | None = None
    version: int = 1
    route: Route | None = None
    state: dict[str, Any] = field(default_factory=dict)  # what stateful switches remember about this request

    @property
    def org_id(self) -> int:
        assert self.org is not None
        return self.org.number


class Behaviour:
    """Correct decisions, one method each. See the module docstring."""

    # -- the server around the requests ---------------------------------------------------
    def start(self, services: Services) -> list[Callable[[], None]]:
        """Called once before the server accepts requests; returns what to call when it stops. The correct
        server starts empty; variants play the other clients of a shared server here."""
        return []

    def keep_alive(self) -> float:
        """Seconds an idle keep-alive connection stays open (uvicorn's default)."""
        return 5.0

    def clock(self, ctx: Ctx) -> datetime:
        """The server's time for this request (its stamps)."""
        return ctx.now

    # -- who is asking, and in which version --------------------------------------------
    def authenticate(self, ctx: Ctx) -> Organization:
        """Any request without a known key gets 401, before anything else (Ambiguity 10)."""
        org = find_org(ctx.services.orgs, basic_credential(ctx.request.headers.get("authorization")))
        if org is None:
            raise ApiError(401, "not_authorized", "send Authorization: Basic <key> with a valid API key")
        return org

    def version(self, ctx: Ctx) -> int:
        """X-Version or /vN; neither means 1 (VER-3); an unknown one is an error (VER-5)."""
        given = [v for v in (ctx.path_version, ctx.header_version) if v is not None]
        chosen: set[int] = set()
        for text in given:
            if not re.fullmatch(r"[0-9]{1,9}", text.strip()) or int(text) not in ctx.services.model.versions:
                raise self.version_error(ctx, text)
            chosen.add(int(text))
        if len(chosen) > 1:  # Ambiguity 12: refuse rather than guess
            raise ApiError(403, "invalid_request", "X-Version and the /vN path name different versions")
        return chosen.pop() if chosen else 1

    def version_error(self, ctx: Ctx, text: str) -> ApiError:
        """An unknown version is an API that does not exist: 404 (403 is the other legal choice)."""
        known = ", ".join(map(str, ctx.services.model.versions))
        return not_found(f"API version {text[:20]!r} does not exist (versions: {known})")

    def unknown_method(self, ctx: Ctx) -> ApiError:
        """A method the path lacks is a path-and-method the API does not have: 404, never 405."""
        return not_found(f"{ctx.method} is not an operation of {ctx.path}")

    # -- reading a write body -------------------------------------------------------------
    def parse_body(self, ctx: Ctx, raw: bytes) -> dict[str, Any]:
        """A JSON object, or 403 invalid_request (JSON-2)."""
        if len(raw) > MAX_BODY:
            raise ApiError(403, "invalid_request", f"the body is larger than {MAX_BODY} bytes")
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ApiError(403, "invalid_request", "the body is not JSON") from None
        if not isinstance(body, dict):
            raise ApiError(403, "invalid_request", "the body must be a JSON object")
        return body

    def to_instant(self, ctx: Ctx, text: str) -> datetime:
        """A time in any offset is that instant (TIME-5), if the org's zone can show it."""
        instant = times.parse_time(text)
        if not times.representable(instant, self.zone(ctx)):
            raise ValueError("outside the range the organization's time zone can represent")
        return instant

    def to_date(self, ctx: Ctx, text: str) -> str:
        return times.parse_date(text)

    def judge(self, ctx: Ctx, issues: list[Issue]) -> list[Issue]:
        """The issues that refuse the write. Unknown fields are ignored (Ambiguity 7)."""
        return [i for i in issues if i.kind != "unknown"]

    def rejected(self, ctx: Ctx, issues: list[Issue], commit: Callable[[], Any]) -> None:
        """Called before a refused write is answered 403; nothing is stored (ENUM-4)."""

    # -- writing ----------------------------------------------------------------------------
    async def settle(self, ctx: Ctx) -> None:
        """Awaited before a write or delete is carried out. Nothing to wait for: the store checks and acts in
        one locked step. Faults await here, opening the window of a check-then-act race."""

    def may_write(self, ctx: Ctx, old: Record | None) -> None:
        """POST and PUT both create or update (IDEM-1, IDEM-2): nothing to refuse."""

    def compose(self, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict[str, Any]:
        """The stored fields after a write: a complete copy (IDEM-3).

        Fields of this version take the body's value or their default; fields of a
        later version, which this version cannot see, keep their stored value.
        """
        resource = _resource(ctx)
        out: dict[str, Any] = {}
        for f in resource.fields.values():
            if f.read_only:
                continue
            if not f.in_version(ctx.version):
                if old is not None and f.name in old.fields:
                    out[f.name] = old.fields[f.name]
                elif f.has_default or f.nullable:
                    out[f.name] = f.default()
            elif f.name in values:
                out[f.name] = values[f.name]
            elif f.has_default or f.nullable:
                out[f.name] = f.default()
        return out

    def stamp(self, ctx: Ctx, old: Record | None, fields: dict[str, Any]) -> tuple[datetime, datetime]:
        """(created, updated): created never moves; updated moves only on a change (IDEM-7)."""
        if old is None:
            return ctx.now, ctx.now
        return old.created, (old.updated if old.fields == fields else ctx.now)

    def stored(self, ctx: Ctx, old: Record | None, new: Record) -> None:
        """After a write is stored; the reply says the rest. Variants act as a server's own automations here."""

    def write_status(self, ctx: Ctx, created: bool) -> int:
        return 201 if created else 200  # STATUS-6

    # -- reading and deleting --------------------------------------------------------------
    def load(self, ctx: Ctx, key: Key) -> Record | None:
        return ctx.services.store.get(ctx.org_id, key)

    def listing(self, ctx: Ctx, records: list[Record]) -> list[Record]:
        return records

    def delete(self, ctx: Ctx, key: Key) -> None:
        """Remove it and its children; absent already is success too (IDEM-6, Ambiguity 6)."""
        ctx.services.store.delete(ctx.org_id, key)

    def limit(self, ctx: Ctx, raw: str | None) -> int:
        """1..maximum; above it 403 requested_too_many (STATUS-5), else 403 validation_failed."""
        resource = _resource(ctx)
        maximum = resource.limit_max
        if raw is None:
            default = resource.limit_default or 25
            return min(default, maximum) if maximum else default
        if not re.fullmatch(r"[0-9]{1,18}", raw) or int(raw) < 1:
            raise ApiError(403, "validation_failed", f"limit must be an integer from 1 to {maximum or 'any'}")
        if maximum is not None and int(raw) > maximum:
            raise ApiError(403, "requested_too_many", f"limit may be at most {maximum}")
        return int(raw)

    # -- representation --------------------------------------------------------------------
    def zone(self, ctx: Ctx) -> tzinfo:
        """The organization's zone (TIME-3)."""
        assert ctx.org is not None
        return ctx.org.zone

    def render_time(self, ctx: Ctx, instant: datetime, zone: tzinfo) -> tuple[str, Any]:
        """(text, epoch): ``YYYY-MM-DDThh:mm:ss±hh:mm`` in ``zone`` and the integer instant."""
        return times.format_time(instant.astimezone(zone)), times.epoch(instant)

    def render_date(self, ctx: Ctx, value: str) -> str:
        return value

    def render_enum(self, ctx: Ctx, f: Field, value: Any) -> Any:
        return value

    # -- the response ------------------------------------------------------------------------
    def shape_reply(self, ctx: Ctx, reply: Reply) -> Reply:
        """The envelope as built is already right; faults reshape it here."""
        return reply

    def encode_reply(self, ctx: Ctx, reply: Reply) -> Reply:
        """Compact JSON (JSON-3), ``application/json`` (JSON-1). ASCII escapes keep any
        string a client sent (even a lone surrogate) encodable."""
        if reply.body is None:
            reply.body = json.dumps(reply.payload, separators=(",", ":")).encode("ascii")
        reply.headers.setdefault("content-type", "application/json")
        return reply


HOOKS = frozenset(name for name, value in vars(Behaviour).items() if callable(value) and not name.startswith("_"))


def _resource(ctx: Ctx) -> Resource:
    assert ctx.route is not None
    return ctx.route.resource


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value

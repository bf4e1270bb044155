"""The reference API as an ASGI app: the request flow, in the order SPEC.md implies.

1. Outside the base path: not the API (the description files, else 404).
2. Authentication, before anything else, whatever the path (Ambiguity 10).
3. The version: ``X-Version`` or ``/vN`` (VER-1..5).
4. The path: an item or collection path of the served description, else 404.
5. The method: one the path offers, else 404 (never 405).
6. The operation: read, list, create-or-replace, delete.

Every decision along the way is a method of :class:`Behaviour`; this module only
sequences them and turns the outcome into exactly one envelope. Nothing is
specific to the reference API: resources, fields, versions and limits come from
the target model, so any description that follows the spec can be served.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import re
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute
from starlette.types import Message, Receive, Scope, Send

from conformance.model import TargetModel
from conformance.reference.behaviour import (
    MAX_BODY,
    ApiError,
    Behaviour,
    Ctx,
    Reply,
    Services,
    failure,
    not_found,
    success,
)
from conformance.reference.orgs import Organization
from conformance.reference.representation import represent, unfillable
from conformance.reference.routing import Router
from conformance.reference.store import ParentMissing, Record, Store
from conformance.reference.validation import check_body

log = logging.getLogger("conformance.reference")
JOURNAL_SIZE = 200_000
SEEN_BODY_CAP = 64 * 1024  # bytes of each request body kept in ``requests_seen``
SEEN_BYTES_BUDGET = 64 * 1024 * 1024  # body bytes ``requests_seen`` holds in all; the oldest entries go first
SEEN_HEADERS = ("Authorization", "X-Version", "Content-Type")  # the request headers the reference server acts on
_DRAIN_WAIT = 0.25  # seconds to wait for each unread body chunk before the journal gives up on it

DEFAULT_BASE_PATH = "/ga/api"
DESCRIPTION_PREFIX = "/openapi/"  # where the description files are served, outside the API
_VERSION_SEGMENT = re.compile(r"/v([0-9]+)(?=/|$)")

Handler = Callable[[Ctx], Reply]


class SeenRequest(NamedTuple):
    """One request as the server received it: enough to send it again byte for byte (see ``benchmarks/``)."""

    method: str
    path: str  # percent-decoded, as in ``journal``
    raw_path: str  # as sent, percent-encoding kept (latin-1 decoded)
    query: str  # the raw query string, without ``?``; "" when none
    headers: tuple[tuple[str, str], ...]  # the SEEN_HEADERS present, in order, as (name, value)
    body: bytes  # the first SEEN_BODY_CAP bytes
    body_size: int  # body bytes received (more than len(body) when capped)
    status: int  # the status answered

    @property
    def target(self) -> str:
        """The request target: raw path and query."""
        return self.raw_path + ("?" + self.query if self.query else "")


class RequestLog:
    """The full entries, bounded in count (``maxlen``) and in body bytes (``budget``): oldest dropped first.

    Written only from the server's event loop; read it once the clients are done.
    """

    def __init__(self, maxlen: int = JOURNAL_SIZE, budget: int = SEEN_BYTES_BUDGET) -> None:
        self._entries: deque[SeenRequest] = deque()
        self.maxlen, self.budget = maxlen, budget
        self._bytes = 0
        self.dropped = 0  # entries evicted since the last clear()

    def append(self, entry: SeenRequest) -> None:
        self._entries.append(entry)
        self._bytes += len(entry.body)
        while len(self._entries) > self.maxlen or self._bytes > self.budget:
            self._bytes -= len(self._entries.popleft().body)
            self.dropped += 1

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = self.dropped = 0

    def __iter__(self) -> Iterator[SeenRequest]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class ReferenceApp:
    """The ASGI application. ``description_dir`` is served under ``/openapi/``."""

    def __init__(
        self,
        model: TargetModel,
        orgs: list[Organization],
        behaviour: Behaviour | None = None,
        *,
        base_path: str = DEFAULT_BASE_PATH,
        description_dir: Path | None = None,
        store: Store | None = None,
    ) -> None:
        problems = {r.name: unfillable(r) for r in model.resources if unfillable(r)}
        if problems:
            raise ValueError(f"the reference server cannot fill these read-only fields: {problems}")
        self.services = Services(model, store or Store(), orgs, Router(model.resources))
        self.behaviour = behaviour or Behaviour()
        self._stops = list(self.behaviour.start(self.services) or [])
        self.base = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.description_dir = description_dir
        self.journal: deque[tuple[str, str]] = deque(maxlen=JOURNAL_SIZE)  # (method, path): what clients asked
        self.requests_seen = RequestLog()  # the same requests in full (query, headers, body, status), for replay
        # One catch-all route: the app routes by itself, so that Starlette never
        # answers 405 or a plain-text 404 on its behalf.
        self._starlette = Starlette(routes=[StarletteRoute("/{path:path}", endpoint=_Endpoint(self.respond))])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._starlette(scope, receive, send)

    def close(self) -> None:
        """Stop what the behaviour started (background writers); idempotent."""
        stops, self._stops = self._stops, []
        for stop in reversed(stops):
            stop()

    async def respond(self, request: Request) -> Response:
        path = request.scope["path"]
        self.journal.append((request.method.upper(), path))
        tee = _BodyTee(request.receive)
        request = Request(request.scope, tee)
        response = await self._respond(request, path)
        if _may_have_body(request):
            await tee.drain()
        self.requests_seen.append(_seen(request, tee, response.status_code))
        return response

    async def _respond(self, request: Request, path: str) -> Response:
        if self.description_dir is not None and path.startswith(DESCRIPTION_PREFIX) and self.base:
            return self._description_file(path[len(DESCRIPTION_PREFIX) :])
        ctx = Ctx(request, self.services, request.method.upper())
        try:
            reply = await self._dispatch(ctx, path)
        except ApiError as e:
            reply = failure(e)
        except Exception:
            log.exception("internal error on %s %s", ctx.method, path)
            reply = failure(ApiError(500, "internal_error", "the server failed to process the request"))
        try:
            reply = self.behaviour.encode_reply(ctx, self.behaviour.shape_reply(ctx, reply))
        except Exception:  # a broken response hook must still give an envelope
            log.exception("internal error while encoding the response")
            reply = Behaviour().encode_reply(ctx, failure(ApiError(500, "internal_error", "response failed")))
        return Response(reply.body, status_code=reply.status, headers=reply.headers)

    async def _dispatch(self, ctx: Ctx, path: str) -> Reply:
        b = self.behaviour
        rel = self._under_base(path)
        if rel is None:
            raise not_found(f"{path} is not under the API root {self.base or '/'}")
        m = _VERSION_SEGMENT.match(rel)
        ctx.path_version, ctx.path = (m.group(1), rel[m.end() :]) if m else (None, rel)
        ctx.header_version = ctx.request.headers.get("x-version")
        ctx.now = b.clock(ctx)
        ctx.org = b.authenticate(ctx)
        ctx.version = b.version(ctx)
        ctx.route = self.services.router.match(ctx.path)
        if ctx.route is None:
            raise not_found(f"no such path: {ctx.path or '/'}")
        handler = self._handler(ctx)
        if handler is None:
            raise b.unknown_method(ctx)
        if ctx.method in ("POST", "PUT"):
            ctx.body = await _read_body(ctx.request)
        if ctx.method in ("POST", "PUT", "DELETE"):
            await b.settle(ctx)
        return handler(ctx)

    def _under_base(self, path: str) -> str | None:
        if not self.base:
            return path
        if path == self.base or path.startswith(self.base + "/"):
            return path[len(self.base) :]
        return None

    def _handler(self, ctx: Ctx) -> Handler | None:
        assert ctx.route is not None
        if ctx.route.kind == "collection":
            return self._list if ctx.method == "GET" else None
        if ctx.method not in ctx.route.resource.methods:
            return None
        return {"GET": self._read, "POST": self._write, "PUT": self._write, "DELETE": self._delete}.get(ctx.method)

    # -- operations ----------------------------------------------------------------------------
    def _read(self, ctx: Ctx) -> Reply:
        assert ctx.route is not None
        record = self.behaviour.load(ctx, ctx.route.key)
        if record is None:
            raise not_found(f"{ctx.route.resource.name} {ctx.route.key[-1][1]} not found")
        return success(represent(ctx, self.behaviour, ctx.route.resource, record))

    def _list(self, ctx: Ctx) -> Reply:
        assert ctx.route is not None
        route, b, store = ctx.route, self.behaviour, self.services.store
        if route.parent_key and store.get(ctx.org_id, route.parent_key) is None:
            raise not_found(f"{route.parent_key[-1][0]} {route.parent_key[-1][1]} not found")
        limit = b.limit(ctx, ctx.request.query_params.get(route.resource.limit_param or "limit"))
        records = b.listing(ctx, store.children(ctx.org_id, route.parent_key, route.resource.name))
        return success([represent(ctx, b, route.resource, r) for r in records[:limit]])

    def _write(self, ctx: Ctx) -> Reply:
        """POST and PUT alike: create or fully replace (IDEM-1..3)."""
        assert ctx.route is not None
        b = self.behaviour
        body = b.parse_body(ctx, ctx.body)
        values, issues = check_body(ctx, b, ctx.route.resource, body)
        refusing = b.judge(ctx, issues)
        if refusing:
            b.rejected(ctx, refusing, lambda: self._store(ctx, values))
            raise ApiError(403, "validation_failed", "; ".join(i.message for i in refusing))
        old, new = self._store(ctx, values)
        b.stored(ctx, old, new)
        return success(represent(ctx, b, ctx.route.resource, new), b.write_status(ctx, old is None))

    def _store(self, ctx: Ctx, values: dict[str, Any]) -> tuple[Record | None, Record]:
        assert ctx.route is not None
        route, b = ctx.route, self.behaviour

        def build(old: Record | None) -> Record:
            b.may_write(ctx, old)
            fields = b.compose(ctx, old, values)
            created, updated = b.stamp(ctx, old, fields)
            return Record(dict(route.ids), fields, created, updated)

        try:
            return self.services.store.write(ctx.org_id, route.key, build)
        except ParentMissing:
            parent = route.key[-2]
            raise not_found(f"{parent[0]} {parent[1]} not found") from None

    def _delete(self, ctx: Ctx) -> Reply:
        assert ctx.route is not None
        self.behaviour.delete(ctx, ctx.route.key)
        id_field = ctx.route.resource.with_role("id")
        return success({id_field.name if id_field else "id": ctx.route.key[-1][1], "deleted": True})

    # -- outside the API -----------------------------------------------------------------------
    def _description_file(self, name: str) -> Response:
        """The served description and its neighbours, so it can be loaded by URL."""
        assert self.description_dir is not None
        candidate = self.description_dir / name
        if "/" in name or name.startswith(".") or candidate.suffix not in (".yaml", ".yml", ".json"):
            return _not_found_response(name)
        if not candidate.is_file():
            return _not_found_response(name)
        media = "application/yaml" if candidate.suffix != ".json" else mimetypes.types_map[".json"]
        return Response(candidate.read_bytes(), media_type=media)


class _Endpoint:
    """An ASGI endpoint (not a function), so Starlette passes every method through."""

    def __init__(self, respond: Callable[[Request], Any]) -> None:
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(Request(scope, receive))
        await response(scope, receive, send)


class _BodyTee:
    """An ASGI ``receive`` that passes every message through and keeps the body's first SEEN_BODY_CAP bytes."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.body = bytearray()
        self.size = 0
        self.done = False  # the last body chunk came (or the client left)

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            self.size += len(chunk)
            if len(self.body) < SEEN_BODY_CAP:
                self.body += chunk[: SEEN_BODY_CAP - len(self.body)]
            self.done = not message.get("more_body", False)
        else:
            self.done = True
        return message

    async def drain(self) -> None:
        """Reads the body the app left unread, up to the cap; never waits long on a slow client."""
        while not self.done and len(self.body) < SEEN_BODY_CAP:
            try:
                await asyncio.wait_for(self(), _DRAIN_WAIT)
            except TimeoutError:
                return


def _may_have_body(request: Request) -> bool:
    """Whether the framing announces a body (and no 100-continue handshake is pending)."""
    h = request.headers
    has_body = h.get("content-length", "0") != "0" or "transfer-encoding" in h
    return has_body and h.get("expect", "").lower() != "100-continue"


def _seen(request: Request, tee: _BodyTee, status: int) -> SeenRequest:
    scope = request.scope
    raw_path = scope.get("raw_path") or scope["path"].encode()
    return SeenRequest(
        method=request.method.upper(),
        path=scope["path"],
        raw_path=raw_path.decode("latin-1"),
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=tuple((name, value) for name in SEEN_HEADERS for value in request.headers.getlist(name)),
        body=bytes(tee.body),
        body_size=tee.size,
        status=status,
    )


async def _read_body(request: Request) -> bytes:
    """The body, refused once it passes MAX_BODY instead of being read whole."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(403, "invalid_request", f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _not_found_response(name: str) -> Response:
    reply = Behaviour().encode_reply(None, failure(not_found(f"no description file {name[:64]!r}")))  # type: ignore[arg-type]
    return Response(reply.body, status_code=reply.status, headers=reply.headers)

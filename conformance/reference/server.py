"""Running the reference server: on a real socket, over HTTPS, in a thread or in the foreground.

``start_server`` is what the project's tests and ``conformance run`` use: it binds
a socket (port 0 picks a free one), makes a certificate for it with trustme,
starts uvicorn in a background thread and returns once the socket accepts.
``main_serve`` is the ``conformance serve`` command.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from conformance.model import DescriptionError, load_model
from conformance.reference.app import DEFAULT_BASE_PATH, DESCRIPTION_PREFIX, ReferenceApp
from conformance.reference.faults import FAULTS, VARIANTS, Switch, build_behaviour, select
from conformance.reference.orgs import OrgSpec, make_orgs
from conformance.reference.tls import make_tls
from conformance.spec import facts

STARTUP_TIMEOUT = 10.0


class _EnvelopeH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with two changes.

    It answers unparsable HTTP itself with a text/plain 400; here it answers with the
    envelope instead (403 invalid_request), so even that stays inside the spec. And on
    stop it drops idle keep-alive connections at once: a graceful TLS close waits for
    the client's close_notify, which a pooled, idle client never sends.
    """

    def shutdown(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self.transport.abort()
        else:
            super().shutdown()

    def send_400_response(self, msg: str) -> None:
        body = json.dumps(
            {
                "success": False,
                "data": None,
                "error_code": "invalid_request",
                "error_message": msg or "invalid HTTP request",
            },
            separators=(",", ":"),
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"connection", b"close"),
            (b"content-length", str(len(body)).encode()),
        ]
        for event in (
            h11.Response(status_code=403, headers=headers, reason=b"Forbidden"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()


@dataclass
class ServerHandle:
    """A running reference server. Use as a context manager or call :meth:`stop`."""

    base_url: str
    ca_bundle: str | None  # PEM file of the CA that signed the certificate; None over HTTP
    keys: list[str]  # one API key per organization, first organization first
    org_timezones: list[str]
    description: str
    description_url: str | None  # the description served by URL (outside the API)
    faults: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()
    app: ReferenceApp | None = field(default=None, repr=False)
    _server: uvicorn.Server | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _tmp: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=STARTUP_TIMEOUT)
        if self.app is not None:
            self.app.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class _Prepared:
    handle: ServerHandle
    server: uvicorn.Server
    sock: socket.socket


@dataclass(frozen=True)
class _Options:
    """What to serve: :func:`start_server`'s and :func:`serve_forever`'s arguments, as one value."""

    host: str
    port: int
    https: bool
    description: str | None
    faults: Sequence[str]
    variants: Sequence[str]
    orgs: Sequence[OrgSpec] | None
    base_path: str
    path_params: Mapping[str, str] | None


def _prepare(options: _Options, log_config: Any) -> _Prepared:
    host, port, https, description, faults, variants, orgs, base_path, path_params = (
        getattr(options, f) for f in _Options.__dataclass_fields__
    )
    switches = select(faults, variants)
    source = str(description or facts.reference_openapi_path())
    model = load_model(source, path_params=path_params)
    organizations = make_orgs(orgs or _zones(switches))
    local = Path(source)
    app = ReferenceApp(
        model,
        organizations,
        build_behaviour(switches),
        base_path=base_path,
        description_dir=local.resolve().parent if local.is_file() else None,
    )
    tls_mode = next((s.tls for s in reversed(switches) if s.tls), None)
    https = https and tls_mode != "plain"
    tmp = tempfile.TemporaryDirectory(prefix="conformance-ref-")
    try:
        tls = make_tls(Path(tmp.name), host, tls_mode or "valid") if https else None
        sock = _listen(host, port)
    except BaseException:
        app.close()  # what the behaviour started (a background writer) must not outlive a failed start
        tmp.cleanup()
        raise
    config = uvicorn.Config(
        app,
        http=_EnvelopeH11Protocol,
        ws="none",
        lifespan="off",
        log_config=log_config,
        log_level="info" if log_config else "warning",
        access_log=bool(log_config),
        timeout_graceful_shutdown=3,
        timeout_keep_alive=app.behaviour.keep_alive(),  # type: ignore[arg-type]  # a float timer (0.1 s variant)
        ssl_context_factory=(lambda cfg, default: tls.context) if tls else None,
    )
    server = uvicorn.Server(config)
    authority = f"[{host}]" if ":" in host else host
    root = f"{'https' if https else 'http'}://{authority}:{sock.getsockname()[1]}"
    handle = ServerHandle(
        base_url=root + app.base,
        ca_bundle=str(tls.ca_bundle) if tls else None,
        keys=[o.key for o in organizations],
        org_timezones=[o.zone_name for o in organizations],
        description=source,
        description_url=f"{root}{DESCRIPTION_PREFIX}{local.name}" if app.description_dir and app.base else None,
        faults=tuple(faults),
        variants=tuple(variants),
        app=app,
        _server=server,
        _tmp=tmp,
    )
    return _Prepared(handle, server, sock)


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket. ``proto`` is IPPROTO_TCP on purpose: asyncio sets TCP_NODELAY
    only on such sockets, and without it every keep-alive response waits ~40 ms for a
    delayed ACK (Nagle)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _zones(switches: list[Switch]) -> Sequence[str] | None:
    return next((s.zones for s in reversed(switches) if s.zones), None)


def start_server(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    https: bool = True,
    description: str | None = None,
    faults: Sequence[str] = (),
    variants: Sequence[str] = (),
    orgs: Sequence[OrgSpec] | None = None,
    base_path: str = DEFAULT_BASE_PATH,
    path_params: Mapping[str, str] | None = None,
) -> ServerHandle:
    """Start the reference server in a background thread; returns once it accepts connections.

    ``description``: an OpenAPI file to serve instead of the bundled one. ``faults`` and
    ``variants``: switch names (``ValueError`` lists the valid ones). ``orgs``: zone names,
    or ``(zone, key)`` pairs; by default America/Chicago and Asia/Kolkata with random keys. ``path_params``:
    values of the description's path parameters the client does not choose (only those values are served).
    """
    options = _Options(host, port, https, description, faults, variants, orgs, base_path, path_params)
    prepared = _prepare(options, log_config=None)
    handle, server = prepared.handle, prepared.server
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [prepared.sock]},
        name=f"reference-server-{prepared.sock.getsockname()[1]}",
        daemon=True,
    )
    handle._thread = thread
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            handle.stop()
            raise RuntimeError("the reference server did not start")
        time.sleep(0.005)
    with socket.create_connection(prepared.sock.getsockname()[:2], timeout=STARTUP_TIMEOUT):
        pass  # the listening socket accepts
    return handle


def serve_forever(
    *,
    host: str = "127.0.0.1",
    port: int = 8443,
    https: bool = True,
    description: str | None = None,
    faults: Sequence[str] = (),
    variants: Sequence[str] = (),
    orgs: Sequence[OrgSpec] | None = None,
    base_path: str = DEFAULT_BASE_PATH,
    out: Any = None,
    path_params: Mapping[str, str] | None = None,
) -> None:
    """Serve in the foreground until interrupted, after printing how to reach the server."""
    options = _Options(host, port, https, description, faults, variants, orgs, base_path, path_params)
    prepared = _prepare(options, log_config=uvicorn.config.LOGGING_CONFIG)
    handle = prepared.handle
    out = out or sys.stdout
    print(f"base URL:    {handle.base_url}", file=out)
    if handle.ca_bundle:
        print(f"CA bundle:   {handle.ca_bundle}", file=out)
    for number, (key, zone) in enumerate(zip(handle.keys, handle.org_timezones, strict=True), start=1):
        print(f"org {number} key:   {key}   (time zone {zone})", file=out)
    if handle.description_url:
        print(f"description: {handle.description_url}", file=out)
    for label, names in (("faults", handle.faults), ("variants", handle.variants)):
        if names:
            print(f"{label}:      {', '.join(names)}", file=out)
    ca = f" --cacert {handle.ca_bundle}" if handle.ca_bundle else ""
    print(f"try:         curl{ca} -H 'Authorization: Basic {handle.keys[0]}' {handle.base_url}/...", file=out)
    out.flush()
    try:
        prepared.server.run(sockets=[prepared.sock])
    finally:
        handle.stop()


def main_serve(argv: Sequence[str] | None = None) -> int:
    """``conformance serve``: run the reference server until Ctrl-C. Returns the exit status."""
    parser = argparse.ArgumentParser(prog="conformance serve", description="Run the bundled reference server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443, help="0 picks a free port (default 8443)")
    parser.add_argument("--http", action="store_true", help="plain HTTP instead of HTTPS (local development)")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME", help="a fault switch (repeatable)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME", help="a valid variant (repeatable)")
    parser.add_argument("--openapi", metavar="PATH", help="serve this description instead of the bundled one")
    parser.add_argument("--base-path", default=DEFAULT_BASE_PATH, help=f"API root path (default {DEFAULT_BASE_PATH})")
    parser.add_argument(
        "--org",
        action="append",
        default=[],
        metavar="ZONE[=KEY]",
        help="an organization: its IANA zone and optionally its key (repeatable)",
    )
    parser.add_argument(
        "--path-param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="the one value served for a path parameter the client does not choose (repeatable)",
    )
    parser.add_argument("--list", action="store_true", help="list the fault switches and variants, then exit")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.list:
        for s in FAULTS.values():
            print(f"fault    {s.name:32} {s.clause:9} {s.description}")
        for s in VARIANTS.values():
            print(f"variant  {s.name:32} {'':9} {s.description}")
        return 0
    orgs = [tuple(o.split("=", 1)) if "=" in o else o for o in args.org] or None
    if any("=" not in p for p in args.path_param):
        print("conformance serve: --path-param must be NAME=VALUE", file=sys.stderr)
        return 2
    try:
        serve_forever(
            host=args.host,
            port=args.port,
            https=not args.http,
            description=args.openapi,
            faults=args.fault,
            variants=args.variant,
            orgs=orgs,
            base_path=args.base_path,
            path_params=dict(p.split("=", 1) for p in args.path_param),
        )
    except KeyboardInterrupt:
        return 0
    except (ValueError, OSError, DescriptionError) as e:  # bad switch, zone, port or description
        print(f"conformance serve: {e}", file=sys.stderr)
        return 2
    return 0


logging.getLogger("conformance.reference").addHandler(logging.NullHandler())

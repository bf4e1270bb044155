"""Hostile servers on loopback for ``tests/test_hostile.py``: real sockets, one thread per
connection, optionally TLS from a trustme CA, and a behaviour per server that decides what
(if anything) each connection gets back: silence, a response dribbled byte by byte, garbage,
a truncated or endless body, a reset, a redirect to another host, an echo of the credentials.

Every server records what it received (request heads, connections, bytes sent), so a test can
assert what reached it, and stops cleanly: long-running behaviours poll ``conn.stopping``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from conftest import SERIAL

HEAD_LIMIT = 64 * 1024
BODY_LIMIT = 1024 * 1024


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # names lower-cased
    head: bytes  # as received
    body: bytes

    @property
    def authenticated(self) -> bool:
        return "authorization" in self.headers


class Conn:
    """One accepted connection as a behaviour sees it."""

    def __init__(self, server: HostileServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.sent = 0
        self._buffer = b""

    @property
    def stopping(self) -> bool:
        return self.server.stopped.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep; True when the server is stopping meanwhile."""
        return self.server.stopped.wait(seconds)

    def _recv(self) -> bytes:
        while not self.stopping:
            try:
                return self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return b""
        return b""

    def read_request(self) -> Request | None:
        """The next request on the connection (None when the client closed it or garbage came)."""
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > HEAD_LIMIT:
                return None
            chunk = self._recv()
            if not chunk:
                return None
            self._buffer += chunk
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return None
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = min(int(headers.get("content-length", "0") or 0), BODY_LIMIT)
        while len(self._buffer) < length:
            chunk = self._recv()
            if not chunk:
                return None
            self._buffer += chunk
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        request = Request(parts[0], parts[1], headers, head + b"\r\n\r\n", body)
        self.server.record(request)
        return request

    def send(self, data: bytes) -> bool:
        """Write everything; False when the peer has gone (or the server is stopping)."""
        view = memoryview(data)
        while view and not self.stopping:
            try:
                n = self.sock.send(view)
            except TimeoutError:
                continue
            except OSError:
                return False
            self.sent += n
            self.server.count_sent(n)
            view = view[n:]
        return not view

    def drain(self) -> None:
        """Read and discard until the client closes the connection (or the server stops)."""
        while self._recv():
            pass

    def reset(self) -> None:
        """Close with a TCP RST instead of a FIN."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


Behaviour = Callable[[Conn], None]


def accept_each(
    listener: socket.socket,
    stopped: threading.Event,
    serve: Callable[[socket.socket], None],
    threads: list[threading.Thread] | None = None,
) -> None:
    """Hand each connection ``listener`` accepts to ``serve`` in a thread of its own, until ``stopped`` (the
    listener has a short timeout, so the loop notices); the threads go to ``threads`` to be joined."""
    while not stopped.is_set():
        try:
            sock, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        thread = threading.Thread(target=serve, args=(sock,), daemon=True)
        if threads is not None:
            threads.append(thread)
        thread.start()


class HostileServer:
    """A listener on ``host`` (port 0) that hands every connection to ``behaviour`` in its own thread."""

    def __init__(
        self,
        behaviour: Behaviour,
        *,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
        hostname: str | None = None,
    ) -> None:
        self.behaviour = behaviour
        self.host = host
        self.hostname = hostname or host
        self.tls = tls
        self.stopped = threading.Event()
        self.requests: list[Request] = []
        self.connections = 0
        self.bytes_sent = 0
        self.max_sent_per_connection = 0
        self._lock = threading.Lock()
        self._conns: set[Conn] = set()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server((host, 0), backlog=64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"hostile-{self.port}", daemon=True)
        self._acceptor.start()

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.hostname}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin + "/ga/api"

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def count_sent(self, n: int) -> None:
        with self._lock:
            self.bytes_sent += n

    def _accept_loop(self) -> None:
        accept_each(self._listener, self.stopped, self._serve, self._threads)

    def _serve(self, sock: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        self._serve_tls(sock)

    def _serve_tls(self, sock: socket.socket) -> None:
        sock.settimeout(0.5)  # short, so loops notice a stop; Conn retries on timeouts
        if self.tls is not None:
            try:
                sock.settimeout(10)
                sock = self.tls.wrap_socket(sock, server_side=True)
                sock.settimeout(0.5)
            except (OSError, ssl.SSLError):
                sock.close()
                return
        conn = Conn(self, sock)
        with self._lock:
            self._conns.add(conn)
        try:
            self.behaviour(conn)
        except Exception:  # a behaviour's own failure must not hang the test; the client side is what is judged
            pass
        finally:
            conn.close()
            with self._lock:
                self._conns.discard(conn)
                self.max_sent_per_connection = max(self.max_sent_per_connection, conn.sent)

    def stop(self) -> None:
        self.stopped.set()
        self._listener.close()
        self._acceptor.join(5)
        for thread in list(self._threads):
            thread.join(5)

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- responses ----------------------------------------------------------------------------------
REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect"}
REASONS |= {308: "Permanent Redirect", 401: "Unauthorized", 404: "Not Found"}


def head(status: int, headers: dict[str, str] | None = None, *, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def envelope(success: bool, data: object = None, code: str | None = None, message: str | None = None) -> bytes:
    return json.dumps(
        {"success": success, "data": data, "error_code": code, "error_message": message}, separators=(",", ":")
    ).encode()


def response(status: int, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    return head(status, headers, length=len(body)) + body


UNAUTHORIZED = response(401, envelope(False, None, "unauthorized", "missing or invalid API key"))


def per_request(handle: Callable[[Conn, Request], bool]) -> Behaviour:
    """Serve requests on a keep-alive connection while ``handle`` returns True."""

    def behaviour(conn: Conn) -> None:
        while (request := conn.read_request()) is not None:
            if not handle(conn, request):
                return

    return behaviour


def after_preflight(hostile: Callable[[Conn, Request], bool]) -> Behaviour:
    """A well-behaved 401 to unauthenticated requests (the suite's reachability probe gets an
    answer), ``hostile`` for every request that carries credentials."""

    def handle(conn: Conn, request: Request) -> bool:
        if not request.authenticated:
            return conn.send(UNAUTHORIZED)
        return hostile(conn, request)

    return per_request(handle)


# -- the suite in a subprocess --------------------------------------------------------------------
@dataclass
class Outcome:
    code: int | None  # None: killed at the deadline
    stdout: str
    stderr: str
    report_dir: Path
    elapsed: float
    max_rss_mb: float
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_suite(args: list[str], *, env: dict[str, str], run_dir: Path, deadline: float) -> Outcome:
    """``conformance run`` in a subprocess (clean ``CONFORMANCE_*`` environment), killed after ``deadline``
    seconds; with its exit code, wall time, peak RSS (from wait4) and every file it left under ``run_dir``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    report_dir = run_dir / "reports"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")} | SERIAL | env
    cmd = [sys.executable, "-m", "conformance", "run", "--report-dir", str(report_dir), *args]
    out, err = run_dir.parent / f"{run_dir.name}.stdout", run_dir.parent / f"{run_dir.name}.stderr"  # kept for a look
    started = time.monotonic()
    with out.open("wb") as fo, err.open("wb") as fe:
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, env=full_env, cwd=run_dir)
    code: int | None = None
    rss_kb = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            code, rss_kb = os.waitstatus_to_exitcode(status), usage.ru_maxrss
            break
        if time.monotonic() - started > deadline:
            proc.kill()
            _, _, usage = os.wait4(proc.pid, 0)
            rss_kb = usage.ru_maxrss
            break
        time.sleep(0.1)
    proc.returncode = -9 if code is None else code  # reaped here: keep Popen from waiting again
    elapsed = time.monotonic() - started
    stdout, stderr = out.read_text(errors="replace"), err.read_text(errors="replace")
    files = {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    return Outcome(code, stdout, stderr, report_dir, elapsed, rss_kb / 1024, files)

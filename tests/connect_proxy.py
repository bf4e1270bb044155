"""An HTTP proxy on loopback, as a vendor's CI reaches the internet through: ``CONNECT`` opens a tunnel (the
client's TLS runs end to end through it), any other request is forwarded to the host its absolute URL names.
It may demand credentials (``407`` without them), and records what it was asked, so a test can assert what went
through it: each tunnel's target and ``Proxy-Authorization``, each forwarded request's line and headers, and the
connections open at once.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hostile import accept_each


@dataclass
class Asked:
    line: str  # "CONNECT 127.0.0.1:8443 HTTP/1.1", "GET http://127.0.0.1:8443/ga/api/ HTTP/1.1"
    headers: dict[str, str]  # names lower-cased


@dataclass
class ConnectProxy:
    credentials: tuple[str, str] | None = None  # (user, password) it demands
    asked: list[Asked] = field(default_factory=list)
    open_connections: int = 0
    peak_connections: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name=f"connect-proxy-{self.port}", daemon=True)
        self._thread.start()

    def url(self, user: str | None = None, password: str | None = None) -> str:
        auth = f"{user}:{password}@" if user is not None else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    @property
    def tunnels(self) -> list[Asked]:
        return [a for a in self.asked if a.line.startswith("CONNECT ")]

    @property
    def forwarded(self) -> list[Asked]:
        return [a for a in self.asked if not a.line.startswith("CONNECT ")]

    def __enter__(self) -> ConnectProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._listener.close()
        self._thread.join(5)

    def _accept_loop(self) -> None:
        accept_each(self._listener, self._stopped, self._serve)

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            self.open_connections += 1
            self.peak_connections = max(self.peak_connections, self.open_connections)
        try:
            self._handle(client)
        except OSError:
            pass
        finally:
            client.close()
            with self._lock:
                self.open_connections -= 1

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(30)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk:
                return
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
        with self._lock:
            self.asked.append(Asked(line, headers))
        if self.credentials is not None:
            expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
            if headers.get("proxy-authorization") != expected:
                client.sendall(
                    b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="ci"\r\n'
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
                return
        method, target, _ = line.split(" ", 2)
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = socket.create_connection((host, int(port)), timeout=30)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            upstream.sendall(rest)
        else:  # forwarded: the origin-form request, one per connection
            url = urlsplit(target)
            upstream = socket.create_connection((url.hostname, url.port or 80), timeout=30)
            kept = [h for h in lines if not h.lower().startswith(("proxy-", "connection:"))]
            path = url.path + (f"?{url.query}" if url.query else "")
            upstream.sendall(
                "\r\n".join([f"{method} {path} HTTP/1.1", *kept, "Connection: close", "", ""]).encode("latin-1") + rest
            )
        with upstream:
            self._pump(client, upstream)

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        def copy(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while chunk := src.recv(65536):
                    dst.sendall(chunk)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=copy, args=(upstream, client), daemon=True)
        back.start()
        copy(client, upstream)
        back.join(30)

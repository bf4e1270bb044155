"""The transport under the client: connections the watchdog can cut at an exchange's deadline, that tell the
exchange when its request was written whole, and that know how long they idled; and how a kept-alive
connection the target closed shows (an end of stream before any byte of an answer)."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from conformance import _compat

STALE_RETRIES = 2  # fresh connections tried after kept-alive ones turned out closed


class Watch:
    """One exchange's deadline and the connection it is using, so the watchdog can cut it."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self.reused = False  # the connection came from the pool, open
        self.sent = False  # the request was written whole
        self._conn: Any = None
        self._lock = threading.Lock()

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conn = conn
            if self.expired:
                _shut(conn)

    def cut(self) -> None:
        with self._lock:
            self.expired = True
            if self._conn is not None:
                _shut(self._conn)

    def detach(self) -> None:
        with self._lock:
            self._conn = None


def _shut(conn: Any) -> None:
    """Shut the connection's socket down: a blocked read or write returns at once.

    ``socket.socket.shutdown`` and not the TLS socket's own, which would drop its SSL object
    under the reading thread's feet; the reading thread then sees an EOF and closes the socket."""
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    with contextlib.suppress(OSError, ValueError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread for the process, cutting every exchange still running at its deadline."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: set[Watch] = set()
        self._thread: threading.Thread | None = None
        self._wakes_at: float | None = None  # when the thread wakes next by itself (None: only when notified)

    def add(self, watch: Watch) -> None:
        with self._cond:
            self._watches.add(watch)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="conformance-watchdog", daemon=True)
                self._thread.start()
            # Waking the thread costs a thread switch per request; it is needed only when this deadline comes
            # before the thread's next wake-up (deadlines mostly grow, so rarely).
            if self._wakes_at is None or watch.deadline < self._wakes_at:
                self._wakes_at = watch.deadline
                self._cond.notify()

    def remove(self, watch: Watch) -> None:
        with self._cond:
            self._watches.discard(watch)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for watch in [w for w in self._watches if w.deadline <= now]:
                    watch.cut()  # again a little later: a TLS connection gets its socket only after the handshake
                    watch.deadline = now + _RECUT
                soonest = min((w.deadline for w in self._watches), default=None)
                self._wakes_at = soonest
                self._cond.wait(None if soonest is None else soonest - now)


_RECUT = 0.25
WATCHDOG = _Watchdog()
CURRENT = threading.local()  # the watch of the exchange this thread is running


class _Sending:
    """A connection that tells the running exchange when its request was written whole: until then the target
    cannot have acted on it, so a failure may be sent again, a write too."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)  # type: ignore[misc]
        watch = getattr(CURRENT, "watch", None)
        if watch is not None:
            watch.sent = True


class _SendingHTTPConnection(_Sending, HTTPConnection):
    pass


class _SendingHTTPSConnection(_Sending, HTTPSConnection):
    pass


def _checked_out(pool: Any, conn: Any) -> None:
    """A connection taken from the pool: replaced if it idled past half the server's idle limit; handed to the
    running exchange's watch.

    A server closes a connection idle past its own limit (often seconds), and a request sent on it just then
    is lost unanswered. urllib3 replaces a connection already closed when taken from the pool; once one was,
    its idle time bounds the server's limit, and a connection idle half as long is replaced too, so requests
    (writes above all, which are not sent twice) rarely meet that race."""
    since, conn.conformance_idle_since = getattr(conn, "conformance_idle_since", None), None
    reused = False
    if since is not None:
        idle = time.monotonic() - since
        limit = getattr(pool, "closes_idle_after", None)
        if conn.sock is None:  # urllib3 found it closed by the server while it idled
            pool.closes_idle_after = idle if limit is None else min(limit, idle)
        elif limit is not None and idle >= limit / 2:
            conn.close()
        else:
            reused = True
    watch = getattr(CURRENT, "watch", None)
    if watch is not None:
        watch.reused = reused
        watch.attach(conn)


def _checked_in(conn: Any) -> None:
    if conn is not None:  # only a connection still open idles (one the target closed has no socket)
        conn.conformance_idle_since = time.monotonic() if conn.sock is not None else None


_WatchedPool = _compat.pool_with_checkout_hooks(HTTPConnectionPool, _SendingHTTPConnection, _checked_out, _checked_in)
_WatchedHTTPSPool = _compat.pool_with_checkout_hooks(
    HTTPSConnectionPool, _SendingHTTPSConnection, _checked_out, _checked_in
)


_WATCHED = {"http": _WatchedPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(requests.adapters.HTTPAdapter):
    """The pooled adapter whose connections the watchdog can reach and that know how long they idled."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Through ``--proxy`` too: the tunnels' connections are watched as direct ones are."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _WATCHED
        return manager

    @contextlib.contextmanager
    def slot_set_aside(
        self, url: str, verify: bool | str, timeout: float, proxies: dict[str, str] | None = None
    ) -> Iterator[None]:
        """One of the pool's slots for ``url`` held empty meanwhile (its connection, if open, closed): room for a
        connection the pool does not manage, such as a probe on another scheme, within the pool's cap."""
        request = requests.Request("GET", url).prepare()
        pool: Any = self.get_connection_with_tls_context(request, verify, proxies=proxies)
        conn = pool.take(timeout)  # a watched pool's (:func:`conformance._compat.pool_with_checkout_hooks`)
        try:
            conn.close()
            yield
        finally:
            pool.give(conn)


class Stale(Exception):
    """A kept-alive connection the target had closed: the request got no answer on it."""

    def __init__(self, what: str, sent: bool, reason: str = "") -> None:
        super().__init__(what)
        self.what, self.sent, self.reason = what, sent, reason

    def message(self, write: bool) -> str:
        why = f" ({self.reason})" if self.reason else ""
        if write and self.sent:
            return (
                f"{self.what}: the target closed the kept-alive connection without answering{why}, after the "
                "request was sent; it may have acted on it, so the write is not sent again"
            )
        return f"{self.what}: the target closed {STALE_RETRIES + 1} kept-alive connections without answering{why}"


# What a connection the target closed while it idled answers a request with: an end of stream or a reset,
# before any byte of a response (a timeout is not one: the target may still be working).
_UNANSWERED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
_UNANSWERED_TLS = (ssl.SSLEOFError, ssl.SSLZeroReturnError)


def closed_unanswered(exc: BaseException) -> bool:
    if isinstance(exc, requests.exceptions.Timeout):
        return False
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        e = stack.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, _UNANSWERED + _UNANSWERED_TLS):
            return True
        stack.extend([*e.args, e.__cause__, e.__context__, getattr(e, "reason", None)])
    return False

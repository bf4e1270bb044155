"""The only code that talks HTTP to the target.

One pooled session per process; a timeout on every socket operation and a
deadline on every whole exchange (a target dribbling its status line, headers
or body a byte at a time never trips a per-operation timeout, so a watchdog
shuts the connection down at the deadline); bodies read with a size cap; no
redirects followed (so credentials never reach another host); credentials
refused over plain HTTP unless the user allowed it; every exchange recorded
redacted and handed to the observer, which runs the response checks on it
whatever test sent it.
"""

from __future__ import annotations

import http.client
import json as jsonlib
import logging
import shlex
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3

from conformance.http.exchange import Exchange
from conformance.http.politeness import RETRIES, SharedPause, retry_after
from conformance.http.redact import MASK, Redactor
from conformance.http.transport import (
    CURRENT,
    STALE_RETRIES,
    WATCHDOG,
    Stale,
    Watch,
    WatchedAdapter,
    closed_unanswered,
)

UNSET: Any = object()
DEFAULT_CONNECTIONS = 8


class RequestCount:
    """Requests this process sent (every attempt), for the record: thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


_OBSERVING = threading.Lock()


class _NoHeaderParsingNoise(logging.Filter):
    """urllib3 logs a malformed response head (a hostile or echoing target's) with a full traceback; the suite
    judges that response itself, so the log line is noise in every report that shows captured logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Failed to parse headers")


logging.getLogger("urllib3.connection").addFilter(_NoHeaderParsingNoise())
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # sent again after a lost answer: they change nothing
DEFAULT_MAX_BODY = 2 * 1024 * 1024
# A body longer than the suite keeps is read on, and dropped, up to this many times that: one that ends by then
# was whole (a large listing: not judged by what the suite could not keep); one that does not never ended.
DRAIN = 8
_CHUNK = 64 * 1024


class TargetError(Exception):
    """The target could not be reached or did not answer in time (no verdict possible)."""


class InsecureTransport(Exception):
    """Refused to send credentials over plain HTTP."""


@dataclass(frozen=True)
class Credential:
    """An API key and the environment variable that names it in reproductions."""

    key: str = field(repr=False)  # never in a traceback's or log line's rendering of a Credential
    env_var: str

    @property
    def header(self) -> str:
        return f"Basic {self.key}"


@dataclass
class CreatedObject:
    path: str  # unversioned item path, e.g. /lists/cft1a2b3c0001
    version: int | None
    credential: Credential
    depth: int  # ancestors first when creating, so children are deleted first


@dataclass
class Ledger:
    """Every object the suite created, so all of them are deleted at the end.

    An object is the test's that created it unless it was claimed while ``keeping`` (what the run's tests
    share: parents, objects kept for later tests): :meth:`since` gives a finished test's own, which may go
    before the run ends."""

    prefix: str
    objects: dict[tuple[str, str], CreatedObject] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _order: dict[tuple[str, str], int] = field(default_factory=dict)
    _kept: set[tuple[str, str]] = field(default_factory=set)
    _claims: int = 0
    _keeping: threading.local = field(default_factory=threading.local)
    _here: threading.local = field(default_factory=threading.local)

    def claim(self, obj: CreatedObject) -> bool:
        """Remember ``obj`` before the write that may create it; ``True`` when it was not known yet."""
        with self.lock:
            key = (obj.credential.env_var, obj.path)
            if key in self.objects:
                return False
            self.objects[key] = obj
            self._claims += 1
            self._order[key] = self._claims
            if getattr(self._keeping, "depth", 0):
                self._kept.add(key)
            elif (bucket := getattr(self._here, "bucket", None)) is not None:
                bucket.append(obj)
            return True

    def discard(self, credential: Credential, path: str) -> None:
        with self.lock:
            key = (credential.env_var, path)
            self.objects.pop(key, None)
            self._order.pop(key, None)
            self._kept.discard(key)

    def pending(self) -> list[CreatedObject]:
        with self.lock:
            return sorted(self.objects.values(), key=lambda o: -o.depth)

    @contextmanager
    def keeping(self) -> Iterator[None]:
        """Objects this thread claims meanwhile are the run's, not the test's: kept until the end."""
        self._keeping.depth = getattr(self._keeping, "depth", 0) + 1
        try:
            yield
        finally:
            self._keeping.depth -= 1

    @contextmanager
    def claimed_here(self) -> Iterator[list[CreatedObject]]:
        """The objects this thread claims meanwhile that are not kept: one example's own, say."""
        bucket: list[CreatedObject] = []
        outer = getattr(self._here, "bucket", None)
        self._here.bucket = bucket
        try:
            yield bucket
        finally:
            self._here.bucket = outer

    def mark(self) -> int:
        """Where a test begins: :meth:`since` that mark gives what it claimed."""
        with self.lock:
            return self._claims

    def since(self, mark: int) -> list[CreatedObject]:
        """The objects claimed after ``mark``, still held and not kept, children first; never one with a kept
        object below it (a kept child's parent stays as long as the child)."""
        with self.lock:
            kept = [path for _, path in self._kept]
            own = [
                obj
                for key, obj in self.objects.items()
                if self._order.get(key, 0) > mark
                and key not in self._kept
                and not any(path.startswith(obj.path + "/") for path in kept)
            ]
        return sorted(own, key=lambda o: -o.depth)


def bare_session(proxy: str | None = None) -> requests.Session:
    """A session that takes nothing from the environment: no proxy variables (only ``proxy``, given), and no
    ``.netrc``, whose credentials requests would otherwise add to any request to a host it names (plain HTTP
    included)."""
    session = requests.Session()
    session.trust_env = False
    if proxy:
        session.proxies = {"http": proxy, "https": proxy}
    session.headers.update({"User-Agent": "conformance-suite", "Accept": "application/json"})
    return session


class Client:
    """Requests against the target, relative to its base URL.

    ``version`` picks the version and ``via`` how it is named: ``"path"`` puts
    ``/vN`` after the base URL, ``"header"`` sends ``X-Version: N``.
    """

    def __init__(
        self,
        base_url: str,
        credential: Credential | None,
        *,
        verify: bool | str = True,
        timeout: float = 10.0,
        allow_http: bool = False,
        redactor: Redactor | None = None,
        observer: Callable[[Exchange], None] | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        ledger: Ledger | None = None,
        pacer: Callable[[], None] | None = None,
        max_connections: int = DEFAULT_CONNECTIONS,
        pause: SharedPause | None = None,
        proxy: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credential = credential
        self.verify = verify
        self.timeout = timeout
        self.allow_http = allow_http
        self.redactor = redactor or Redactor([credential.key] if credential else [])
        self.observer = observer
        self.max_body = max_body
        self.ledger = ledger
        self.pacer = pacer
        self.pause = pause or SharedPause()  # shared with with_credential() copies
        self.max_connections = max_connections
        self.throttled: list[str] = []  # one entry per 429 retried; shared with with_credential() copies
        self.proxy = proxy
        self.session = bare_session(proxy)
        # A hard cap: a thread that finds every connection busy waits for one (--max-connections is a promise
        # to the vendor's staging server, shared by this process's threads and both keys' clients).
        adapter = WatchedAdapter(pool_connections=1, pool_maxsize=max_connections, pool_block=True, max_retries=0)
        self.sent = RequestCount()  # shared with with_credential() copies
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._adapter = adapter
        self._host = urlsplit(self.base_url).netloc

    @contextmanager
    def outside_pool(self) -> Iterator[requests.Session]:
        """A session of its own for a probe the pool must not serve (another scheme), built as the client's is,
        within the cap: one of the pool's slots is held empty while it is open."""
        with self.connection_set_aside(), bare_session(self.proxy) as session:
            yield session

    @contextmanager
    def connection_set_aside(self) -> Iterator[None]:
        """Room for one connection this client's pool does not make (a probe through another library or on
        another scheme): one of the pool's slots is held empty meanwhile, so what is open stays within the cap."""
        with self._adapter.slot_set_aside(self.base_url, self.verify, self.timeout, self.session.proxies):
            yield

    def with_credential(self, credential: Credential | None) -> Client:
        """A client sharing this one's pool, ledger and observer, with another key."""
        other = object.__new__(Client)
        other.__dict__.update(self.__dict__)
        other.credential = credential
        return other

    def url(self, path: str, version: int | None = None, via: str = "path") -> str:
        prefix = f"/v{version}" if version is not None and via == "path" else ""
        return self.base_url + prefix + path

    def request(
        self,
        method: str,
        path: str,
        *,
        version: int | None = None,
        via: str = "path",
        json: Any = UNSET,
        data: bytes | str | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Credential | str | None | Any = UNSET,
        resource: str | None = None,
        observe: bool = True,
    ) -> Exchange:
        """Send one request and return the recorded exchange.

        ``auth`` defaults to the client's credential; ``None`` sends no
        Authorization header; a string is sent verbatim as the header value.
        """
        url = self.url(path, version, via)
        if params:
            url += "?" + urlencode(params)
        send_headers: dict[str, str] = dict(headers or {})
        if version is not None and via == "header":
            send_headers["X-Version"] = str(version)
        credential = self.credential if auth is UNSET else auth
        if isinstance(credential, Credential):
            send_headers["Authorization"] = credential.header
        elif isinstance(credential, str):
            send_headers["Authorization"] = credential
        body: bytes | None = None
        if json is not UNSET:
            body = jsonlib.dumps(json).encode()
            send_headers.setdefault("Content-Type", "application/json")
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
            send_headers.setdefault("Content-Type", "application/json")
        if "Authorization" in send_headers and urlsplit(url).scheme != "https" and not self.allow_http:
            raise InsecureTransport(f"refusing to send credentials over plain HTTP to {url}")
        if urlsplit(url).netloc != self._host:
            raise InsecureTransport(f"refusing to send a request outside the target host: {url}")
        self.pause.wait()
        if self.pacer:
            self.pacer()
        exchange = self._send(method, url, send_headers, body, credential)
        for _ in range(RETRIES):  # a 429 is honoured (bounded); only one that persists is judged
            if exchange.status != 429:
                break
            self.throttled.append(f"{method} {self._safe(url)}")
            self.pause.pause(retry_after(_header(exchange.response_headers, "Retry-After")))  # every sender
            self.pause.wait()
            if self.pacer:
                self.pacer()
            exchange = self._send(method, url, send_headers, body, credential)
        exchange.resource = resource
        exchange.version = version
        if observe and self.observer:
            with _OBSERVING:  # tests may send from several threads; the checks and their capture are not shared-safe
                self.observer(exchange)
        return exchange

    def _send(self, method: str, url: str, headers: dict[str, str], body: bytes | None, credential: Any) -> Exchange:
        """One exchange, sent again on a fresh connection when a kept-alive one turned out closed: always when
        the request was not written whole or cannot change anything (GET), never for a write the target may
        have received (its answer is lost, and repeating it is what the suite tests, not what it assumes)."""
        for attempt in range(STALE_RETRIES + 1):
            try:
                return self._send_once(method, url, headers, body, credential)
            except Stale as stale:
                if attempt == STALE_RETRIES or (stale.sent and method not in SAFE_METHODS):
                    raise TargetError(stale.message(method not in SAFE_METHODS)) from None
                if self.pacer:
                    self.pacer()
        raise AssertionError("unreachable")

    def _send_once(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, credential: Any
    ) -> Exchange:
        started = time.monotonic()
        self.sent.add()
        watch = Watch(started + self.timeout * 3)
        CURRENT.watch = watch
        WATCHDOG.add(watch)
        try:
            return self._exchange(method, url, headers, body, credential, started, watch)
        finally:
            WATCHDOG.remove(watch)
            watch.detach()
            CURRENT.watch = None

    def _exchange(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        credential: Any,
        started: float,
        watch: Watch,
    ) -> Exchange:
        deadline = watch.deadline
        late = f"{method} {self._safe(url)}: no complete response after {self.timeout * 3:g} s"
        try:
            resp = self.session.request(
                method,
                url,
                headers=headers,
                data=body,
                timeout=(self.timeout, self.timeout),
                verify=self.verify,
                allow_redirects=False,
                stream=True,
            )
        except requests.exceptions.RequestException as exc:
            if not watch.expired and watch.reused and closed_unanswered(exc):
                raise Stale(f"{method} {self._safe(url)}", watch.sent, _reason(exc)) from None
            raise self._failure(exc, method, url, watch, late) from None
        chunks: list[bytes] = []
        size = 0
        truncated = False
        try:
            for chunk in resp.raw.stream(_CHUNK, decode_content=True):
                if size <= self.max_body:
                    chunks.append(chunk)
                size += len(chunk)
                if size > self.max_body * DRAIN:  # past the cap it reads on, keeping nothing: does the body end?
                    truncated = True
                    break
                if time.monotonic() > deadline:
                    raise TargetError(late)
        except _BROKEN_BODY as exc:  # only the transport's errors: a bug of the suite's own is never the target's
            if watch.expired:
                raise TargetError(late) from None
            if not chunks:
                raise TargetError(f"{method} {self._safe(url)}: reading the response failed: {_reason(exc)}") from None
            truncated = True
        finally:
            resp.close()
            watch.detach()  # the connection may serve another exchange now
        if watch.expired:  # the cut came as a clean end of the body: what arrived is not the response
            raise TargetError(late)
        raw_body = b"".join(chunks)[: self.max_body]
        r = self.redactor
        sent = {k: self._mask_auth(k, v, credential) for k, v in headers.items()}
        return Exchange(
            method=method,
            url=r.text(url),
            request_headers=sent,
            request_body=r.bytes(body) if body is not None else None,
            status=resp.status_code,
            response_headers={r.text(k): r.text(v) for k, v in resp.headers.items()},
            response_body=r.bytes(raw_body),
            truncated=truncated,
            oversized=not truncated and size > self.max_body,
            elapsed=time.monotonic() - started,
            curl=self.curl(method, url, sent, body),
            authenticated=isinstance(credential, Credential),
        )

    def _failure(self, exc: Exception, method: str, url: str, watch: Watch, late: str) -> TargetError:
        if watch.expired:
            return TargetError(late)
        if isinstance(exc, requests.exceptions.ProxyError):
            text = str(exc)
            why = text[text.index("Tunnel connection failed") :] if "Tunnel connection failed" in text else _reason(exc)
            return TargetError(f"{method} {self._safe(url)}: the proxy did not pass it on: {_reason(Exception(why))}")
        if isinstance(exc, requests.exceptions.SSLError):
            return TargetError(f"TLS handshake with {self._host} failed: {_reason(exc)}")
        if isinstance(exc, requests.exceptions.Timeout):
            return TargetError(f"{method} {self._safe(url)} timed out after {self.timeout:g} s")
        return TargetError(f"{method} {self._safe(url)} failed: {_reason(exc)}")

    def _mask_auth(self, name: str, value: str, credential: Any) -> str:
        if name.lower() != "authorization":
            return self.redactor.text(value)
        if isinstance(credential, Credential):
            return f"Basic ${credential.env_var}"
        return self.redactor.text(value)

    def _safe(self, url: str) -> str:
        return self.redactor.text(url)

    def curl(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> str:
        """A shell line that repeats the request; keys appear only as ``$VARIABLE``."""
        parts = ["curl", "-sS", "-X", method, shlex.quote(self.redactor.text(url))]
        if self.verify is False:
            parts.insert(2, "-k")
        elif isinstance(self.verify, str):
            parts[2:2] = ["--cacert", shlex.quote(self.verify)]
        if self.proxy:  # one with a password is named by its variable, as keys are
            shown = '"$CONFORMANCE_PROXY"' if urlsplit(self.proxy).password else shlex.quote(self.proxy)
            parts[2:2] = ["--proxy", shown]
        for name, value in headers.items():
            line = f"{name}: {value}"
            if "$" in value and name.lower() == "authorization":
                parts += ["-H", f'"{line}"']  # let the shell expand the key variable
            else:
                parts += ["-H", shlex.quote(self.redactor.text(line))]
        if body is not None:
            text = self.redactor.text(body.decode("utf-8", errors="replace"))
            parts += ["--data-raw", shlex.quote(text)]
        return " ".join(parts).replace(MASK, "$CONFORMANCE_API_KEY")


# What reading a body can raise when the target (or the network) breaks it off or garbles it: urllib3's errors
# (a reset mid-body, a bad chunk, undecodable compression), http.client's, socket errors, and the ValueError of
# http.client's chunk-size parser. Anything else comes from the suite and is the suite's error, never evidence.
_BROKEN_BODY = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
    ValueError,
)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def _reason(exc: BaseException) -> str:
    """The innermost useful message of a requests/urllib3 error, on one line."""
    text = str(exc)
    for marker in ("Caused by ", "NewConnectionError(", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return " ".join(text.replace("'", "").replace('"', "").split())[:200].rstrip(")")

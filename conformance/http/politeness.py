"""Politeness towards a shared target: a request-rate cap and bounded respect for
``429 Too Many Requests`` / ``Retry-After``.

The cap is split evenly across xdist workers, so ``--max-rps N`` holds for the run.
A 429 is retried after the delay the target asks for (at most ``MAX_WAIT`` seconds,
``RETRIES`` times); only a 429 that persists reaches the check layer, where it is a
status outside the table (STATUS-1). The delay holds every sender of the run, not only
the thread that got the 429 (:class:`SharedPause`): the target asked the client to slow down.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_WAIT = 30.0
RETRIES = 3
DEFAULT_WAIT = 1.0


class RateLimiter:
    """Spaces calls at least ``1 / rps`` seconds apart (thread-safe)."""

    def __init__(self, rps: float, sleep=time.sleep, clock=time.monotonic) -> None:
        self.interval = 1.0 / rps
        self._sleep, self._clock = sleep, clock
        self._next = clock()
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            now = self._clock()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            self._sleep(wait)


class SharedPause:
    """A pause every sender of the run honours before its next request: this process's threads through memory,
    the other workers through a file holding the instant the pause ends (checked by its modification time, so a
    request costs one ``stat``)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, sleep=time.sleep, clock=time.time) -> None:
        self.path = path
        self._sleep, self._clock = sleep, clock
        self._until = 0.0
        self._seen: int | None = None  # the file's modification time when last read
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        until = self._clock() + seconds
        with self._lock:
            self._until = max(self._until, until)
            if self.path is not None:
                tmp = f"{os.fspath(self.path)}.{os.getpid()}.{threading.get_ident()}"
                try:
                    with open(tmp, "w") as f:
                        f.write(repr(self._until))
                    os.replace(tmp, self.path)
                except OSError:
                    pass  # the other workers then pause on their own 429s

    def wait(self) -> None:
        with self._lock:
            self._read_shared()
            remaining = self._until - self._clock()
        if remaining > 0:
            self._sleep(remaining)

    def _read_shared(self) -> None:
        if self.path is None:
            return
        try:
            stamp = os.stat(self.path).st_mtime_ns
            if stamp == self._seen:
                return
            with open(self.path) as f:
                until = float(f.read())
        except (OSError, ValueError):
            return
        self._seen = stamp
        self._until = max(self._until, until)


def per_worker_rps(max_rps: float, workers: int) -> float:
    return max_rps / max(1, workers)


def retry_after(value: str | None, now: datetime | None = None) -> float:
    """Seconds to wait for a ``Retry-After`` header (delta-seconds or HTTP-date), bounded."""
    if not value:
        return DEFAULT_WAIT
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_WAIT)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_WAIT
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(delta, 0.0), MAX_WAIT)

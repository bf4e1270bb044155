"""A finished test's own objects deleted in the background while the next test runs, against a far target.

Across a network the end-of-run cleanup is a phase of its own: hundreds of DELETEs, a round trip each, after
the last test. Most objects belong to one test and nothing needs them once it ends, so a worker hands them
over here when the test ends and a thread deletes them (children first) on a connection the next test
leaves idle; what the run's tests share stays for the end (:meth:`conformance.http.client.Ledger.keeping`).
An object this thread could not delete stays in the ledger, and the end-of-run cleanup tries it again and
reports it if it stays. Near targets are CPU-bound: there the cleanup stays at the end.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from conformance.http.client import CreatedObject


class Reaper:
    """Deletes handed-over objects in order on one daemon thread, started with the first hand-over."""

    def __init__(self, remove: Callable[[CreatedObject], str | None]) -> None:
        self._remove = remove  # None: deleted (or already gone); else why it stayed
        self._queue: queue.SimpleQueue[list[CreatedObject] | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.deleted = 0

    def hand(self, objects: list[CreatedObject]) -> None:
        """Delete ``objects`` (children first) once those handed before them are done."""
        if not objects or self._stopping.is_set():
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="conformance-reaper", daemon=True)
                self._thread.start()
        self._queue.put(objects)

    def stop(self, timeout: float) -> int:
        """Stop after the delete in flight (what is still queued stays in the ledger for the end-of-run
        cleanup); how many objects this thread deleted."""
        self._stopping.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
        return self.deleted

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            for obj in batch:
                if self._stopping.is_set():
                    return
                try:
                    gone = self._remove(obj) is None
                except Exception:  # noqa: BLE001 - the object stays in the ledger; the end-of-run cleanup retries it
                    gone = False
                self.deleted += gone

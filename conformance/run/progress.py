"""A long run's progress on the terminal: tests done out of the total, requests per second, time left.

Across a network a standard run takes a minute or more, and pytest's dots say nothing of how far it is or how
fast the target answers. Every :data:`EVERY` seconds (none in a run shorter than that) the controller writes one
line, from the results as they arrive: a CI log gets a line it can read, not a redrawn one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from conformance.run import workers

EVERY = 10.0  # seconds between two progress lines (CONFORMANCE_PROGRESS_EVERY; 0: none)


class Progress:
    """Counts finished tests and the requests they made (the check layer saw each), and reports them."""

    def __init__(self, write: Callable[[str], None], every: float = EVERY, clock: Callable[[], float] = time.monotonic):
        self.write, self.every, self.clock = write, every, clock
        self.started = self.last = clock()
        self.total = 0
        self.done = 0
        self.requests = 0

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = max(self.total, len(session.items))

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.total = max(self.total, len(ids))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            self.done += 1
            self.requests += _exchanges(report)
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self.write(self.line(now))

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.requests / elapsed
        text = f"progress: {self.done}/{self.total or '?'} tests, {self.requests:,} requests ({rate:.0f}/s)"
        if 0 < self.done < self.total:
            text += f", about {_duration(elapsed * (self.total - self.done) / self.done)} left"
        return text


def progress_interval(environ: Mapping[str, str]) -> float:
    """``CONFORMANCE_PROGRESS_EVERY`` seconds (0 turns the lines off), else :data:`EVERY`."""
    try:
        return max(0.0, float(environ.get("CONFORMANCE_PROGRESS_EVERY", EVERY)))
    except ValueError:
        return EVERY


def _exchanges(report: pytest.TestReport) -> int:
    wire = getattr(report, "conformance", None)
    if not wire:
        return 0
    try:
        capture = workers.from_wire(wire).get("capture") or {}
        return int(capture.get("exchanges", 0))
    except (ValueError, TypeError, AttributeError):
        return 0


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"

"""The live progress line of a long run (``run/progress.py``): tests done out of the total, requests per second
from the check layer's count of each test's exchanges, time left; nothing in a run shorter than the interval."""

from __future__ import annotations

from types import SimpleNamespace

from conformance.run import workers
from conformance.run.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _teardown(exchanges: int) -> SimpleNamespace:
    return SimpleNamespace(when="teardown", conformance=workers.to_wire({"capture": {"exchanges": exchanges}}))


def test_a_line_every_interval_with_counts_rate_and_time_left():
    lines: list[str] = []
    clock = Clock()
    progress = Progress(lines.append, every=10.0, clock=clock)
    progress.pytest_xdist_node_collection_finished(None, [f"t{n}" for n in range(40)])
    for _ in range(9):
        clock.now += 1
        progress.pytest_runtest_logreport(SimpleNamespace(when="call", conformance=None))
        progress.pytest_runtest_logreport(_teardown(20))
    assert lines == []  # 9 s into the run: nothing yet
    clock.now += 1
    progress.pytest_runtest_logreport(_teardown(20))
    assert lines == ["progress: 10/40 tests, 200 requests (20/s), about 30 s left"]
    clock.now += 5
    progress.pytest_runtest_logreport(_teardown(0))
    assert len(lines) == 1  # the next one only after another interval


def test_a_result_without_a_capture_counts_as_a_test_without_requests():
    lines: list[str] = []
    clock = Clock()
    progress = Progress(lines.append, every=1.0, clock=clock)
    progress.pytest_collection_finish(SimpleNamespace(items=[1, 2]))
    clock.now += 2
    progress.pytest_runtest_logreport(SimpleNamespace(when="teardown", conformance="not the wire format"))
    assert lines == ["progress: 1/2 tests, 0 requests (0/s), about 2 s left"]

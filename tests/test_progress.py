"""The live progress line of a long run (``run/progress.py``): tests done out of the total, requests per second
from the check layer's count of each test's exchanges, time left; nothing in a run shorter than the interval."""

from __future__ import annotations

from types import SimpleNamespace

from conformance.run import workers
from conformance.run.progress import EVERY, Progress, progress_interval


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


def test_a_real_run_prints_its_progress(certify):
    """Through the plugin, in a run of the suite (every half second here; 10 s by default): the lines reach the
    terminal, with the collected total; with 0 there are none."""
    args = ("--profile", "smoke", "--clause", "IDEM-1", "--", "-k", "not fuzz")
    run = certify(args=args, env={"CONFORMANCE_PROGRESS_EVERY": "0.5"})
    assert run.code == 0, run.stdout[-3000:]
    lines = [line for line in run.stdout.splitlines() if line.startswith("progress: ")]
    total = sum(1 for t in run.record["tests"] if not t["nodeid"].startswith("run::"))  # not the run's own checks
    assert lines and all(f"/{total} tests, " in line and " requests (" in line for line in lines), run.stdout[-3000:]
    quiet = certify(args=args, env={"CONFORMANCE_PROGRESS_EVERY": "0"})
    assert "progress: " not in quiet.stdout


def test_the_interval_comes_from_the_environment():
    assert progress_interval({}) == EVERY
    assert progress_interval({"CONFORMANCE_PROGRESS_EVERY": "2.5"}) == 2.5
    assert progress_interval({"CONFORMANCE_PROGRESS_EVERY": "soon"}) == EVERY

"""--max-rps and Retry-After: the arithmetic, without sleeping for real."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from conformance.http.politeness import MAX_WAIT, RateLimiter, per_worker_rps, retry_after


def test_rate_limiter_spaces_calls():
    clock = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock[0] += s

    limiter = RateLimiter(4.0, sleep=sleep, clock=lambda: clock[0])
    for _ in range(5):
        limiter()
    assert slept == [0.25, 0.25, 0.25, 0.25]  # the first call goes at once; then one every 1/4 s


def test_rate_is_split_across_workers():
    assert per_worker_rps(10, 4) == 2.5 and per_worker_rps(10, 0) == 10


def test_retry_after_forms_are_bounded():
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert retry_after("2") == 2.0
    assert retry_after("86400") == MAX_WAIT
    assert retry_after(format_datetime(now + timedelta(seconds=5), usegmt=True), now) == 5.0
    assert retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0.0
    assert retry_after(None) == retry_after("soon") == 1.0


def test_a_429_pauses_every_sender_of_the_run(tmp_path):
    """One thread's 429 holds the others, in this process and, through the shared file, in the other workers."""
    from conformance.http.politeness import SharedPause

    now = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        now[0] += seconds

    path = tmp_path / "pause"
    mine = SharedPause(path, sleep=sleep, clock=lambda: now[0])
    other_worker = SharedPause(path, sleep=sleep, clock=lambda: now[0])
    mine.wait()
    other_worker.wait()
    assert slept == []  # no 429 yet: nobody waits
    mine.pause(2.0)  # a Retry-After: 2 seen by one thread of one worker
    other_worker.wait()
    mine.wait()  # the clock moved on while the other waited: nothing left
    assert slept == [2.0]
    in_memory = SharedPause(None, sleep=sleep, clock=lambda: now[0])
    in_memory.pause(1.5)
    in_memory.wait()
    assert slept == [2.0, 1.5]

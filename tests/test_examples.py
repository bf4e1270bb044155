"""A property's examples in flight together (``suite/_support/examples.py``, issue 19).

Against a far target the examples of a property are drawn first and judged several at once. These tests hold
that to what a one-at-a-time run does: the same examples for one seed, the same shrunk failure, lanes that never
overlap, and a failure seen only while examples overlapped is still reported. The checks here are plain
functions of the example (no HTTP): what is under test is the scheduling, not a target.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from conformance.suite._support.examples import for_each_example
from conformance.suite._support.target import NoAcceptedBody, discard

NEAR = SimpleNamespace(rtt_ms=1.0, client=SimpleNamespace(max_connections=8))
FAR = SimpleNamespace(rtt_ms=40.0, client=SimpleNamespace(max_connections=8))


@pytest.fixture(autouse=True)
def derandomized():
    """One seed for every property of the test, no example database: what the run's own settings give."""
    settings.register_profile(
        "test-examples", derandomize=True, database=None, max_examples=25, suppress_health_check=list(HealthCheck)
    )
    previous = settings.get_current_profile_name()
    settings.load_profile("test-examples")
    yield
    settings.load_profile(previous)


class Overlap:
    """Counts the checks running at once (the most seen), per lane."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: dict[object, int] = {}
        self.most: dict[object, int] = {}

    def __call__(self, lane: object = None):
        overlap = self

        class _In:
            def __enter__(self) -> None:
                with overlap.lock:
                    overlap.now[lane] = overlap.now.get(lane, 0) + 1
                    overlap.most[lane] = max(overlap.most.get(lane, 0), overlap.now[lane])

            def __exit__(self, *exc: object) -> None:
                with overlap.lock:
                    overlap.now[lane] -= 1

        return _In()


def _seen(target) -> list[int]:
    seen: list[int] = []
    lock = threading.Lock()

    def check(value: int) -> None:
        time.sleep(0.002)
        with lock:
            seen.append(value)

    for_each_example(target, st.integers(0, 10_000), check)
    return seen


def test_the_same_examples_whatever_the_concurrency():
    near, far = _seen(NEAR), _seen(FAR)
    assert len(near) > 5
    assert sorted(near) == sorted(far)


def test_far_examples_overlap_and_near_ones_do_not():
    for target, overlapping in ((NEAR, False), (FAR, True)):
        overlap = Overlap()

        def check(value: int, overlap: Overlap = overlap) -> None:
            with overlap():
                time.sleep(0.01)

        for_each_example(target, st.integers(0, 10_000), check)
        assert (overlap.most[None] > 1) is overlapping, target
        assert overlap.most[None] <= target.client.max_connections


@pytest.mark.parametrize("target", [NEAR, FAR], ids=["near", "far"])
def test_a_failure_is_replayed_alone_and_shrunk(target):
    """The failing example reported is hypothesis' minimal one, near or far."""

    def check(value: int) -> None:
        if value >= 1000:
            raise AssertionError(f"too big: {value}")

    with pytest.raises(AssertionError) as failed:
        for_each_example(target, st.integers(0, 10_000), check)
    assert failed.value.args == ("too big: 1000",)


def test_lanes_never_overlap():
    overlap = Overlap()

    def check(value: int) -> None:
        with overlap(value % 2 == 0 or None):
            time.sleep(0.005)

    for_each_example(FAR, st.integers(0, 10_000), check, lane=lambda value: "shared" if value % 2 == 0 else None)
    assert overlap.most.get(True, 0) == 1  # the even examples share one object: one after another
    assert overlap.most.get(None, 0) > 1


def test_a_failure_seen_only_while_overlapping_is_reported():
    """What the target did while examples ran together stands, though a one-at-a-time replay passes."""
    overlap = Overlap()

    def check(value: int) -> None:
        with overlap():
            time.sleep(0.01)
            if overlap.now[None] > 1:
                raise AssertionError("answered 500 while another request was in flight")

    for_each_example(NEAR, st.integers(0, 10_000), check)  # one at a time: nothing to see
    with pytest.raises(AssertionError, match="while another request"):
        for_each_example(FAR, st.integers(0, 10_000), check)


def test_the_stateful_sequences_split_into_even_shards():
    from conformance.suite._support.examples import SHARDS, sequences, shards

    assert [shards(sequences(n)) for n in (4, 15, 60)] == [[1, 1], [2, 1, 1, 1], [5, 5, 5, 5]]
    for total in range(1, 50):
        split = shards(total)
        assert sum(split) == total and min(split) >= 1 and len(split) <= SHARDS
        assert max(split) - min(split) <= 1


def test_refused_examples_are_replaced_as_hypothesis_replaces_rejected_ones():
    """An example the target refuses by its own rule is not judged; others are drawn in its place, so a target
    that refuses many still gets (about) the examples the profile asks for."""
    judged: list[int] = []

    def check(value: int) -> None:
        if value % 3:
            raise NoAcceptedBody("refused by the target's own rule")
        judged.append(value)

    for_each_example(FAR, st.integers(0, 10_000), check)
    assert judged and all(v % 3 == 0 for v in judged)  # skipped like hypothesis rejections
    assert len(judged) >= 15  # of 25 wanted; without replacements a third of 25


def test_what_was_seen_stands_when_the_replay_ends_otherwise():
    """The replay alone, under hypothesis, can end on something else than the failure it replays (here the
    target's refusals run out the suite's patience first): the failure seen stays the verdict, not an error."""
    refusals = [0]

    def check(value: int) -> None:
        if value % 7 == 3:
            raise AssertionError("violation seen")
        refusals[0] += 1
        if refusals[0] > 5:
            raise NoAcceptedBody("none accepted: the suite gives up on this resource")
        discard("refused by the target's own rule")

    with pytest.raises(AssertionError, match="violation seen"):
        for_each_example(NEAR, st.integers(0, 10_000), check)

"""A property's examples, sent together against a far target; the stateful model's sequences, split into shards.

Hypothesis runs a test's examples one after another, so across a network each example waits out its chain of
round trips before the next begins. Where a test's examples touch only objects of their own (fresh ids),
nothing orders them: :func:`for_each_example` draws them first (hypothesis, with the run's seed and settings,
no request sent), then judges them up to :func:`~conformance.suite._support.together.in_flight` at once.

A failure is then replayed the usual way, one example at a time under hypothesis, so what is reported is the
shrunk example with its evidence, as before. A near target judges the drawn examples one at a time: the same
examples, so one seed gives the same examples and verdicts whatever the concurrency. A failure seen only while
examples ran together, and not when replayed alone, is reported as it was seen: it is what the target did.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from hypothesis import given, settings
from hypothesis.errors import UnsatisfiedAssumption

from conformance._compat import hypothesis_database_key
from conformance.suite._support.target import NoAcceptedBody
from conformance.suite._support.together import in_flight

T = TypeVar("T")


def for_each_example(
    target: Any,
    strategy: Any,
    check: Callable[[T], None],
    *,
    max_examples: int | None = None,
    lane: Callable[[T], Hashable | None] | None = None,
) -> None:
    """Run ``check`` on the examples of ``strategy``, as ``@given`` would, with independent examples in flight
    together when the target is far.

    ``lane`` names examples that must not overlap (they share an object): those with the same lane run one
    after another, in the order drawn."""
    sink: list[Callable[[T], None]] = [check]

    @given(strategy)
    def prop(value: T) -> None:
        sink[0](value)

    if max_examples is not None:
        prop = settings(max_examples=max_examples)(prop)
    hypothesis_database_key(prop, _test_id())

    drawn: list[T] = []
    sink[0] = drawn.append
    prop()
    failure = _judge(target, drawn, check, lane)
    if failure is None:
        return
    sink[0] = check
    prop()  # one at a time, as hypothesis runs a property: the failure it finds is shrunk and reported
    if not isinstance(failure, _NothingJudged):
        raise failure  # not seen again alone: what the target did while examples ran together stands


def _judge(
    target: Any, drawn: list[T], check: Callable[[T], None], lane: Callable[[T], Hashable | None] | None
) -> BaseException | None:
    """The first failure among ``drawn`` (in the order drawn), or ``None`` when every example passed. An
    example the target would not take (a discarded body) is skipped, as hypothesis skips it; when none was
    taken, hypothesis' own run has to say what that means (:class:`_NothingJudged`)."""
    groups: dict[Hashable, list[tuple[int, T]]] = {}
    for n, value in enumerate(drawn):
        key = lane(value) if lane is not None else None
        groups.setdefault(("own", n) if key is None else ("lane", key), []).append((n, value))
    failures: dict[int, BaseException] = {}
    judged: list[int] = []
    stop = threading.Event()

    def run(values: list[tuple[int, T]]) -> None:
        for n, value in values:
            if stop.is_set():
                return
            try:
                check(value)
            except (NoAcceptedBody, UnsatisfiedAssumption):
                continue
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # a violation, a skip, a crash: hypothesis' replay says which
                failures[n] = exc
                stop.set()
                return
            judged.append(n)

    tasks = list(groups.values())
    width = min(in_flight(target), len(tasks))
    if width <= 1:
        for values in tasks:
            run(values)
    else:
        with ThreadPoolExecutor(width, thread_name_prefix="conformance-examples") as pool:
            try:
                for future in [pool.submit(run, values) for values in tasks]:
                    future.result()
            except BaseException:
                stop.set()
                raise
    if failures:
        return failures[min(failures)]
    return None if judged or not drawn else _NothingJudged()


class _NothingJudged(Exception):
    """Every example drawn was one the target would not take: hypothesis' own run draws more, or says the
    property could not be tested."""


def _test_id() -> str:
    """The running test's node id (pytest sets it for every phase): the database key of its property."""
    current = os.environ.get("PYTEST_CURRENT_TEST", "")
    return current.rsplit(" (", 1)[0] or "conformance"


SHARDS = 4  # at most: a certification run's 20 sequences per resource are 4 tests of 5


def sequences(examples: int) -> int:
    """How many sequences the stateful model runs per resource: a third of the profile's examples (a sequence is
    many steps)."""
    return max(2, examples // 3)


def shards(total: int) -> list[int]:
    """``total`` sequences split into at most :data:`SHARDS` shards as even as can be, none empty."""
    count = min(SHARDS, total)
    return [total // count + (1 if n < total % count else 0) for n in range(count)]

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
import sys
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
    tidy: bool = False,
) -> None:
    """Run ``check`` on the examples of ``strategy``, as ``@given`` would, with independent examples in flight
    together when the target is far.

    ``lane`` names examples that must not overlap (they share an object): those with the same lane run one
    after another, in the order drawn. ``tidy``: each example's own objects are deleted as it ends, so what
    the vendor keeps unique within an organization (a name, an address) is free again for the next example
    (generated values repeat: a shrinker's favourites); such examples run one after another, as the objects
    that a refused write's probes make would otherwise refuse another example's write meanwhile."""
    key = _test_id()
    if tidy:
        check = _tidied(target, check)
        lane = _one_lane  # in flight together, examples would hold each other's unique values while judged

    def prop(body: Callable[[T], None], count: int | None) -> Callable[[], None]:
        @given(strategy)
        def run(value: T) -> None:
            body(value)

        if count is not None:
            run = settings(max_examples=count)(run)
        hypothesis_database_key(run, key)  # the same for every prop of this test: one source, one key
        return run

    def draw(count: int) -> list[T]:
        drawn: list[T] = []
        prop(drawn.append, count)()
        return drawn

    wanted = max_examples if max_examples is not None else settings().max_examples
    judged, failure, seen, count = 0, None, set[str](), wanted
    while failure is None and judged < wanted and count <= wanted * MORE_DRAWS:
        fresh = [value for value in draw(count) if repr(value) not in seen]  # an example the target refused is
        if not fresh:  # replaced by another, as hypothesis replaces a rejected one
            break
        seen.update(repr(value) for value in fresh)
        done, failure = _judge(target, fresh, check, lane)
        judged += done
        count += wanted - judged
    if failure is None and judged:
        return
    try:
        prop(check, max_examples)()  # one at a time, as hypothesis runs a property: the failure is shrunk
    except Exception as replayed:
        if failure is None or isinstance(replayed, type(failure)):
            raise
        raise failure from None  # the replay ended otherwise (the target's discards ran out): what was seen stands
    if failure is not None:
        raise failure  # not seen again alone: what the target did while examples ran together stands


def _one_lane(value: Any) -> str:
    return "tidy"


def _tidied(target: Any, check: Callable[[T], None]) -> Callable[[T], None]:
    def run(value: T) -> None:
        with target.ledger.claimed_here() as made:
            try:
                check(value)
            finally:
                if not isinstance(sys.exc_info()[1], KeyboardInterrupt | SystemExit):
                    target.remove_paths(obj.path for obj in made)  # a delete that fails leaves it to the cleanup

    return run


MORE_DRAWS = 3  # examples drawn at most, as a multiple of those wanted, to replace ones the target refused


def _judge(
    target: Any, drawn: list[T], check: Callable[[T], None], lane: Callable[[T], Hashable | None] | None
) -> tuple[int, BaseException | None]:
    """How many of ``drawn`` were judged, and the first failure among them (in the order drawn) or ``None``. An
    example the target would not take (a discarded body) is not judged, as hypothesis does not count it."""
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
        return len(judged), failures[min(failures)]
    return len(judged), None


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

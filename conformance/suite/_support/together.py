"""Independent requests of one test sent together, when the target is far enough for it to pay.

Across a network a test waits a round trip per request; requests that do not depend on each other (the AUTH
matrix of operations and credentials, the unknown-version probes, a property's examples, cleanup) can be in
flight at once, up to the connections this process may open (``--max-connections`` shared among the workers).
Answers come back in the order of the calls and are judged in that order, so the first violation reported is
the one a one-at-a-time run reports. Near targets (loopback) are sent one at a time: there the threads would
cost more than the wait.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from conformance.run.config import REMOTE_RTT_MS

T = TypeVar("T")


def in_flight(target: Any) -> int:
    """How many requests this test may have in flight at once: 1 for a near target."""
    rtt = getattr(target, "rtt_ms", None)
    if rtt is None or rtt < REMOTE_RTT_MS:
        return 1
    return max(1, int(getattr(target.client, "max_connections", 1)))


def together(target: Any, calls: Sequence[Callable[[], T]]) -> list[T]:
    """Each of ``calls`` run, up to :func:`in_flight` at once; their results in the order of ``calls``."""
    width = min(in_flight(target), len(calls))
    if width <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(width, thread_name_prefix="conformance-together") as pool:
        return list(pool.map(lambda call: call(), calls))

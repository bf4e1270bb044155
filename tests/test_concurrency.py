"""The overlapping-request tests' machinery: the pacer and the client shared by threads."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from conformance.http.client import Client, Credential
from conformance.http.politeness import RateLimiter
from conformance.suite.test_concurrency import IN_FLIGHT, _at_once


def test_the_pacer_spaces_calls_from_threads():
    """--max-rps holds when a test sends from several threads: each call takes its own slot."""
    limiter = RateLimiter(50.0)
    times: list[float] = []
    lock = threading.Lock()

    def call(_: int) -> None:
        limiter()
        with lock:
            times.append(time.monotonic())

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(call, range(12)))
    assert max(times) - min(times) >= 11 * 0.02 * 0.9  # 12 calls at 50 per second: 11 intervals at least


def test_overlapping_requests_are_each_observed(reference_server):
    """Every answer reaches the check layer once, whichever thread received it."""
    handle = reference_server()
    seen: list[int] = []
    client = Client(
        handle.base_url, Credential(handle.keys[0], "K"), verify=handle.ca_bundle, observer=lambda ex: seen.append(1)
    )
    answers = _at_once(lambda: client.request("PUT", "/mailing_lists/together", json={"name": "n"}))
    assert len(answers) == IN_FLIGHT and all(a.status in (200, 201) for a in answers)
    assert [a.status for a in answers].count(201) == 1  # one created it; the others updated it
    assert len(seen) == IN_FLIGHT

"""IDEM-1, IDEM-2 and IDEM-6 when identical requests overlap.

Idempotency matters most when a client retries before the first answer came: a server that looks an id up
and then inserts or deletes without a lock passes every test sent one request at a time, and under overlap
creates the object twice or answers the losers 404, 409 or 500. Each test sends the same request several
times at once, for a few rounds, through the run's client (its pacer holds ``--max-rps`` across threads).
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.checks.success import is_success
from conformance.http.client import CreatedObject
from conformance.http.exchange import Exchange
from conformance.model.strategies import full_body, minimal_body
from conformance.suite._support.asserts import assert_error, assert_ok, diff_states, same_written, writable_state
from conformance.suite._support.listing import INCONCLUSIVE, look_for
from conformance.suite._support.target import SetupFailed
from conformance.verdicts.notes import record_note
from conformance.verdicts.violation import expect

IN_FLIGHT = 5  # identical requests at once
ROUNDS = 3
LINE_UP = 10.0  # seconds the threads wait for each other before sending anyway


def _at_once(send, n: int = IN_FLIGHT) -> list[Exchange]:
    """``n`` calls of ``send`` released together (a barrier lines the threads up); answers in call order."""
    barrier = threading.Barrier(n)

    def one(_: int) -> Exchange:
        with contextlib.suppress(threading.BrokenBarrierError):  # a slow start: overlap is hoped for, not judged
            barrier.wait(LINE_UP)
        return send()

    with ThreadPoolExecutor(n, thread_name_prefix="conformance-overlap") as pool:
        return list(pool.map(one, range(n)))


def _accepted_body(target, resource, version, parents) -> tuple[dict, dict | None]:
    """A body the target accepts one at a time, and the object it stored from it then (its writable state; None
    when it cannot be read): overlap is judged here, not the vendor's own validation rules (ambiguity 15), nor
    how it reads back a write made alone (IDEM-4's). That object is freed once read (:meth:`Target.free`)."""
    for body in (full_body(resource, version), minimal_body(resource, version)):
        path, _ = target.fresh_path(resource, version, parents)
        if is_success(target.write(resource, path, body, version=version).status):
            got = target.get(resource, path, version=version)
            alone = writable_state(resource, version, got.data) if isinstance(got.data, dict) else None
            target.free(resource, path, version)
            return body, alone
    raise SetupFailed(f"the target accepted no {resource.name} body to write concurrently")


def _identical_writes(target, resource, request, method: str, clause: str) -> None:
    version = target.version_for(resource)
    parents = target.ancestors(resource, version)  # a parent of its own: its child collection is this test's
    body, alone = _accepted_body(target, resource, version, parents)
    client = target.client
    for n in range(1, ROUNDS + 1):
        path, _ = target.fresh_path(resource, version, parents)
        answers = _at_once(lambda path=path: target.write(resource, path, body, method=method, version=version))
        # a write that failed first may have forgotten what another created
        if any(is_success(ex.status) for ex in answers):
            target.ledger.claim(CreatedObject(path, version, client.credential, len(resource.chain())))
        what = f"round {n}: one of {IN_FLIGHT} identical {method}s sent at once to a new id"
        for ex in answers:
            expect(is_success(ex.status), clause, f"{what} got HTTP {ex.status} {_error(ex)}; each must succeed", ex)
        got = target.get(resource, path, version=version)
        stored = assert_ok(got, clause, f"round {n}: GET after {IN_FLIGHT} identical {method}s at once")
        if alone is not None:  # as the same body written alone was stored
            diffs = diff_states(alone, writable_state(resource, version, stored))
            differs = "the same body written alone"
        else:
            diffs, differs = same_written(resource, version, body, stored), "the body"
        expect(
            not diffs,
            clause,
            f"round {n}: after {IN_FLIGHT} identical {method}s at once the stored object differs from {differs}: "
            + "; ".join(diffs),
            got,
        )
        seen = look_for(target, resource, path, version=version)
        expect(
            not seen.shows_at_least(2),
            clause,
            f"round {n}: after {IN_FLIGHT} identical {method}s at once the collection lists the id {seen.count} "
            "times (one object is created)",
            seen.exchange,
        )
        if not seen.conclusive:
            record_note(
                request, clause, INCONCLUSIVE, f"whether overlapping {method}s created duplicates: {seen.reason}"
            )
        target.free(resource, path, version)


def _error(ex: Exchange) -> str:
    env = ex.envelope or {}
    return f"({env.get('error_code')}: {str(env.get('error_message'))[:120]})" if env.get("error_code") else ""


@pytest.mark.IDEM_1
def test_overlapping_identical_posts_create_one_object(target, resource, request):
    _identical_writes(target, resource, request, "POST", "IDEM-1")


@pytest.mark.IDEM_2
def test_overlapping_identical_puts_create_one_object(target, resource, request):
    _identical_writes(target, resource, request, "PUT", "IDEM-2")


@pytest.mark.IDEM_6
def test_overlapping_deletes_all_succeed(target, resource):
    """Whichever DELETE comes second deletes an object already deleted: it succeeds and does nothing (IDEM-6),
    exactly as a DELETE repeated one at a time."""
    version = target.version_for(resource)
    parents = target.ancestors(resource, version)
    for n in range(1, ROUNDS + 1):
        obj = target.create(resource, version=version, parent_ids=parents)
        answers = _at_once(lambda obj=obj: target.delete(resource, obj.path, version=version))
        for ex in answers:
            expect(
                is_success(ex.status),
                "IDEM-6",
                f"round {n}: one of {IN_FLIGHT} DELETEs sent at once to an existing object got HTTP {ex.status} "
                f"{_error(ex)}; the first deletes it, the others delete an already deleted object: each must succeed",
                ex,
            )
        assert_error(
            target.get(resource, obj.path, version=version),
            "IDEM-6",
            404,
            "not_found",
            f"round {n}: GET after {IN_FLIGHT} DELETEs at once",
        )

"""Fuzzing: every operation of the target description with schemathesis-generated data,
positive and negative, judged by the spec (conformance.fuzz.judge) and, like every
response, by the check layer.

Schemathesis generates what is sent: the query of a collection read, the body of a write.
Path parameters are the run's own ids (an existing object of the suite's, or a fresh id
under the suite's parents), so they, the headers and the rest are kept out of schemathesis'
hands (conformance.fuzz.operations.case_strategy): it spends nothing on values never sent,
and a negative case is negative where it is sent. A read or delete of one item has nothing
generated in it, so hypothesis runs it once per distinct input (existing or fresh id).
The fuzzer never addresses an object the suite did not create. The examples per operation
come from the profile; the seed and the example database are the run's, so a failure replays.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import strategies as st

from conformance.checks.success import is_success
from conformance.fuzz.judge import judge_body, judge_limit
from conformance.fuzz.operations import FuzzOperation, FuzzUnavailable, case_strategy, fuzzed_location
from conformance.suite._support.asserts import assert_error, assert_ok, same_written
from conformance.suite._support.examples import for_each_example
from conformance.suite._support.target import discard
from conformance.verdicts.violation import expect

pytestmark = [
    pytest.mark.JSON_2,
    pytest.mark.STATUS_3,
    pytest.mark.STATUS_4,
    pytest.mark.STATUS_5,
    pytest.mark.ENUM_4,
    pytest.mark.TIME_5,
    pytest.mark.IDEM_1,
    pytest.mark.IDEM_2,
    pytest.mark.IDEM_4,
    pytest.mark.IDEM_6,
]

WRITE_CLAUSE = {"POST": "IDEM-1", "PUT": "IDEM-2"}


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_fuzz_operation(target, fuzz_op: FuzzOperation, mode: str):
    if mode == "negative" and fuzzed_location(fuzz_op) is None:
        pytest.skip("nothing to mutate: the suite chooses the path parameters itself")
    s = target.settings
    try:
        strategy = case_strategy(target.model.source, s.verify, s.timeout, fuzz_op, mode)
    except FuzzUnavailable as exc:
        pytest.skip(str(exc))
    if strategy is None:
        pytest.skip("nothing to mutate: the operation declares no query parameter")

    def fuzz(example: tuple[Any, bool]) -> None:
        _exercise(target, fuzz_op, *example)

    def lane(example: tuple[Any, bool]) -> str | None:
        """Examples that write the one existing object read their own write back: they must not overlap."""
        return "existing" if example[1] and fuzz_op.method in ("POST", "PUT") else None

    examples = st.tuples(strategy, st.booleans())
    for_each_example(target, examples, fuzz, max_examples=target.profile.fuzz_examples, lane=lane)


def _exercise(target, op: FuzzOperation, case, existing: bool) -> None:
    resource, version = op.resource, target.version_for(op.resource)
    parents = target.shared_parents(resource, version)
    if op.collection:
        query = dict(case.query or {})
        ex = target.get(resource, resource.collection_path_for(parents), version=version, params=query or None)
        _judge(ex, judge_limit(resource, query))
        return
    if existing and op.method != "DELETE":
        path = _existing(target, resource, version, parents)
    else:
        path, _ = target.fresh_path(resource, version, parent_ids=parents)
        existing = False
    if op.method == "GET":
        ex = target.get(resource, path, version=version)
        if existing:
            assert_ok(ex, "IDEM-4", "GET of an object the suite created and never deleted")
        else:
            assert_error(ex, "STATUS-4", 404, "not_found", "GET of an id nothing was written to")
    elif op.method == "DELETE":
        ex = target.delete(resource, path, version=version)
        expect(
            is_success(ex.status) or ex.status == 404,
            "IDEM-6",
            f"DELETE of an id that never existed got HTTP {ex.status} (success or 404 conform)",
            ex,
        )
    else:
        raw = _raw_body(case)
        ex = target.write(resource, path, method=op.method, data=raw, version=version)
        verdict = judge_body(resource, version, raw)
        if verdict is not None:
            _judge(ex, verdict)
            return
        clause = WRITE_CLAUSE[op.method]
        expect(ex.status < 500, clause, f"a write the description declares valid got HTTP {ex.status}", ex)
        body = json.loads(raw) if raw is not None else None
        if is_success(ex.status) and isinstance(body, dict):
            got = target.get(resource, path, version=version)
            diffs = same_written(resource, version, body, assert_ok(got, "IDEM-4", "GET after a successful write"))
            expect(not diffs, "IDEM-4", "GET does not return the written values: " + "; ".join(diffs), got)


def _judge(ex, verdict) -> None:
    if verdict is None:
        return
    if verdict.refusal:
        assert_error(ex, verdict.clause, verdict.statuses, verdict.codes, verdict.reason)
    else:
        expect(ex.status < 500, verdict.clause, f"bad input ({verdict.reason}) got HTTP {ex.status}", ex)


def _existing(target, resource, version, parents) -> str:
    """One object per resource for the fuzzer to read and overwrite (never deleted before cleanup)."""
    return target.memo(
        ("fuzz-existing", resource.item_path),
        lambda: target.create(resource, version=version, parent_ids=parents).path,
    )


def _raw_body(case) -> bytes | None:
    from schemathesis.core import NotSet

    body = case.body
    if isinstance(body, NotSet):
        return None
    if isinstance(body, bytes):
        return body
    try:
        return json.dumps(body, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (ValueError, TypeError):
        discard("not representable as JSON text (NaN, a lone surrogate): nothing to send")

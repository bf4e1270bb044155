"""Fuzzing (conformance/suite/test_fuzz.py, conformance/fuzz/): faults no scripted test
aims at are caught by the fuzz tests alone; a recorded seed replays the same finding;
the check layer works as schemathesis checks; and the judge demands only what the
spec demands."""

from __future__ import annotations

import json

import pytest

from conformance.fuzz.judge import judge_body, judge_limit
from conformance.model import load_model
from conformance.reference.faults import FAULTS
from conformance.spec import facts

# Faults only generated input reaches: the scripted clause tests send tame ASCII bodies.
FUZZ_ONLY = tuple(sorted(n for n in FAULTS if n.startswith("fuzz-")))
SEED = "20261123"  # fixed, so the project's tests are deterministic; any seed finds these at this budget
# Every fuzz-only fault is in how writes are stored: fuzzing the writes alone keeps these runs short.
FUZZ_ONLY_RUN = ("--profile", "standard", "--seed", SEED, "--no-shrink", "--", "-k", "fuzz and (POST or PUT)")


@pytest.mark.parametrize("name", FUZZ_ONLY)
def test_fuzzing_alone_catches_faults_no_scripted_test_targets(certify, name):
    """Fuzz tests only (``-k fuzz``): the scripted tests are not in the run."""
    run = certify(faults=(name,), args=FUZZ_ONLY_RUN)
    clause = FAULTS[name].clause
    assert run.verdicts()[clause] == "fail", f"{name}: {run.verdicts()}\n{run.stdout[-3000:]}"
    finding = next(c for c in run.record["clauses"] if c["id"] == clause)["findings"][0]
    assert finding["curl"].startswith("curl ") and "$CONFORMANCE_API_KEY" in finding["curl"]
    assert finding["request"] and finding["response"]


def test_fuzzing_flags_nothing_on_the_clean_server(certify):
    run = certify(args=("--profile", "standard", "--seed", SEED, "--", "-k", "fuzz"))
    assert run.code == 0, run.stdout[-3000:]
    assert [c["id"] for c in run.record["clauses"] if c["findings"]] == []


def test_recorded_seed_replays_the_same_finding(certify, reference_server):
    handle = reference_server(faults=("fuzz-500-null-optional",))
    only = ("--", "-k", "fuzz and POST")
    first = certify(args=("--profile", "standard", *only), server=handle)
    seed = first.record["run"]["seed"]
    again = certify(args=("--profile", "standard", "--seed", str(seed), *only), server=handle)
    assert again.record["run"]["seed"] == seed
    assert first.failing() == again.failing() and first.failing()
    assert _failing_bodies(first) == _failing_bodies(again)


def _failing_bodies(run) -> dict[str, list]:
    """Per failing clause, what the findings sent (ids differ between runs; the data does not)."""
    return {
        c["id"]: sorted((f["test_id"], f["request"]["body"]) for f in c["findings"])
        for c in run.record["clauses"]
        if c["findings"]
    }


def test_check_layer_as_schemathesis_checks(reference_server):
    """The adapters name the clause; a clean answer passes every one of them."""
    from schemathesis.core.failures import Failure

    from conformance.fuzz.checks import spec_checks
    from conformance.fuzz.operations import load_schema

    model = load_model(str(facts.reference_openapi_path()))
    checks = spec_checks(model)
    schema = load_schema(model.source)
    operation = next(r.ok() for r in schema.get_all_operations() if r.ok().method.upper() == "GET")
    for faults, broken in (((), None), (("env-extra-key",), "[ENV-1]")):
        handle = reference_server(faults=faults)
        case = operation.Case(path_parameters={}, query={"limit": 5})
        response = case.call(
            base_url=f"{handle.base_url}/v2",
            headers={"Authorization": f"Basic {handle.keys[0]}"},
            verify=handle.ca_bundle,
            timeout=10,
        )
        if broken is None:
            case.validate_response(response, checks=checks)
        else:
            with pytest.raises((Failure, BaseExceptionGroup)) as info:
                case.validate_response(response, checks=checks)
            assert broken in str(info.value) or any(broken in str(e) for e in getattr(info.value, "exceptions", ()))


# -- the judge: only what SPEC.md demands ---------------------------------------------------
@pytest.fixture(scope="module")
def model():
    return load_model(str(facts.reference_openapi_path()))


def _res(model, with_kind: str):
    return next(r for r in model.resources if any(f.kind == with_kind for f in r.writable(model.latest_version)))


def test_judge_demands_refusals_the_spec_names(model):
    res = _res(model, "time")
    v = model.latest_version
    required = next(f for f in res.writable(v) if f.required)
    time_field = next(f for f in res.writable(v) if f.kind == "time")
    base = {f.name: "x@y" for f in res.writable(v) if f.required}
    cases = {
        b"{not json": ("JSON-2", "invalid_request"),
        b"[1]": ("JSON-2", "invalid_request"),
        json.dumps({}).encode(): ("STATUS-3", "validation_failed"),
        json.dumps({**base, required.name: 5}).encode(): ("STATUS-3", "validation_failed"),
        json.dumps({**base, time_field.name: "yesterday"}).encode(): ("TIME-5", "validation_failed"),
    }
    for raw, (clause, code) in cases.items():
        verdict = judge_body(res, v, raw)
        assert verdict is not None and verdict.clause == clause and code in verdict.codes, (raw, verdict)
        assert verdict.statuses == (403,)
    assert required.name in base


def test_judge_leaves_open_what_the_spec_leaves_open(model):
    res = _res(model, "time")
    v = model.latest_version
    base = {f.name: "x@y" for f in res.writable(v) if f.required}
    time_field = next(f for f in res.writable(v) if f.kind == "time")
    unknown = judge_body(res, v, json.dumps({**base, "cft_unknown_member": {"a": 1}}).encode())
    assert unknown is None or not unknown.refusal  # ambiguity 7: ignored or refused, both conform
    lenient = judge_body(res, v, json.dumps({**base, time_field.name: "2013-03-27T15:41:15Z"}).encode())
    assert lenient is None or not lenient.refusal  # ISO 8601 readable: may be accepted
    coll = next(r for r in model.resources if r.limit_param and r.limit_max)
    assert judge_limit(coll, {coll.limit_param: coll.limit_max}) is None
    assert judge_limit(coll, {coll.limit_param: coll.limit_max + 1}).codes == ("requested_too_many",)
    assert "validation_failed" in judge_limit(coll, {coll.limit_param: 10**18}).codes  # beyond int32: either
    assert set(judge_limit(coll, {coll.limit_param: "abc"}).codes) == {"validation_failed", "invalid_request"}


def _drawn(strategy, n: int = 5) -> list:
    from hypothesis import HealthCheck, Phase, given, settings

    cases = []

    @settings(max_examples=n, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def draw(case):
        cases.append(case)

    draw()
    return cases


def test_schemathesis_draws_only_what_is_sent(model):
    """Fuzzing draws the body of a write and the query of a collection read, nothing else (path parameters
    and headers are the suite's): from a copy of the operation without the rest, or with fixed placeholders
    where schemathesis cannot make that copy."""
    from schemathesis import GenerationMode

    from conformance.fuzz.operations import (
        _PLACEHOLDER,
        fuzzed_location,
        load_schema,
        operations,
        placeholders,
        schemathesis_operation,
        without_unsent,
    )

    schema = load_schema(model.source)
    fuzzed = [op for op in operations(model) if fuzzed_location(op) is not None]
    assert fuzzed
    for op in fuzzed:
        sent = fuzzed_location(op)
        operation = schemathesis_operation(schema, op)
        bare = without_unsent(operation, sent)
        assert bare is not None, "this schemathesis can copy an operation: the cheap path is the one in use"
        unsent = [key for key in ("path_parameters", "headers", "cookies", "query") if key != sent]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for strategy in (
                bare.as_strategy(generation_mode=mode),
                operation.as_strategy(generation_mode=mode, **placeholders(operation, sent)),
            ):
                cases = _drawn(strategy)
                assert cases, (op.label, mode)
                for case in cases:
                    for key in unsent:
                        assert set(dict(getattr(case, key) or {}).values()) <= {_PLACEHOLDER}, (op.label, key)


# A whole number in a form some parsers read and others refuse (ambiguity 11 names only "not an integer").
UNUSUAL_LIMITS = (" 7 ", "7.0", "+7", "7e1", "0x10", "1e3", "-0x5", "0500", "٣", "1_0", "")
NO_WHOLE_NUMBER = ("5.5", "abc", "nan", "Infinity", "1e400")


def _conforms(verdict, status: int, code: str | None) -> bool:
    """The fuzz test's judgement of an answer (conformance/suite/test_fuzz.py ``_judge``)."""
    if verdict is not None and verdict.refusal:
        return status in verdict.statuses and code in verdict.codes
    return status < 500


@pytest.mark.parametrize("variants", [(), ("limit-lenient",)], ids=["strict", "javascript-number"])
def test_a_limit_written_unusually_may_be_read_or_refused(reference_server, model, variants):
    """The reference server refuses every unusual form; the lenient variant reads them as JavaScript does
    (``+7``, ``1e3`` above the maximum: requested_too_many) and an empty ``limit=`` as not given. Both
    conform, to the judge as to the spec."""
    import requests

    coll = next(r for r in model.resources if r.limit_param and r.limit_max and r.parent is None)
    handle = reference_server(variants=variants)
    session = requests.Session()
    session.trust_env = False
    answers = {}
    for text in UNUSUAL_LIMITS + NO_WHOLE_NUMBER:
        r = session.get(
            handle.base_url + coll.collection_path,
            params={coll.limit_param: text},
            headers={"Authorization": f"Basic {handle.keys[0]}"},
            verify=handle.ca_bundle,
            timeout=10,
        )
        answers[text] = (r.status_code, r.json()["error_code"])
        assert _conforms(judge_limit(coll, {coll.limit_param: text}), *answers[text]), (text, answers[text])
    accepted = {t for t, (status, _) in answers.items() if status == 200}
    assert accepted == (set(UNUSUAL_LIMITS) - {"1e3", "-0x5", "0500", "٣", "1_0"} if variants else set())
    empty = judge_limit(coll, {coll.limit_param: ""})
    assert not _conforms(empty, 500, "internal_error")  # either reading, but never 5xx


def test_a_limit_no_parser_reads_as_a_whole_number_must_be_refused(model):
    coll = next(r for r in model.resources if r.limit_param and r.limit_max)
    for text in NO_WHOLE_NUMBER:
        verdict = judge_limit(coll, {coll.limit_param: text})
        assert verdict.refusal and not _conforms(verdict, 200, None), text  # accepting it is flagged
        assert set(verdict.codes) == {"validation_failed", "invalid_request"}
    above = judge_limit(coll, {coll.limit_param: "1e3"})
    assert not _conforms(above, 200, None) and not _conforms(above, 403, "not_found")  # read or refused, never served

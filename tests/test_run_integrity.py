"""A run never dies, and never blames the target for the suite's own faults.

- Generated data crosses xdist workers as text: huge integers, floats, deep nesting and astral-plane
  strings in fuzz bodies (and times in year 1 echoed back) never end a parallel run in INTERNALERROR.
- A test whose result cannot be handed to the controller costs that test (its clauses ``error``,
  with the reason), never the run; the reports are written and the exit code keeps the contract.
- An exception in the suite's own code while reading a response is the suite's, never a finding.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conformance.http.client import Client, TargetError
from conformance.http.redact import Redactor
from conformance.spec import facts

PLUGINS = Path(__file__).parent / "plugins"
FUZZ_CLAUSES = ("IDEM-1", "IDEM-2", "IDEM-4", "JSON-2", "STATUS-3", "TIME-3")


def wide_description(tmp_path: Path) -> Path:
    """The reference description with ``format: date-time`` times (any year, not the spec's pattern) and
    campaigns that take an unbounded integer, a number, a free-form object and a string: what a vendor's
    looser description lets schemathesis generate, echoed back by the reference server."""
    folder = tmp_path / "wide"
    shutil.copytree(facts.reference_openapi_path().parent, folder)
    path = folder / facts.reference_openapi_path().name
    doc = yaml.safe_load(path.read_text())
    schemas = doc["components"]["schemas"]
    schemas["Time"] = {"type": "string", "format": "date-time"}
    schemas["CampaignWrite"]["properties"].update(
        {
            "audience_size": {"type": "integer"},
            "ratio": {"type": "number"},
            "meta": {"type": "object", "additionalProperties": True},
            "note": {"type": "string"},
        }
    )
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_wide_generated_values_never_end_a_parallel_run(certify, reference_server, tmp_path):
    description = wide_description(tmp_path)
    server = reference_server(description=str(description))
    args = ("--openapi", str(description), "--workers", "2", "--fuzz-examples", "60", "--seed", "7")
    for clause in FUZZ_CLAUSES:
        args += ("--clause", clause)
    run = certify(server=server, args=(*args, "--", "-k", "fuzz"))
    assert "INTERNALERROR" not in run.stdout + run.stderr, (run.stdout + run.stderr)[-4000:]
    assert "Traceback" not in run.stderr, run.stderr[-4000:]
    assert run.code in (0, 1), run.stdout[-3000:]
    record = run.record
    assert record["run"]["workers"] == 2
    fuzzed = [t for t in record["tests"] if "test_fuzz_operation" in t["nodeid"]]
    assert fuzzed and all(t["outcome"] != "error" for t in fuzzed), [t for t in fuzzed if t["outcome"] == "error"]
    assert not any(c["verdict"] == "not_verified" for c in record["clauses"] if c["id"] in FUZZ_CLAUSES)


def test_a_result_that_cannot_be_sent_is_that_tests_error(certify, reference_server):
    """A plugin attaches -2**40 (which execnet cannot send) to one test's report: that test is ``error`` with
    the reason, every other test keeps its verdict, and the run ends by the contract with its reports."""
    server = reference_server()
    args = ("--clause", "ENV", "--workers", "2", "--", "-p", "unsendable_report")
    run = certify(server=server, args=args, env={"PYTHONPATH": str(PLUGINS)})
    assert "INTERNALERROR" not in run.stdout + run.stderr, (run.stdout + run.stderr)[-4000:]
    assert run.code == 1, run.stdout[-3000:]
    tests = {t["nodeid"]: t for t in run.record["tests"]}
    victim = next(t for nodeid, t in tests.items() if nodeid.endswith("test_success_envelope[campaigns]"))
    assert victim["outcome"] == "error"
    assert "could not be handed to the controller" in victim["message"], victim
    others = [t for nodeid, t in tests.items() if t is not victim]
    assert others and all(t["outcome"] in ("passed", "skipped") for t in others), others
    verdicts = run.verdicts()
    assert {verdicts[c] for c in victim["clauses"]} == {"error"}
    assert (run.report_dir / "report.html").is_file() and (run.report_dir / "junit.xml").is_file()


def test_a_suite_error_while_reading_a_body_is_not_the_targets(reference_server, monkeypatch):
    """Only the transport's errors are judged as the target's (a broken-off body is a truncated response or
    an unreachable target); an error in the suite's own reading code propagates as the suite's."""
    server = reference_server()
    client = Client(server.base_url, None, verify=server.ca_bundle, timeout=5, redactor=Redactor([]))
    assert client.request("GET", "/", auth=None).status  # the server answers
    monkeypatch.setattr("conformance.http.client._CHUNK", "a bug of the suite's own")
    with pytest.raises(TypeError):
        client.request("GET", "/", auth=None)
    monkeypatch.undo()
    try:
        assert client.request("GET", "/", auth=None).status
    except TargetError as exc:  # pragma: no cover - the server answered above
        pytest.fail(f"the client is unusable after a suite error: {exc}")


def test_a_test_whose_worker_died_is_that_tests_error(certify, reference_server):
    server = reference_server()
    args = ("--clause", "ENV", "--workers", "2", "--", "-p", "worker_crash")
    run = certify(server=server, args=args, env={"PYTHONPATH": str(PLUGINS)})
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.code == 1, run.stdout[-3000:]
    tests = {t["nodeid"]: t for t in run.record["tests"]}
    lost = next(t for nodeid, t in tests.items() if nodeid.endswith("test_error_envelope[campaigns]"))
    assert lost["outcome"] == "error" and "crashed" in lost["message"], lost
    assert lost["clauses"] and {run.verdicts()[c] for c in lost["clauses"]} == {"error"}
    assert any(t["outcome"] == "passed" for t in tests.values())


def test_a_bug_in_the_suites_own_code_is_an_error_with_its_traceback(certify, reference_server):
    run = certify(
        server=reference_server(),
        args=("--clause", "IDEM-5", "--clause", "ENV-2", "--profile", "smoke", "--", "-p", "broken_helper"),
        env={"PYTHONPATH": str(PLUGINS)},
    )
    broken = [t for t in run.record["tests"] if t["outcome"] == "error"]
    assert broken, run.stdout[-3000:]
    for test in broken:
        assert "planted bug" in test["message"] and "planted bug" in test.get("traceback", ""), test
    findings = [f for c in run.record["clauses"] for f in c["findings"]]
    assert not any("planted" in f["message"] for f in findings), findings
    assert "fail" not in run.verdicts().values()
    assert run.code == 1  # MUST clauses the suite could not judge: error


def test_a_violation_being_handled_when_the_suite_failed_is_not_evidence():
    from conformance.verdicts.violation import ClauseViolation, find_violation

    try:
        try:
            raise ClauseViolation("ENV-1", "seen")
        except ClauseViolation:
            raise KeyError("the suite's own bug") from None
    except KeyError as exc:
        assert find_violation(exc) is None
    try:
        try:
            raise ClauseViolation("ENV-1", "seen")
        except ClauseViolation:
            {}["missing"]  # noqa: B018 - the suite failing while handling it: context only
    except KeyError as exc:
        assert exc.__context__ is not None and find_violation(exc) is None
    violation = ClauseViolation("ENV-1", "seen")
    wrapped = ExceptionGroup("hypothesis", [violation])
    assert find_violation(wrapped) is violation


def test_findings_speak_the_suites_language(certify):
    """A property test's finding carries no hypothesis advice (``@reproduce_failure``, "Falsifying example"),
    and says how to replay it with the suite's own command: the run's seed, the test's name."""
    run = certify(faults=("time-offset-dropped",), args=("--clause", "TIME-5", "--profile", "smoke"))
    assert run.code == 1
    seed = run.record["run"]["seed"]
    findings = [f for c in run.record["clauses"] for f in c["findings"]]
    assert findings
    for f in findings:
        for hypothesis_text in ("reproduce_failure", "Falsifying example", "Failing test case"):
            assert hypothesis_text not in f["message"], f["message"]
        assert f["replay"].startswith("conformance run --base-url ") and f"--seed {seed} -- -k test_" in f["replay"]
    for t in run.record["tests"]:
        assert "reproduce_failure" not in t["message"], t["message"]
    junit = (run.report_dir / "junit.xml").read_text()
    assert "reproduce_failure" not in junit and f"--seed {seed}" in junit

"""A first run that explains itself (issue 20): a base URL without its path stops at once with one line, the
terminal says why a run cannot certify and which target it tested, and it shows the clause matrix with one
line per failing clause instead of pytest's tracebacks (which stay in report.html)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.http.client import TargetError
from conformance.http.redact import Redactor
from conformance.model import load_model
from conformance.report import terminal
from conformance.run import session
from conformance.run.config import Settings
from conformance.spec import catalogue, facts
from conformance.verdicts.decide import RunRecord, certifiability, decide
from conformance.verdicts.decide import TestRecord as _TestRecord
from conftest import run_conformance

PREFIX = "/tenant-7/api"  # not the reference server's default root: nothing in the suite may assume it


def _root(base_url: str) -> str:
    return base_url[: -len(PREFIX)]


def _stderr_lines(run) -> list[str]:
    assert "Traceback" not in run.stderr + run.stdout
    return [line for line in run.stderr.splitlines() if line.strip()]


# -- a base URL without its path --------------------------------------------------------------------
def test_base_url_without_its_path_stops_at_once_with_one_line(reference_server, tmp_path):
    """The server is there (it answers every path, with an enveloped 404 outside its root), but none of the
    described paths is: one line naming the fix, exit 3, and every report written, report.html included."""
    handle = reference_server(base_path=PREFIX)
    root = _root(handle.base_url)
    run = run_conformance(
        ["--base-url", root, "--ca-bundle", handle.ca_bundle],
        env={"CONFORMANCE_API_KEY": handle.keys[0]},
        report_dir=tmp_path / "reports",
    )
    assert run.code == 3, run.stdout + run.stderr
    [line] = _stderr_lines(run)
    assert line.startswith(f"conformance: no described path answers at {root}: is the base URL right?"), line
    assert f"reports in {tmp_path / 'reports'}" in line and "report.html" in line
    assert run.stdout == ""  # stopped before pytest: no 10,000 lines of failures
    record = run.record
    assert record["run"]["cannot_test"].startswith(f"no described path answers at {root}")
    assert {c["verdict"] for c in record["clauses"]} == {"error"}
    assert record["summary"]["exit_code"] == 3 and not record["certifiable"]
    page = (tmp_path / "reports" / "report.html").read_text()
    assert "is the base URL right?" in page and handle.keys[0] not in page


def test_the_same_server_under_its_path_is_tested(reference_server, tmp_path):
    """The correct base URL of the same server is never stopped: the run goes on (and passes)."""
    handle = reference_server(base_path=PREFIX)
    run = run_conformance(
        ["--base-url", handle.base_url, "--ca-bundle", handle.ca_bundle, "--profile", "smoke", "--clause", "ENV-1"],
        env={"CONFORMANCE_API_KEY": handle.keys[0]},
        report_dir=tmp_path / "reports",
    )
    assert run.code == 0, run.stdout + run.stderr
    assert run.record["run"]["cannot_test"] is None and run.verdicts()["ENV-1"] == "pass"


def _settings(base_url: str, key: str | None = "k") -> Settings:
    return Settings(base_url=base_url, api_key=key, ca_bundle=None)


class _Answers:
    """A stand-in Client answering each path with a given status (or raising TargetError)."""

    def __init__(self, statuses: dict[str, Any]) -> None:
        self.statuses = statuses
        self.asked: list[str] = []
        self.credential: Any = None

    def __call__(self, base_url: str, credential: Any, **kw: Any) -> _Answers:
        self.credential = credential
        self.session = SimpleNamespace(close=lambda: None)
        return self

    def request(self, method: str, path: str, **kw: Any) -> Any:
        self.asked.append(path)
        status = self.statuses[path]
        if isinstance(status, Exception):
            raise status
        return SimpleNamespace(status=status)


@pytest.mark.parametrize(
    ("statuses", "stops"),
    [
        ({"/mailing_lists": 404, "/campaigns": 404}, True),
        ({"/mailing_lists": 404, "/campaigns": 200}, False),  # one described path answers: it is there
        ({"/mailing_lists": 401, "/campaigns": 401}, False),  # a wrong key is the 401 hint's, not this stop
        ({"/mailing_lists": 403, "/campaigns": 404}, False),
        ({"/mailing_lists": 302, "/campaigns": 302}, False),  # a redirect: judged in the run
        ({"/mailing_lists": 500, "/campaigns": 500}, False),
        ({"/mailing_lists": TargetError("timed out"), "/campaigns": 404}, False),  # no answer: no evidence
    ],
)
def test_only_every_described_path_404_stops(monkeypatch, statuses, stops):
    model = load_model(str(facts.reference_openapi_path()))
    fake = _Answers(statuses)
    monkeypatch.setattr(session, "Client", fake)
    problem = session.missing_paths(_settings("https://api.example.test"), model, Redactor())
    assert (problem is not None) is stops, problem
    assert fake.credential is not None and fake.credential.key == "k"  # asked with the key, as the run will
    if stops:
        assert problem == (
            "no described path answers at https://api.example.test: is the base URL right? "
            "(GET /mailing_lists, /campaigns: 404)"
        )


def test_only_top_level_collections_with_a_get_are_asked(tmp_path):
    """Nested collections need a parent's id, and a collection described without GET may answer 404 on a
    correct server: neither is asked; a description with no such path never stops a run."""
    model = load_model(str(facts.reference_openapi_path()))
    assert session.probe_paths(model) == ["/mailing_lists", "/campaigns"]
    doc = json.loads(json.dumps(model.description))
    for path in ("/mailing_lists", "/campaigns"):
        doc["paths"][path].pop("get")
    here = shutil.copytree(facts.reference_openapi_path().parent, tmp_path / "schemas")  # its $refs resolve
    bare = here / "no-listing.json"
    bare.write_text(json.dumps(doc))
    stripped = load_model(str(bare))
    assert session.probe_paths(stripped) == []
    assert session.missing_paths(_settings("https://api.example.test"), stripped, Redactor()) is None


# -- the terminal: why not certifiable, which target ------------------------------------------------
def _record(identity: dict[str, Any], tests: list[_TestRecord], weakenings: list[str]) -> RunRecord:
    verdicts = decide(catalogue.load(), tests, [])
    ok, reasons = certifiability(verdicts, weakenings)
    return RunRecord(identity, verdicts, tests, ok, reasons, {}, exit_code=0)


def _all_pass() -> list[_TestRecord]:
    return [_TestRecord(f"suite::{c.id}", [c.id], "passed") for c in catalogue.load()]


STANDARD = "profile 'standard': only `--profile certification` runs can certify"


def test_certifiable_no_says_why_on_the_same_line():
    identity = {"target": "https://api.example.test/ga/api", "profile": "standard", "reference_server": False}
    out = terminal.render(_record(identity, _all_pass(), [STANDARD]), {})
    assert "Certifiable: NO (standard profile: use --profile certification to certify)\n" in out
    assert "Conformance of https://api.example.test/ga/api to" in out and "bundled reference server" not in out

    failing = [t for t in _all_pass() if t.clauses != ["ENV-1"]]
    failing.append(_TestRecord("suite::ENV-1", ["ENV-1"], "failed", message="extra key request_id"))
    certified = {**identity, "profile": "certification"}
    out = terminal.render(_record(certified, failing, []), {})
    assert "Certifiable: NO (1 MUST clause failed)\n" in out
    assert "  ENV-1     MUST   fail    1 finding: extra key request_id\n" in out  # one line per failing clause
    assert "Failing clauses" in out

    out = terminal.render(_record(certified, _all_pass(), []), {})
    assert "Certifiable: yes\n" in out and "Failing clauses" not in out


def test_the_bundled_reference_server_is_named_as_the_target():
    identity = {"target": "https://127.0.0.1:4443/ga/api", "profile": "standard", "reference_server": True}
    out = terminal.render(_record(identity, _all_pass(), [STANDARD]), {})
    assert "Conformance of the bundled reference server (https://127.0.0.1:4443/ga/api) to" in out
    assert "This run tested the bundled reference server, not your API: give --base-url" in out


# -- the terminal: no tracebacks unless asked --------------------------------------------------------
def test_failures_are_one_line_per_clause_and_tracebacks_stay_in_the_report(reference_server, tmp_path):
    handle = reference_server(faults=("idem-delete-noop",))
    env = {"CONFORMANCE_API_KEY": handle.keys[0]}
    base = ["--base-url", handle.base_url, "--ca-bundle", handle.ca_bundle, "--profile", "smoke", "--clause", "IDEM-6"]
    one = ["-k", "test_delete_removes_and_is_idempotent and mailing_lists"]  # one failing test is enough
    quiet = run_conformance([*base, "--", *one], env=env, report_dir=tmp_path / "quiet")
    assert quiet.code == 1, quiet.stdout + quiet.stderr
    failing = [line for line in quiet.stdout.splitlines() if line.startswith("  IDEM-6 ")]
    assert len(failing) == 1 and "MUST   fail" in failing[0] and "finding" in failing[0], quiet.stdout
    for noise in ("FAILURES", "def test_", "ClauseViolation", "FAILED ", "_ _ _ _"):
        assert noise not in quiet.stdout, noise
    assert "Each failure's traceback is in report.html (add `-- --tb=short` to print them here)" in quiet.stdout
    assert "ClauseViolation" in (tmp_path / "quiet" / "report.html").read_text()  # the report keeps them
    assert quiet.record["run"]["pytest_args"] == one  # the quiet terminal is no option of the user's

    loud = run_conformance([*base, "--", *one, "--tb=short"], env=env, report_dir=tmp_path / "loud")
    assert loud.code == 1 and "FAILURES" in loud.stdout and "ClauseViolation" in loud.stdout
    assert "traceback is in report.html" not in loud.stdout
    assert loud.record["run"]["pytest_args"] == [*one, "--tb=short"]


def test_record_schema_names_the_new_run_keys():
    schema = json.loads((Path(__file__).resolve().parents[1] / "schemas" / "certification.schema.json").read_text())
    run = schema["$defs"]["run"]["properties"]
    assert run["reference_server"]["type"] == "boolean" and "null" in run["cannot_test"]["type"]


def test_the_page_says_what_was_tested_and_why_it_cannot_certify():
    """report.html names the bundled reference server as plainly as the terminal does, puts the reason on the
    NOT certifiable line, and shows why a target could not be tested."""
    from conformance.http.redact import Redactor
    from conformance.report.certification import to_json
    from conformance.report.html import render_block

    def page(identity: dict[str, Any]) -> str:
        return render_block(to_json(_record(identity, _all_pass(), [STANDARD]), Redactor([])))

    bundled = page({"target": "https://127.0.0.1:4443/ga/api", "profile": "standard", "reference_server": True})
    assert 'id="reference-target"' in bundled and "not your API" in bundled
    assert "NOT certifiable (standard profile: use --profile certification to certify)" in bundled
    vendor = page({"target": "https://api.example.test/ga/api", "profile": "standard", "reference_server": False})
    assert 'id="reference-target"' not in vendor and 'id="cannot-test"' not in vendor
    stopped = page({"target": "https://api.example.test", "profile": "standard", "cannot_test": "no described path"})
    assert 'id="cannot-test"' in stopped and "no described path" in stopped

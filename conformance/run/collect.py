"""The controller's side of a run: each test's result read from its report as it arrives, the results of
tests whose worker died, and each worker's hand-over at its end (cleanup, what the check layer found outside
any test), merged into the run's state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.http.exchange import Finding
from conformance.run import workers
from conformance.run.results import TestResult, suite_error
from conformance.run.state import RunState
from conformance.spec import catalogue
from conformance.verdicts.decide import TestRecord


def log_report(state: RunState, report: pytest.TestReport) -> None:
    wire = getattr(report, "conformance", None)
    if wire is None:
        if report.failed and report.when not in ("setup", "call", "teardown"):  # xdist: the worker died in it
            _lost(state, report)
        return
    try:
        _merge_result(state, report, TestResult.from_wire(wire))
    except Exception as exc:  # a result the suite cannot read is this test's error, not the run's end
        rec = state.tests.setdefault(report.nodeid, TestRecord(report.nodeid, []))
        rec.outcome, rec.message = "error", suite_error([], "reading this test's result", exc).message


def _lost(state: RunState, report: pytest.TestReport) -> None:
    """A test whose worker died while running it (xdist reports it for the worker): its clauses are ``error``
    with xdist's account, instead of silently ``not_verified``."""
    rec = state.tests.setdefault(report.nodeid, TestRecord(report.nodeid, _clauses_by_nodeid(report.nodeid)))
    rec.outcome, rec.message = "error", f"the suite lost this test: {report.longrepr}"


def _clauses_by_nodeid(nodeid: str) -> list[str]:
    """The clauses of a suite test known only by its node id (the controller of a parallel run collects no
    tests): read from the test function's and its module's markers."""
    import importlib

    path, _, name = nodeid.partition("::")
    module_name = "conformance.suite." + Path(path).stem
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return []
    obj: Any = module
    for part in name.split("[")[0].split("::"):
        obj = getattr(obj, part, None)
    marks = [*getattr(module, "pytestmark", []), *getattr(obj, "pytestmark", [])]
    out: list[str] = []
    for mark in marks:
        cid = catalogue.clause_id_from_marker(mark.name)
        if cid and cid not in out:
            out.append(cid)
    return out


def _merge_result(state: RunState, report: pytest.TestReport, result: TestResult) -> None:
    rec = state.tests.setdefault(report.nodeid, TestRecord(report.nodeid, result.clauses))
    rec.duration += report.duration
    if report.failed or result.kind == "error":
        kind = result.kind or "error"
        if report.when != "call" or kind in ("error", "setup"):
            if rec.outcome != "failed":
                rec.outcome = "error"
                rec.message = result.message
                rec.traceback = result.traceback
        else:
            rec.outcome = "failed"
            rec.message = result.message
            rec.violation = result.violation
    elif report.skipped and rec.outcome == "passed":
        rec.outcome = "skipped"
        rec.message = result.message
    capture = result.capture
    if capture:
        rec.findings.extend(Finding.from_dict(f) for f in capture["findings"])
        for cid, n in capture["checked"].items():
            rec.checked[cid] = rec.checked.get(cid, 0) + n
        for cid, reason in capture.get("errors", {}).items():
            rec.check_errors.setdefault(cid, reason)
        state.keyed.update(capture.get("keyed", {}))
        state.observe(capture.get("observations", []))
        state.add_gaps(capture.get("gaps", []))
    for note in result.notes:
        if note not in rec.notes:
            rec.notes.append(note)
    if result.confirmation:
        rec.confirmation = result.confirmation


def take_over(state: RunState, output: dict[str, Any]) -> None:
    """Merge one worker's hand-over (conformance.run.workers) into the controller's state."""
    state.throttled.extend(output.get("conformance_throttled", []))
    state.requests += int(output.get("conformance_requests", 0))
    if "conformance_cleanup" in output:
        state.cleanups.append(output["conformance_cleanup"])
        merge_outside(state, output.get("conformance_outside") or {})


def merge_outside(state: RunState, outside: dict[str, Any]) -> None:
    """What the check layer found on a process's set-up and cleanup responses (outside any test)."""
    state.run_findings.extend(Finding.from_dict(f) for f in outside.get("findings", []))
    state.outside_errors.update(outside.get("errors", {}))
    state.keyed.update(outside.get("keyed", {}))
    state.observe(outside.get("observations", []))
    state.add_gaps(outside.get("gaps", []))


def await_workers(state: RunState, config: pytest.Config) -> None:
    """The hand-overs of workers xdist did not deliver (an interrupted run): read from disk once they are down."""
    silent = state.workers_started - state.workers_reported
    if silent:
        # a worker already down (it crashed) leaves no hand-over: only the running ones are waited for
        workers.stop_workers(config, state.settings.report_dir, state.prefix, silent - state.workers_down)
        found, missing = workers.unreported(state.settings.report_dir, state.prefix, silent)
        for output in found:
            take_over(state, output)
        for worker in missing:
            state.cleanups.append(
                {"leftover": [f"objects created by worker {worker}: it ended without reporting its cleanup"]}
            )
    if state.workers_started:
        workers.tidy(state.settings.report_dir, state.prefix)

"""Confirmation re-runs (``--confirm N``): is a finding deterministic or intermittent?

A test that charged a clause with a finding is run again, right away and in the same
worker, up to N times. Each re-run is judged like the first (check layer and clause
expectations) but only to count which of the first run's clauses were charged again;
its reports are not logged, so the matrix and the evidence stay the first run's.
A finding that never reproduces is *unconfirmed*: still a finding (an intermittent
vendor bug is a bug), marked so a reviewer can tell it from a deterministic one.
Hypothesis replays the saved failing example first, so a deterministic property
failure reproduces rather than being searched for again.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from conformance._compat import runtestprotocol
from conformance.run.capture import Recorder
from conformance.run.results import TestResult


class Confirmer:
    """Plugin object: owns ``pytest_runtest_protocol`` while confirmation is on."""

    def __init__(self, runs: int, recorder: Recorder) -> None:
        self.runs = runs
        self.recorder = recorder

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool:
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        charged = charged_clauses(reports)
        if charged and reports[0].passed:  # a failed set-up is an error, never re-run
            reproduced: Counter[str] = Counter()
            for _ in range(self.runs):
                self.recorder.begin(item.nodeid)
                again = runtestprotocol(item, nextitem=nextitem, log=False)
                reproduced.update(charged & charged_clauses(again))
            wire = getattr(reports[-1], "conformance", None)
            if wire is not None:
                result = TestResult.from_wire(wire)
                result.confirmation = {"attempts": self.runs, "reproduced": {c: reproduced[c] for c in charged}}
                reports[-1].conformance = result.to_wire()
        for report in reports:
            ihook.pytest_runtest_logreport(report=report)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True


def charged_clauses(reports: list[Any]) -> set[str]:
    """Clauses a run of one test found violated: its clause violation and its check-layer findings."""
    out: set[str] = set()
    for report in reports:
        wire = getattr(report, "conformance", None)
        result = TestResult.from_wire(wire) if wire is not None else TestResult([])
        violation = result.violation or {}
        if report.failed and report.when == "call" and violation.get("clause"):
            out.add(violation["clause"])
        for finding in (result.capture or {}).get("findings", []):
            out.add(finding["clause"])
    return out

"""Each test's result, attached to its report (``report.conformance``, JSON text: :mod:`conformance.run.workers`)
where the test ran: its clauses, what kind of failure it had, the evidence, the findings the check layer
filed on its exchanges, its notes. Everything in it is redacted, and so is what pytest itself prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pytest

from conformance.http.client import TargetError
from conformance.http.redact import Redactor
from conformance.run import workers
from conformance.run.state import RunState
from conformance.spec import catalogue
from conformance.suite._support.target import SetupFailed
from conformance.verdicts.notes import notes_of
from conformance.verdicts.violation import ClauseViolation, find_violation

MESSAGE_CHARS = 3000


FailureKind = Literal["violation", "setup", "error"]


@dataclass
class TestResult:
    """What one phase (set-up, call, teardown) of one test hands the controller: the one shape written where the
    test ran (:class:`ResultCapture`), re-read for ``--confirm`` (:mod:`conformance.run.confirm`) and merged in
    the controller (:mod:`conformance.run.collect`). It crosses xdist as JSON text (:mod:`conformance.run.workers`).
    """

    __test__ = False  # not a pytest test class, whatever its name

    clauses: list[str]
    kind: FailureKind | None = None  # why the phase failed: a clause violation, a precondition, the suite itself
    message: str = ""
    violation: dict[str, Any] | None = None  # {"clause", "evidence"} of a clause violation
    traceback: str = ""  # of a suite error
    capture: dict[str, Any] | None = None  # the check layer's findings on the test's exchanges (teardown)
    notes: list[dict[str, str]] = field(default_factory=list)
    confirmation: dict[str, Any] | None = None  # --confirm: how often its findings reproduced
    when: str | None = None

    def to_wire(self) -> str:
        data = asdict(self)
        return workers.to_wire({k: v for k, v in data.items() if k == "clauses" or v not in (None, "", [])})

    @classmethod
    def from_wire(cls, wire: str) -> TestResult:
        data = workers.from_wire(wire)
        return cls(**{"clauses": [], **{k: v for k, v in data.items() if k in cls.__dataclass_fields__}})


class ResultCapture:
    """Per-test hooks of an active run, registered as one plugin object holding the run's state."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None):
        self.state.recorder.begin(item.nodeid)
        yield
        self.state.recorder.end()

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        """Attach the test's result for the controller as ``report.conformance``. The outermost wrapper, so it
        sees what every other plugin added to the report; a failure of its own is this test's ``error``, never
        the run's ``INTERNALERROR``."""
        outcome = yield
        state = self.state
        report = outcome.get_result()
        clauses = clauses_of(item)
        try:
            result = _test_result(state, item, call, report, clauses)
            _redact_report(item.config, report, state.redactor)
            report.conformance = result.to_wire()
        except Exception as exc:
            report.conformance = suite_error(clauses, "recording this test's result", exc).to_wire()
        if state.is_worker:
            problem = workers.unsendable(item.config, report)
            if problem is not None:
                _make_sendable(item.config, report)
                reason = f"the test's data could not be handed to the controller ({problem})"
                report.conformance = TestResult(clauses, "error", reason, when=call.when).to_wire()


def clauses_of(item: pytest.Item) -> list[str]:
    out = []
    for mark in item.iter_markers():
        cid = catalogue.clause_id_from_marker(mark.name)
        if cid and cid not in out:
            out.append(cid)
    return out


def _test_result(
    state: RunState, item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport, clauses: list[str]
) -> TestResult:
    redactor = state.redactor
    result = TestResult(clauses)
    if call.excinfo is not None and report.failed:
        violation = find_violation(call.excinfo.value)
        if violation is not None:
            result.kind = "violation"
            evidence = None
            if violation.exchange is not None:
                steps = state.recorder.steps.steps_for(violation.exchange)
                evidence = {**violation.exchange.evidence(), "steps": steps}
            result.violation = {"clause": violation.clause, "evidence": redactor.obj(evidence)}
        elif call.excinfo.errisinstance(SetupFailed):
            result.kind = "setup"
        else:
            result.kind = "error"
            result.traceback = _suite_traceback(call.excinfo, redactor)
        result.message = _message(call.excinfo, violation, redactor)
    elif report.skipped and isinstance(report.longrepr, tuple):
        result.message = redactor.text(str(report.longrepr[2]))
    if call.when == "teardown" and state.recorder.current is not None:
        result.capture = redactor.obj(state.recorder.current.to_dict())
    if call.when == "teardown":
        result.notes = redactor.obj(notes_of(report))
    return result


TRACEBACK_CHARS = 6000

TRACEBACK_FRAMES = 12


def _suite_traceback(excinfo: pytest.ExceptionInfo, redactor: Redactor) -> str:
    """The last frames of an exception that is not a clause violation, for the run record: where the suite (or a
    test's precondition) failed, so that an ``error`` can be reported and fixed. Empty when the target could not
    be reached (its account is the message). Formatted by :mod:`traceback`, which reads lines, not parse trees:
    a target failing every request must not make each failure cost a parse of its modules."""
    import traceback

    if excinfo.errisinstance(TargetError):
        return ""
    lines = traceback.format_tb(excinfo.tb)[-TRACEBACK_FRAMES:]
    text = "".join(lines) + "".join(traceback.format_exception_only(excinfo.type, excinfo.value))
    return redactor.text(text[-TRACEBACK_CHARS:])


def suite_error(clauses: list[str], doing: str, exc: BaseException) -> TestResult:
    """The result of a test the suite itself could not record: its clauses are ``error``, with the reason."""
    return TestResult(clauses, "error", f"the suite failed {doing}: {type(exc).__name__}: {exc}")


def _make_sendable(config: pytest.Config, report: pytest.TestReport) -> None:
    """Drop what xdist cannot send of a report: each attribute whose serialized form execnet refuses (other
    plugins' additions, where unsendable values come from), and the longrepr's structure (kept as text)."""
    data = config.hook.pytest_report_to_serializable(config=config, report=report) or {}
    for name, value in data.items():
        if name in vars(report) and name != "longrepr" and not workers.sendable(value):
            delattr(report, name)
    if report.longrepr is not None and not workers.sendable(data.get("longrepr")):
        report.longrepr = str(report.longrepr)


def _redact_report(config: pytest.Config, report: pytest.TestReport, redactor: Redactor) -> None:
    """Mask the keys in what pytest itself prints of a test: the traceback of a failure shows every frame's
    arguments (the client's request headers hold ``Authorization: Basic <key>``; ``--showlocals`` shows more),
    and captured output may hold an echo. The terminal, junit and html all render it from the report.
    The report is masked through its serialized form (as xdist ships it), so every string of it is covered."""
    if not redactor.active:
        return
    if report.sections:
        report.sections = [(title, redactor.text(text)) for title, text in report.sections]
    if report.longrepr is None:
        return
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, message)
        path, line, message = report.longrepr
        report.longrepr = (path, line, redactor.text(str(message)))
        return
    data = config.hook.pytest_report_to_serializable(config=config, report=report)
    if data is None or "longrepr" not in data:
        report.longrepr = redactor.text(str(report.longrepr))
        return
    data["longrepr"] = redactor.obj(data["longrepr"])
    clean = config.hook.pytest_report_from_serializable(config=config, data=data)
    report.longrepr = clean.longrepr if clean is not None else redactor.text(str(report.longrepr))


HYPOTHESIS_NOTES = ("Falsifying example", "You can reproduce this example", "@reproduce_failure", "Failing test case")


def _message(excinfo: pytest.ExceptionInfo, violation: ClauseViolation | None, redactor: Redactor) -> str:
    """What went wrong, in the suite's words: a violation's own ``[CLAUSE] message``, any other exception as
    ``Type: message``. Hypothesis' notes (its falsifying example, ``@reproduce_failure``, which a vendor
    running the installed suite cannot use) are left out: the record's seed and each finding's curl line
    replay it."""
    if violation is not None:
        text = str(violation)
    elif type(excinfo.value).__name__ == "Unsatisfiable":
        text = (
            "no generated example could be judged: the target refused every body by rules its description does "
            "not state (see the description gaps)"
        )
    else:
        exc = excinfo.value
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(HYPOTHESIS_NOTES))
    if len(text) > MESSAGE_CHARS:
        text = text[:MESSAGE_CHARS] + " …"
    return redactor.text(text)

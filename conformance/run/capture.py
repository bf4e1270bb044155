"""Per-test capture of what the response checks saw.

The client's observer feeds every exchange here; the plugin attaches a test's
capture to its report, which is how findings cross xdist workers to the
controller. This is the one place a per-response check's finding is filed: the
clause tests of those clauses (ENV, JSON-1/3, STATUS-1/2, TIME-1..4, ENUM-1..3)
make responses and make sure their clause had some to judge, and leave the
judging to the recorder (``conformance.suite._support.asserts.exercise``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from conformance import checks
from conformance.checks import times
from conformance.checks.context import CheckContext
from conformance.http.exchange import Exchange, Finding
from conformance.suite._support.acceptance import DescriptionGap
from conformance.verdicts.steps import StepLog

PRIMARY_KEY = "$CONFORMANCE_API_KEY"  # how the (redacted) first key appears in a request's headers
SECOND_KEY = "$CONFORMANCE_SECOND_API_KEY"  # ... and the second
FINDINGS_PER_CLAUSE = 5
OBSERVATIONS_CAP = 400
GAPS_PER_TEST = 20


@dataclass
class Capture:
    test_id: str
    findings: list[Finding] = field(default_factory=list)
    checked: Counter = field(default_factory=Counter)
    observations: set[tuple[int, int]] = field(default_factory=set)
    errors: dict[str, str] = field(default_factory=dict)  # clause -> why its check could not judge
    keyed: Counter = field(default_factory=Counter)  # responses to the first key: "sent", "401"
    exchanges: int = 0
    gaps: list[dict[str, Any]] = field(default_factory=list)  # description gaps (conformance.acceptance)
    _per_clause: Counter = field(default_factory=Counter)

    def add(
        self,
        exchange: Exchange,
        outcome: checks.CheckOutcome,
        seen: set[tuple[int, int]],
        errors: dict[str, str] | None = None,
        steps: StepLog | None = None,
    ) -> None:
        self.exchanges += 1
        if exchange.authenticated and exchange.request_headers.get("Authorization", "").endswith(PRIMARY_KEY):
            self.keyed["sent"] += 1
            self.keyed["401"] += exchange.status == 401
        for clause, reason in (errors or {}).items():
            self.errors.setdefault(clause, reason)
        self.checked.update(outcome.exercised)
        for finding in outcome.findings:
            if self._per_clause[finding.clause] < FINDINGS_PER_CLAUSE:
                finding.test_id = self.test_id
                if steps is not None and finding.evidence is not None:
                    finding.evidence["steps"] = steps.steps_for(exchange)
                self.findings.append(finding)
            self._per_clause[finding.clause] += 1
        if len(self.observations) < OBSERVATIONS_CAP:
            self.observations |= seen

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "checked": dict(self.checked),
            "observations": sorted(self.observations),
            "errors": dict(self.errors),
            "keyed": dict(self.keyed),
            "exchanges": self.exchanges,
            "gaps": self.gaps,
        }


class Recorder:
    """Runs the check layer on every exchange and files the result under the running test."""

    def __init__(self, ctx: CheckContext, second_zone: ZoneInfo | None = None) -> None:
        self.ctx = ctx
        self.current: Capture | None = None
        self.outside = Capture("session")  # set-up and cleanup requests
        self._second = CheckContext(ctx.model, second_zone)
        self._anyone = CheckContext(ctx.model, None)  # answers to other credentials: whose zone is unknown
        self.steps = StepLog(ctx.model)  # the requests a finding's reproduction replays

    def begin(self, test_id: str) -> Capture:
        self.current = Capture(test_id)
        self.steps.begin()
        return self.current

    def end(self) -> Capture | None:
        capture, self.current = self.current, None
        return capture

    def gap(self, gap: DescriptionGap) -> None:
        """A body the description allows that the target refused by its own rules (a warning, not a finding)."""
        capture = self.current or self.outside
        entry = gap.to_dict()
        if entry not in capture.gaps and len(capture.gaps) < GAPS_PER_TEST:
            capture.gaps.append(entry)

    def observe(self, exchange: Exchange) -> None:
        """Zone-dependent judgements (TIME-3) use each organization's own zone: the run-level
        zone inference takes the first organization's responses only, and a second
        organization's responses are judged exactly when its zone is given. A success answering any other
        credential (a near miss of a key, wrongly accepted: AUTH-2's finding) shows some organization's
        object in that organization's zone, which may be either: its offsets are not judged against one."""
        sent = exchange.request_headers.get("Authorization", "")
        primary = sent.endswith(PRIMARY_KEY)
        ctx = self.ctx if primary else self._second if sent.endswith(SECOND_KEY) else self._anyone
        errors: dict[str, str] = {}

        def broken(check: checks.Check, exc: Exception) -> None:  # only its own clause is an ``error``
            errors.setdefault(check.clause, _crash(f"check {check.name}", exc))

        self.steps.add(exchange)
        outcome = checks.run_all(exchange, ctx, on_error=broken)
        try:
            seen = times.observations(exchange, ctx) if primary else set()
        except Exception as exc:
            seen = set()
            errors.setdefault("TIME-3", _crash("times.observations", exc))
        (self.current or self.outside).add(exchange, outcome, seen, errors, self.steps)


def _crash(where: str, exc: Exception) -> str:
    return f"the suite's {where} raised {type(exc).__name__}: {exc}"[:500]

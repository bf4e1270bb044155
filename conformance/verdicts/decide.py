"""Test outcomes and check findings -> one verdict per clause, and the run record.

Everything here is plain data built from what the controller process received
(test reports carry their findings across xdist workers), so the same record
feeds every report writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.http.exchange import Finding
from conformance.spec.catalogue import Catalogue, Clause
from conformance.verdicts import messages

VERDICTS = ("pass", "fail", "error", "waived", "skip", "not_verified")


@dataclass
class TestRecord:
    """One test as the controller saw it (all phases folded into one outcome)."""

    nodeid: str
    clauses: list[str]
    outcome: str = "passed"  # passed | failed | error | skipped
    message: str = ""  # failure / error / skip reason, redacted and truncated
    duration: float = 0.0
    findings: list[Finding] = field(default_factory=list)  # from the check layer, any clause
    checked: dict[str, int] = field(default_factory=dict)  # clause -> responses that exercised it
    violation: dict[str, Any] | None = None  # {"clause", "evidence"} when a ClauseViolation failed it
    check_errors: dict[str, str] = field(default_factory=dict)  # clause -> why its response check crashed
    confirmation: dict[str, Any] | None = None  # {"attempts": N, "reproduced": {clause: k}} (--confirm)
    traceback: str = ""  # where the suite's own code raised, for an error of the suite's (never evidence)
    notes: list[dict[str, str]] = field(default_factory=list)  # what it could not judge (conformance.notes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "nodeid": self.nodeid,
            "clauses": self.clauses,
            "outcome": self.outcome,
            "message": self.message,
            "duration": round(self.duration, 3),
            "findings": len(self.findings),
        }
        if self.traceback:
            out["traceback"] = self.traceback
        if self.notes:
            out["notes"] = self.notes
        return out


@dataclass
class ClauseVerdict:
    clause: Clause
    verdict: str = "not_verified"
    reason: str = ""
    tests: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"passed": 0, "failed": 0, "error": 0, "skipped": 0})
    checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    confirmations: dict[str, dict[str, int]] = field(default_factory=dict)  # test id -> {attempts, reproduced}
    waiver: dict[str, Any] | None = None
    groups: dict[str, int] = field(
        default_factory=dict
    )  # what went wrong (messages.shape) -> findings, all kept or not

    @property
    def confirmation(self) -> dict[str, Any] | None:
        """How the failing tests' re-runs went: ``confirmed`` when every one reproduced at least
        once, ``unconfirmed`` when none did, ``partly`` in between; None without re-runs."""
        tried = [c for c in self.confirmations.values() if c["attempts"]]
        if not tried:
            return None
        hits = sum(1 for c in tried if c["reproduced"])
        status = "confirmed" if hits == len(tried) else "unconfirmed" if hits == 0 else "partly"
        return {
            "status": status,
            "tests": len(tried),
            "attempts": sum(c["attempts"] for c in tried),
            "reproduced": sum(c["reproduced"] for c in tried),
        }

    @property
    def severity(self) -> str:
        """``failure`` for a failed MUST; a failed SHOULD is only a ``warning``."""
        if self.verdict == "fail":
            return "failure" if self.clause.level == "MUST" else "warning"
        return "error" if self.verdict == "error" else "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.clause.id,
            "level": self.clause.level,
            "group": self.clause.group,
            "title": self.clause.title,
            "verdict": self.verdict,
            "severity": self.severity,
            "reason": self.reason,
            "tests": self.tests,
            "counts": self.counts,
            "responses_checked": self.checked,
            "findings": [f.to_dict() for f in self.findings],
            "confirmation": self.confirmation,
            "waiver": self.waiver,
            "finding_groups": [{"group": k, "count": n} for k, n in self.groups.items()],
        }


@dataclass
class RunRecord:
    identity: dict[str, Any]
    clauses: list[ClauseVerdict]
    tests: list[TestRecord]
    certifiable: bool
    reasons: list[str]
    cleanup: dict[str, Any]
    exit_code: int = 0
    waivers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, Any]:
        counts = {v: 0 for v in VERDICTS}
        for cv in self.clauses:
            counts[cv.verdict] += 1
        must_failed = [cv.clause.id for cv in self.clauses if cv.clause.level == "MUST" and cv.verdict == "fail"]
        warnings = [cv.clause.id for cv in self.clauses if cv.severity == "warning"]
        errors = [cv.clause.id for cv in self.clauses if cv.verdict == "error"]
        unconfirmed = [cv.clause.id for cv in self.clauses if (cv.confirmation or {}).get("status") == "unconfirmed"]
        return {
            "clauses": len(self.clauses),
            "verdicts": counts,
            "must_failed": must_failed,
            "errors": errors,
            "warnings": warnings,
            "waived": [cv.clause.id for cv in self.clauses if cv.verdict == "waived"],
            "stale_waivers": [w["clause"] for w in self.waivers if w.get("status") == "stale"],
            "unconfirmed": unconfirmed,
            "tests": len(self.tests),
            "findings": sum(len(cv.findings) for cv in self.clauses),
            "exit_code": self.exit_code,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "certifiable": self.certifiable,
            "not_certifiable_reasons": self.reasons,
            "summary": self.summary,
            "run": self.identity,
            "clauses": [cv.to_dict() for cv in self.clauses],
            "tests": [t.to_dict() for t in self.tests],
            "cleanup": self.cleanup,
            "waivers": self.waivers,
        }


def decide(
    catalogue: Catalogue,
    tests: list[TestRecord],
    run_findings: list[Finding],
    *,
    selected: set[str] | None = None,
    max_findings: int = 50,
) -> list[ClauseVerdict]:
    """One verdict per catalogue clause.

    A clause fails on any finding or any failed test marked with it; it is an
    ``error`` when the suite could not judge it; it passes only when something
    exercised it (a passing test marked with it, or a response check of it).
    """
    verdicts = {c.id: ClauseVerdict(c) for c in catalogue}
    skip_reasons: dict[str, str] = {}
    error_reasons: dict[str, str] = {}
    for test in tests:
        blamed = _blamed(test)
        for cid in dict.fromkeys([*test.clauses, *blamed]):  # a violation may name a clause outside the markers
            cv = verdicts.get(cid)
            if cv is None:
                continue
            cv.tests.append(test.nodeid)
            if test.outcome == "failed" and cid not in blamed:
                continue  # stopped by another clause's failure: this one was not judged
            cv.counts[test.outcome] += 1
            if test.outcome == "failed":
                evidence = (test.violation or {}).get("evidence")
                cv.findings.append(Finding(cid, test.message or "test failed", evidence, test.nodeid))
            elif test.outcome == "skipped":
                skip_reasons.setdefault(cid, test.message)
            elif test.outcome == "error":
                error_reasons.setdefault(cid, f"{test.nodeid}: {test.message}")
        for finding in test.findings:
            if finding.clause in verdicts:
                verdicts[finding.clause].findings.append(finding)
        for cid, n in test.checked.items():
            if cid in verdicts:
                verdicts[cid].checked += n
        for cid, k in ((test.confirmation or {}).get("reproduced") or {}).items():
            if cid in verdicts:
                attempts = test.confirmation["attempts"]  # type: ignore[index]
                verdicts[cid].confirmations[test.nodeid] = {"attempts": attempts, "reproduced": k}
        for cid, reason in test.check_errors.items():
            if cid in verdicts:
                verdicts[cid].counts["error"] += 1
                error_reasons.setdefault(cid, f"{test.nodeid}: {reason}")
    for finding in run_findings:
        if finding.clause in verdicts:
            verdicts[finding.clause].findings.append(finding)

    for cid, cv in verdicts.items():
        if selected is not None and cid not in selected:
            cv.verdict, cv.reason = "not_verified", "not selected for this run (--clause)"
            cv.findings = []
            continue
        if cv.findings:
            cv.verdict = "fail"
            total = len(cv.findings)
            cv.groups = group_counts(cv.findings)
            cv.findings = keep(cv.findings, max_findings)
            if total > max_findings:
                cv.reason = (
                    f"{total} findings in {len(cv.groups)} group(s); {max_findings} are kept, the first of each group "
                    "among them"
                )
        elif cv.counts["error"]:
            cv.verdict, cv.reason = "error", error_reasons[cid]
        elif cv.counts["passed"] or cv.checked:
            cv.verdict = "pass"
        elif cv.counts["skipped"]:
            cv.verdict, cv.reason = "skip", skip_reasons[cid]
        else:
            cv.verdict, cv.reason = "not_verified", "no test or response check exercised this clause"
    return list(verdicts.values())


def group_counts(findings: list[Finding]) -> dict[str, int]:
    """How many findings of each group (what went wrong: :func:`messages.shape`), largest first."""
    counts: dict[str, int] = {}
    for f in findings:
        key = messages.shape(messages.clean(f.message))
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def keep(findings: list[Finding], limit: int) -> list[Finding]:
    """At most ``limit`` findings, in their order: the first of every group before a second of any, so that a fault
    seen 600 times does not crowd out one seen once."""
    if len(findings) <= limit:
        return findings
    keys = [messages.shape(messages.clean(f.message)) for f in findings]
    seen: set[str] = set()
    firsts = []
    for i, k in enumerate(keys):
        if k not in seen:
            seen.add(k)
            firsts.append(i)
    chosen = set(firsts[:limit])
    for i in range(len(findings)):
        if len(chosen) >= limit:
            break
        chosen.add(i)
    return [findings[i] for i in sorted(chosen)]


def _blamed(test: TestRecord) -> set[str]:
    """The clauses a failed test's failure is charged to."""
    if test.violation and test.violation.get("clause"):
        return {test.violation["clause"]}
    return set(test.clauses)


def exit_code(verdicts: list[ClauseVerdict]) -> int:
    """0 when no MUST clause failed or errored, else 1 (target-unreachable is decided earlier)."""
    bad = any(cv.clause.level == "MUST" and cv.verdict in ("fail", "error") for cv in verdicts)
    return 1 if bad else 0


def certifiability(verdicts: list[ClauseVerdict], weakenings: list[str]) -> tuple[bool, list[str]]:
    """Whether the record can back a certificate, and every reason it cannot."""
    reasons = list(weakenings)
    for cv in verdicts:
        if cv.clause.level != "MUST":
            continue
        if cv.verdict in ("fail", "error"):
            reasons.append(f"{cv.clause.id} {cv.verdict}")
        elif cv.verdict == "waived":
            reasons.append(f"{cv.clause.id} waived: {cv.reason.removeprefix('waived: ')}")
        elif cv.verdict in ("skip", "not_verified"):
            reasons.append(f"{cv.clause.id} {cv.verdict}: {cv.reason}")
    return (not reasons, reasons)

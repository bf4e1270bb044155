"""Per-response invariants: small pure functions of one exchange.

Each check judges one clause and returns ``None`` when the response gives it
nothing to judge, else the list of findings (empty = the clause was exercised
and held). The client's observer runs :func:`run_all` on every response the
suite receives; fuzzing registers the same functions with schemathesis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from conformance.checks import auth, content, enums, envelope, status, times
from conformance.checks.context import CheckContext
from conformance.http.exchange import Exchange, Finding

CheckFn = Callable[[Exchange, CheckContext], "list[Finding] | None"]


@dataclass(frozen=True)
class Check:
    clause: str
    fn: CheckFn

    @property
    def name(self) -> str:
        return self.fn.__name__


CHECKS: tuple[Check, ...] = (
    Check("JSON-1", content.json_content_type),
    Check("JSON-3", content.compact_json),
    Check("ENV-1", envelope.exact_keys),
    Check("ENV-2", envelope.success_shape),
    Check("ENV-3", envelope.error_shape),
    Check("ENV-4", envelope.success_matches_status),
    Check("STATUS-1", status.allowed_status),
    Check("STATUS-2", status.error_code_matches_status),
    Check("AUTH-3", auth.valid_key_accepted),
    Check("TIME-1", times.time_format),
    Check("TIME-2", times.epoch_companion),
    Check("TIME-3", times.org_zone_offset),
    Check("TIME-4", times.date_format),
    Check("ENUM-1", enums.enum_values("ENUM-1")),
    Check("ENUM-2", enums.enum_values("ENUM-2")),
    Check("ENUM-3", enums.enum_values("ENUM-3")),
)

CHECKED_CLAUSES: frozenset[str] = frozenset(c.clause for c in CHECKS)


@dataclass
class CheckOutcome:
    findings: list[Finding]
    exercised: set[str]


def run_all(exchange: Exchange, ctx: CheckContext, checks: Iterable[Check] = CHECKS) -> CheckOutcome:
    findings: list[Finding] = []
    exercised: set[str] = set()
    for check in checks:
        result = check.fn(exchange, ctx)
        if result is None:
            continue
        exercised.add(check.clause)
        findings.extend(result)
    return CheckOutcome(findings, exercised)


__all__ = ["CHECKS", "CHECKED_CLAUSES", "Check", "CheckContext", "CheckOutcome", "run_all"]

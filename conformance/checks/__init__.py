"""Per-response invariants: small pure functions of one exchange, each registered with its clause
(``@check("ENV-1")``, :mod:`conformance.checks.registry`).

Each check judges one clause and returns ``None`` when the response gives it
nothing to judge, else the list of findings (empty = the clause was exercised
and held). The client's observer runs :func:`run_all` on every response the
suite receives; fuzzing registers the same functions with schemathesis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from conformance.checks.context import CheckContext
from conformance.checks.registry import Check, CheckFn, registered
from conformance.http.exchange import Exchange, Finding

# isort: off
# Importing a check module registers its checks (``@check``, conformance.checks.registry); this order is the
# order responses are judged in (the first finding on a response, which conformance.testing names, is JSON-1's
# before ENV-1's).
from conformance.checks import content, envelope, status, auth, times, enums  # noqa: E402, F401

# isort: on

CHECKS: tuple[Check, ...] = registered()
CHECKED_CLAUSES: frozenset[str] = frozenset(c.clause for c in CHECKS)


@dataclass
class CheckOutcome:
    findings: list[Finding]
    exercised: set[str]


def run_all(
    exchange: Exchange,
    ctx: CheckContext,
    checks: Iterable[Check] = CHECKS,
    on_error: Callable[[Check, Exception], None] | None = None,
) -> CheckOutcome:
    """Every check on ``exchange``. A check that raises propagates, unless ``on_error`` is given: then it is
    told, and every other check still judges the exchange."""
    findings: list[Finding] = []
    exercised: set[str] = set()
    for check in checks:
        try:
            result = check.fn(exchange, ctx)
        except Exception as exc:
            if on_error is None:
                raise
            on_error(check, exc)
            continue
        if result is None:
            continue
        exercised.add(check.clause)
        findings.extend(result)
    return CheckOutcome(findings, exercised)


__all__ = ["CHECKS", "CHECKED_CLAUSES", "Check", "CheckContext", "CheckFn", "CheckOutcome", "run_all"]

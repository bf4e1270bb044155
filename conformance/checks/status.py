"""STATUS-1 and STATUS-2: the status table and its error-code pairing."""

from __future__ import annotations

from conformance.checks.context import CheckContext
from conformance.checks.registry import check
from conformance.http.exchange import Exchange, Finding
from conformance.spec import facts


@check("STATUS-1")
def allowed_status(ex: Exchange, ctx: CheckContext) -> list[Finding]:
    if ex.status not in facts.status_table():
        allowed = ", ".join(str(s) for s in facts.status_table())
        return [Finding.of("STATUS-1", f"HTTP {ex.status} is outside the status table ({allowed})", ex)]
    return []


@check("STATUS-2")
def error_code_matches_status(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
    codes = facts.status_table().get(ex.status)
    if not codes:
        return None  # success status, or one STATUS-1 already rejects
    code = ex.error_code
    if code not in codes:
        expected = " or ".join(sorted(codes))
        return [Finding.of("STATUS-2", f"HTTP {ex.status} carries error_code {code!r}; expected {expected}", ex)]
    return []

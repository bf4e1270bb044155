"""STATUS-1 and STATUS-2: the status table and its error-code pairing."""

from __future__ import annotations

from conformance import spec
from conformance.checks.context import CheckContext
from conformance.exchange import Exchange, Finding


def allowed_status(ex: Exchange, ctx: CheckContext) -> list[Finding]:
    if ex.status not in spec.status_table():
        allowed = ", ".join(str(s) for s in spec.status_table())
        return [Finding.of("STATUS-1", f"HTTP {ex.status} is outside the status table ({allowed})", ex)]
    return []


def error_code_matches_status(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
    codes = spec.status_table().get(ex.status)
    if not codes:
        return None  # success status, or one STATUS-1 already rejects
    code = ex.error_code
    if code not in codes:
        expected = " or ".join(sorted(codes))
        return [Finding.of("STATUS-2", f"HTTP {ex.status} carries error_code {code!r}; expected {expected}", ex)]
    return []

"""AUTH-3 on every response: a request carrying a configured key verbatim is never
refused as unauthenticated. Any test's setup write that gets 401 is charged here,
not turned into an unjudgeable precondition."""

from __future__ import annotations

from conformance.checks.context import CheckContext
from conformance.checks.registry import check
from conformance.http.exchange import Exchange, Finding


@check("AUTH-3")
def valid_key_accepted(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
    if not ex.authenticated:
        return None
    if ex.status == 401:
        return [Finding.of("AUTH-3", f"{ex.method} with a valid key, sent verbatim, was refused (401)", ex)]
    return []

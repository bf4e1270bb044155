"""ENUM-1..3: enumerated fields in responses hold values of their set."""

from __future__ import annotations

from collections.abc import Callable

from conformance.checks.context import CheckContext, objects_in
from conformance.exchange import Exchange, Finding


def enum_values(clause: str) -> Callable[[Exchange, CheckContext], list[Finding] | None]:
    def check(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
        env = ex.envelope
        if env is None or env.get("success") is not True:
            return None
        fields = {n: allowed for n, (allowed, c) in ctx.kinds(ex.resource).enums.items() if c == clause}
        findings: list[Finding] | None = None
        for obj in objects_in(env.get("data")):
            for name, allowed in fields.items():
                if name not in obj:
                    continue
                findings = findings if findings is not None else []
                value = obj[name]
                if value is not None and value not in allowed:
                    findings.append(Finding.of(clause, f"{name} is {value!r}, outside {sorted(allowed)}", ex))
        return findings

    check.__name__ = f"enum_values_{clause.replace('-', '_').lower()}"
    return check

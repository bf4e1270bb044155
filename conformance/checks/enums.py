"""ENUM-1..3: enumerated fields in responses hold values of their set.

Which fields are enumerations comes from the target description (SPEC.md), so only the
objects it describes are judged: the data or the objects of a data array, not objects
nested inside them, whose members are the vendor's own (a ``status`` there is not ENUM-1's)."""

from __future__ import annotations

from conformance.checks.context import CheckContext
from conformance.checks.registry import CheckFn, check
from conformance.http.exchange import Exchange, Finding


def enum_values(clause: str) -> CheckFn:
    """The check of ``clause``: the enumerated fields it names hold values of their set."""

    def values(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
        objects = ex.records
        if not objects:
            return None
        fields = ctx.kinds(ex.resource).enum_fields(clause)
        findings: list[Finding] | None = None
        for obj in objects:
            for name, allowed in fields.items():
                if name not in obj:
                    continue
                findings = findings if findings is not None else []
                value = obj[name]
                if value is not None and value not in allowed:
                    findings.append(Finding.of(clause, f"{name} is {value!r}, outside {sorted(allowed)}", ex))
        return findings

    values.__name__ = f"enum_values_{clause.replace('-', '_').lower()}"
    return values


for _clause in ("ENUM-1", "ENUM-2", "ENUM-3"):
    check(_clause)(enum_values(_clause))

"""Repeated findings as one group: what went wrong, how often, where.

A fault shows at every object and instant a run touches: TIME-3 with the zone's summer offset ignored is one finding
per time value rendered in summer. The findings of a clause group by the shape of their message
(:func:`conformance.verdicts.messages.shape`: the field, expected and seen values stay; ids, times, dates and counts
go), so a reader sees one card per fault, its count and the tests that saw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.verdicts.messages import shape


@dataclass
class Group:
    clause: str
    key: str  # the message's shape
    members: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (1-based index in the clause, finding)

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def first(self) -> dict[str, Any]:
        return self.members[0][1]

    @property
    def tests(self) -> list[str]:
        out: list[str] = []
        for _, f in self.members:
            t = f.get("test_id") or ""
            if t and t not in out:
                out.append(t)
        return out


def key_of(finding: dict[str, Any]) -> str:
    return finding.get("group") or shape(str(finding.get("message", "")))


def group(clause: str, findings: list[dict[str, Any]]) -> list[Group]:
    """The clause's findings by what went wrong: the largest group first, then in the order first seen."""
    groups: dict[str, Group] = {}
    for i, f in enumerate(findings, 1):
        k = key_of(f)
        groups.setdefault(k, Group(clause, k)).members.append((i, f))
    order = list(groups.values())
    return sorted(order, key=lambda g: (-g.count, order.index(g)))

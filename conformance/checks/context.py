"""What the checks may know beyond the exchange: field kinds from the target model
and the organization's zone when the user gave it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from conformance.http.exchange import Exchange
from conformance.model import Resource, TargetModel


@dataclass(frozen=True)
class FieldKinds:
    times: frozenset[str]
    dates: frozenset[str]
    enums: dict[str, tuple[frozenset[str], str]]  # field -> (allowed values, clause)
    # Answers per field name and per clause, kept: every response asks the same few questions.
    _memo: dict[tuple[str, str], Any] = field(default_factory=dict, compare=False, repr=False)

    def is_time(self, name: str) -> bool:
        key = ("time", name)
        known = self._memo.get(key)
        if known is None:
            known = self._memo[key] = not name.endswith("_epoch") and (
                name in self.times or (name.endswith("_at") and name not in self.dates)
            )
        return known

    def is_date(self, name: str) -> bool:
        key = ("date", name)
        known = self._memo.get(key)
        if known is None:
            known = self._memo[key] = name in self.dates or (name.endswith("_on") and name not in self.times)
        return known

    def enum_fields(self, clause: str) -> dict[str, frozenset[str]]:
        """The enumerated fields ``clause`` judges, with their allowed values."""
        key = ("enum", clause)
        known = self._memo.get(key)
        if known is None:
            known = self._memo[key] = {n: allowed for n, (allowed, c) in self.enums.items() if c == clause}
        return known


def _kinds(resources: list[Resource]) -> FieldKinds:
    from conformance.spec import facts

    sets = facts.enum_sets()
    times, dates, enums = set(), set(), {}
    for res in resources:
        for f in res.fields.values():
            if f.kind == "time":
                times.add(f.name)
            elif f.kind == "date":
                dates.add(f.name)
            elif f.kind == "enum" and f.enum_set in sets:
                enums[f.name] = sets[f.enum_set]
    return FieldKinds(frozenset(times), frozenset(dates), enums)


@dataclass
class CheckContext:
    model: TargetModel | None = None
    zone: ZoneInfo | None = None
    _by_resource: dict[str | None, FieldKinds] = field(default_factory=dict)

    def kinds(self, resource: str | None) -> FieldKinds:
        """Field kinds of the addressed resource, or of all resources when unknown."""
        if resource not in self._by_resource:
            resources = self.model.resources if self.model else []
            chosen = [r for r in resources if r.name == resource] or resources
            self._by_resource[resource] = _kinds(chosen)
        return self._by_resource[resource]


def field_values(ex: Exchange, ctx: CheckContext, kind: str) -> list[tuple[dict[str, Any], str, Any]] | None:
    """(object, name, value) of every time (``kind`` "time") or date ("date") field anywhere in the data of
    a success response; ``None`` when the response is not a success envelope.

    Worked out once per exchange and field kinds: several checks (and the zone observations) ask."""
    objects = ex.data_objects
    if objects is None:
        return None
    kinds = ctx.kinds(ex.resource)
    memo = ex.__dict__.setdefault("_field_values", {})
    known = memo.get(kind)
    if known is not None and known[0] is kinds:
        return known[1]
    test = kinds.is_time if kind == "time" else kinds.is_date
    values = [(obj, name, value) for obj in objects for name, value in obj.items() if test(name)]
    memo[kind] = (kinds, values)
    return values

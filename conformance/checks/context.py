"""What the checks may know beyond the exchange: field kinds from the target model
and the organization's zone when the user gave it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from conformance.model import Resource, TargetModel


@dataclass(frozen=True)
class FieldKinds:
    times: frozenset[str]
    dates: frozenset[str]
    enums: dict[str, tuple[frozenset[str], str]]  # field -> (allowed values, clause)

    def is_time(self, name: str) -> bool:
        return not name.endswith("_epoch") and (name in self.times or name.endswith("_at"))

    def is_date(self, name: str) -> bool:
        return name in self.dates or (name.endswith("_on") and name not in self.times)


def _kinds(resources: list[Resource]) -> FieldKinds:
    from conformance import spec

    sets = spec.enum_sets()
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


def objects_in(data: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object inside ``data`` (the data itself, array items, nested objects)."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from objects_in(value)
    elif isinstance(data, list):
        for item in data:
            yield from objects_in(item)

"""The target model: what the suite needs to know about a target, read once from
its OpenAPI description.

Clause tests and checks never name a resource or a field of the reference API;
everything they touch comes from here. Conventions a description may use
(all optional; documented in README):

- ``x-spec-versions: [1, 2]`` (top level): the versions the target serves (default ``[1]``).
- ``x-spec-min-version: N`` on a property: the field exists from version N on.
- ``x-spec-enum: subscriber_status | custom_field_type | winner_metric`` on a property,
  or an ``enum`` equal to one of those sets.
- ``readOnly: true`` marks server fields; a time field is ``format: date-time`` or
  named ``*_at``; a date field is ``format: date`` or named ``*_on``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FieldKind = Literal["time", "date", "enum", "other"]


@dataclass(frozen=True)
class Field:
    name: str
    schema: dict[str, Any]  # the property's schema, $refs resolved
    required: bool  # required in a write body
    read_only: bool
    nullable: bool
    kind: FieldKind
    enum_set: str | None = None  # x-spec-enum name, e.g. "subscriber_status"
    enum_clause: str | None = None  # ENUM-1..3
    min_version: int = 1

    def in_version(self, version: int) -> bool:
        return version >= self.min_version


@dataclass(frozen=True)
class Resource:
    """An item path with a client-chosen id, e.g. ``/lists/{list_id}/contacts/{id}``."""

    name: str  # the static segment before {id}, e.g. "contacts"
    item_path: str
    id_param: str
    id_schema: dict[str, Any]
    methods: frozenset[str]  # upper-case HTTP methods the item path declares
    fields: dict[str, Field]  # every property of the stored object, by name
    write_schema: dict[str, Any]  # JSON Schema of a valid write body (resolved, self-contained)
    parent: Resource | None = None
    parent_param: str | None = None  # the path parameter naming the parent's id
    collection_path: str | None = None
    limit_param: str | None = None
    limit_max: int | None = None

    def writable(self, version: int) -> list[Field]:
        return [f for f in self.fields.values() if not f.read_only and f.in_version(version)]

    def of_kind(self, kind: FieldKind) -> list[Field]:
        return [f for f in self.fields.values() if f.kind == kind]

    def path_for(self, ids: dict[str, str]) -> str:
        """The item path with its parameters filled from ``ids``."""
        path = self.item_path
        for key, value in ids.items():
            path = path.replace("{" + key + "}", value)
        return path

    def chain(self) -> list[Resource]:
        """Ancestors first, this resource last."""
        out: list[Resource] = []
        node: Resource | None = self
        while node is not None:
            out.append(node)
            node = node.parent
        return out[::-1]


@dataclass
class TargetModel:
    resources: list[Resource]
    versions: list[int]
    description: dict[str, Any]
    source: str  # path or URL it came from
    sha256: str  # of the raw bytes as read
    extra: dict[str, Any] = field(default_factory=dict)

    def resource(self, name: str) -> Resource:
        for r in self.resources:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def latest_version(self) -> int:
        return max(self.versions)


class DescriptionError(Exception):
    """The target description cannot be read or understood (a usage error, exit 2)."""


def load_model(source: str, *, timeout: float = 10.0, verify: bool | str = True) -> TargetModel:
    """Read an OpenAPI 3.x description (file path or http(s) URL) into a model."""
    raise NotImplementedError  # implemented by the model work in progress

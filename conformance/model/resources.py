"""What the suite knows of a target: its resources (item paths with a client-chosen id), their fields, and the
versions it serves, as :mod:`conformance.model.build` reads them from its description; and the error a
description that cannot be read or understood raises."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Literal

FieldKind = Literal["time", "date", "enum", "other"]
FieldRole = Literal["id", "parent_id", "created", "updated", "epoch"]


@dataclass(frozen=True, eq=False)  # identity equality: hashable, so usable as a cache key
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
    # Values the description's enum adds to the spec set it otherwise is (SPEC ambiguity 20): each is a
    # violation of the field's ENUM clause, reported from the description itself.
    enum_extras: tuple[str, ...] = ()
    # What the server fills a read-only field with: the object's id, its parent's id,
    # the creation / last-change time, or the epoch companion of a time field.
    role: FieldRole | None = None

    def in_version(self, version: int) -> bool:
        return version >= self.min_version

    @property
    def has_default(self) -> bool:
        return "default" in self.schema

    def default(self) -> Any:
        """The value a write that leaves this field out stores (IDEM-3): the declared
        ``default``, else null for a nullable field; ``KeyError`` when it has neither."""
        if "default" in self.schema:
            return copy.deepcopy(self.schema["default"])
        if self.nullable:
            return None
        raise KeyError(self.name)


@dataclass(frozen=True, eq=False)  # identity equality: hashable, so usable as a cache key
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
    described_path: str = ""  # the item path as the description writes it (before --path-param filled it)
    described_collection_path: str | None = None
    limit_param: str | None = None
    limit_max: int | None = None
    limit_default: int | None = None

    def writable(self, version: int) -> list[Field]:
        return [f for f in self.fields.values() if not f.read_only and f.in_version(version)]

    def of_kind(self, kind: FieldKind) -> list[Field]:
        return [f for f in self.fields.values() if f.kind == kind]

    def with_role(self, role: FieldRole) -> Field | None:
        """The read-only field playing ``role`` (e.g. "updated" -> ``updated_at``), if any."""
        return next((f for f in self.fields.values() if f.role == role), None)

    def write_schema_for(self, version: int) -> dict[str, Any]:
        """The write schema without the fields this version does not have."""
        absent = {f.name for f in self.fields.values() if not f.in_version(version)}
        schema = copy.deepcopy(self.write_schema)
        if absent:
            schema["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k not in absent}
            schema["required"] = [r for r in schema.get("required", []) if r not in absent]
        return schema

    def path_for(self, ids: dict[str, str]) -> str:
        """The item path with its parameters filled from ``ids``."""
        path = self.item_path
        for key, value in ids.items():
            path = path.replace("{" + key + "}", value)
        return path

    def collection_path_for(self, parent_ids: list[str]) -> str | None:
        """The collection path with its parameters filled, ancestors' ids in order."""
        if self.collection_path is None:
            return None
        values = iter(parent_ids)
        return re.sub(r"\{[^{}/]+\}", lambda _: next(values), self.collection_path)

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

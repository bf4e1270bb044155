"""What a property of a resource is, by the spec's rules: a time, a date, one of the spec's enumerations (and
the values a description adds to it), or other; the role a read-only field plays; the version it exists from.

A *time field* is ``format: date-time`` (or the spec's time pattern) or named ``*_at``; a *date field* is
``format: date`` (or the date pattern) or named ``*_on``; an enumeration is a property whose ``enum`` holds one
of the spec's sets, or that carries ``x-spec-enum``; ``x-spec-min-version: N`` says the field exists from
version N on.
"""

from __future__ import annotations

from typing import Any

from conformance.model.resources import DescriptionError, FieldKind, FieldRole
from conformance.model.schemas import annotation, declared_enum, members
from conformance.spec import facts


def classify(name: str, schema: Any, where: str) -> tuple[FieldKind, str | None, str | None]:
    """(kind, enum set, enum clause) of a property, by the spec's rules."""
    sets = facts.enum_sets()
    named = annotation(schema, "x-spec-enum")
    if named is not None:
        if named not in sets:
            raise DescriptionError(f"{where}: x-spec-enum {named!r} is not one of {sorted(sets)}")
        return "enum", named, sets[named][1]
    values = declared_enum(schema)
    for set_name, (spec_values, clause) in sets.items():
        if values is not None and values >= spec_values:  # the set itself, or the set plus vendor extras
            return "enum", set_name, clause
    formats = {m.get("format") for m in members(schema)}
    patterns = {m.get("pattern") for m in members(schema)}
    if name.endswith("_epoch"):
        return "other", None, None
    if "date-time" in formats or facts.TIME_PATTERN in patterns:
        return "time", None, None
    if "date" in formats or facts.DATE_PATTERN in patterns:
        return "date", None, None
    if name.endswith("_at"):
        return "time", None, None
    if name.endswith("_on"):
        return "date", None, None
    return "other", None, None


def enum_extras(schema: Any, enum_set: str | None) -> tuple[str, ...]:
    """The values a property's ``enum`` lists beyond the spec set it names or matches (SPEC ambiguity 20)."""
    values = declared_enum(schema)
    if enum_set is None or values is None:
        return ()
    return tuple(sorted(values - facts.enum_sets()[enum_set][0]))


_CREATED = ("created", "inserted")
_UPDATED = ("updated", "modified", "changed", "last_modified")


def role(
    name: str, read_only: bool, kind: str, names: set[str], id_param: str, parent_param: str | None, times: set[str]
) -> FieldRole | None:
    """What the server fills a field with: the object's id (the id parameter's name, or ``id``), its parent's
    id, the creation or last-change time (a read-only time named ``created*``/``updated*``...), or the epoch
    companion ``<time field>_epoch``; None for a field the client writes."""
    if name == id_param or (name == "id" and id_param not in names):
        return "id"
    if parent_param is not None and name == parent_param:
        return "parent_id"
    if name.endswith("_epoch") and name[: -len("_epoch")] in times:
        return "epoch"
    if read_only and kind == "time":
        if name.startswith(_CREATED):
            return "created"
        if name.startswith(_UPDATED):
            return "updated"
    return None


def min_version(schema: dict[str, Any], where: str) -> int:
    """The version a property exists from (``x-spec-min-version``, default 1)."""
    value = annotation(schema, "x-spec-min-version")
    if value is None:
        return 1
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise DescriptionError(f"{where}: x-spec-min-version must be a positive integer, not {value!r}")
    return value

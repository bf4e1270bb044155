"""Faults only generated input (schemathesis) reaches: the scripted clause tests send tame ASCII bodies, so
only the fuzz tests find these (their names start with ``fuzz-``; tests/test_fuzzing.py runs them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conformance.reference.behaviour import Ctx, Issue
from conformance.reference.faults.hooks import Compose, Composer
from conformance.reference.faults.shared import crash_on
from conformance.reference.faults.switch import Group
from conformance.reference.store import Record

SWITCHES = Group()


def _stored_text(convert: Callable[[str], str]) -> Compose:
    """An override of ``compose`` that passes every string the body gives a field, at any depth,
    through a storage column's ``convert`` (which may raise)."""

    def override(default: Composer, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict[str, Any]:
        return default(ctx, old, {name: _map_strings(convert, value) for name, value in values.items()})

    return override


def _map_strings(convert: Callable[[str], str], value: Any) -> Any:
    if isinstance(value, str):
        return convert(value)
    if isinstance(value, list):
        return [_map_strings(convert, item) for item in value]
    if isinstance(value, dict):
        return {key: _map_strings(convert, item) for key, item in value.items()}
    return value


def _ascii_column(text: str) -> str:
    return text.encode("ascii").decode("ascii")  # UnicodeEncodeError escapes as a 500


SWITCHES.fault(
    "fuzz-500-non-ascii",
    "IDEM-1",
    "A write with a non-ASCII character in a string field, at any depth, gets 500 (an ASCII storage column).",
    compose=_stored_text(_ascii_column),
)


def _empty_string_crashes(
    default: Callable[[Ctx, list[Issue]], list[Issue]], ctx: Ctx, issues: list[Issue]
) -> list[Issue]:
    """Before validation, an empty string in any known field (at any depth) hits a CHECK constraint."""
    assert ctx.route is not None
    try:
        body = json.loads(ctx.body)
    except ValueError:
        return default(ctx, issues)
    if isinstance(body, dict):
        known = {f.name for f in ctx.route.resource.writable(ctx.version)}
        if any(_has_empty_string(value) for name, value in body.items() if name in known):
            raise ValueError("CHECK constraint failed: length(value) > 0")
    return default(ctx, issues)


def _has_empty_string(value: Any) -> bool:
    if value == "":
        return True
    if isinstance(value, list):
        return any(_has_empty_string(v) for v in value)
    if isinstance(value, dict):
        return any(_has_empty_string(v) for v in value.values())
    return False


SWITCHES.fault(
    "fuzz-500-empty-string",
    "IDEM-1",
    "An empty string in any field, at any depth, gets 500: a CHECK constraint the description never declared "
    "escapes, so valid writes fail.",
    judge=_empty_string_crashes,
)


def _latin1_column(text: str) -> str:
    return text.encode("utf-8", "surrogatepass").decode("latin-1")  # UTF-8 bytes read back as latin-1


SWITCHES.fault(
    "fuzz-mangles-non-ascii",
    "IDEM-4",
    "Stores strings as UTF-8 bytes read back as latin-1: non-ASCII text comes back mangled (é as Ã©).",
    compose=_stored_text(_latin1_column),
)
SWITCHES.fault(
    "fuzz-500-unknown-nested",
    "IDEM-1",
    "Ignores unknown scalar members, but an unknown member that is an object or array gets 500.",
    judge=crash_on("unknown", TypeError, lambda value: isinstance(value, dict | list)),
)


def _null_crashes(default: Composer, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict[str, Any]:
    assert ctx.route is not None
    for f in ctx.route.resource.writable(ctx.version):
        if f.nullable and f.name in values and values[f.name] is None:
            raise TypeError(f"{f.name}: the setter calls a method of None")
    return default(ctx, old, values)


SWITCHES.fault(
    "fuzz-500-null-optional",
    "IDEM-1",
    "An explicit null for a nullable field gets 500 (leaving the field out works).",
    compose=_null_crashes,
)

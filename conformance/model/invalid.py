"""Bodies the description refuses, and bodies at its edges, each derived from a valid body: a field left out,
a wrong JSON type, a value outside an enumeration, a malformed time or date (STATUS-3, ENUM-4, TIME-5); a value
just past each bound the description declares (STATUS-3); values where storage cuts (IDEM-1, IDEM-4). An
invalid case is proven invalid against the write schema before it is sent, so a target is never charged for
refusing what the description allows."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, find, settings

from conformance.model import Field, Resource
from conformance.model.schemas import format_of, is_valid, members, schema_types
from conformance.model.strategies import (
    SAFE_INTEGER,
    _body_with_items,
    _tame,
    from_schema,
    minimal_body,
    write_schema,
)


@dataclass(frozen=True)
class InvalidCase:
    """A body that must be refused with 403 validation_failed (and change nothing)."""

    kind: (
        str  # missing-required | wrong-type | wrong-item-type | out-of-enum | bad-time | bad-date | a bound's (BOUNDS)
    )
    field: str
    value: Any
    body: dict[str, Any]
    clause: str

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.field}"


BAD_TIMES = (
    "yesterday",
    "2013-03-27 10:41",
    "2013-02-30T10:41:15-05:00",
    "2013-03-27T25:41:15-05:00",
    "2013-13-01T00:00:00+00:00",
)


BAD_DATES = ("2013-02-30", "yesterday", "2013/03/27", "2013-13-01")


OUT_OF_ENUM = "not_a_spec_value"


def invalid_cases(resource: Resource, version: int) -> list[InvalidCase]:
    base = minimal_body(resource, version)
    schema = write_schema(resource, version)
    schema.pop("additionalProperties", None)
    cases: list[InvalidCase] = []

    def add(kind: str, f: Field, value: Any, clause: str, body: dict[str, Any], check_schema: bool = True) -> None:
        if check_schema and is_valid(schema, body):
            return  # not provably invalid by the description: never send it as "invalid"
        cases.append(InvalidCase(kind, f.name, value, body, clause))

    for f in resource.writable(version):
        if f.required:
            body = {k: v for k, v in base.items() if k != f.name}
            add("missing-required", f, None, "STATUS-3", body)
        wrong = _wrong_type_value(f.schema)
        if wrong is not _NONE:
            add("wrong-type", f, wrong, "STATUS-3", {**base, f.name: wrong})
        for near in _near_type_values(f.schema):  # what a coercing parser reads as the right type
            add("wrong-type-near", f, near, "STATUS-3", {**base, f.name: near})
        items = f.schema.get("items")
        wrong_item = _wrong_type_value(items) if isinstance(items, dict) else _NONE
        if wrong_item is not _NONE:  # a wrong type inside an array is a wrong type too
            filled = _body_with_items(resource, version, f.name)  # other fields may decide whether items are allowed
            body = {**filled, f.name: [wrong_item, *filled[f.name][1:]]} if filled else {**base, f.name: [wrong_item]}
            add("wrong-item-type", f, [wrong_item], "STATUS-3", body)
        if f.kind == "enum":
            add("out-of-enum", f, OUT_OF_ENUM, "ENUM-4", {**base, f.name: OUT_OF_ENUM}, check_schema=False)
        elif f.kind == "time":
            for bad in BAD_TIMES:
                add("bad-time", f, bad, "TIME-5", {**base, f.name: bad}, check_schema=False)
        elif f.kind == "date":
            for bad in BAD_DATES:
                add("bad-date", f, bad, "TIME-5", {**base, f.name: bad}, check_schema=False)
    return cases


_NONE = object()


def _wrong_type_value(schema: dict[str, Any]) -> Any:
    """A JSON value of a type the schema does not allow, or ``_NONE``."""
    allowed = schema_types(schema)
    if not allowed:
        return _NONE
    for candidate, t in ((12345, "integer"), ("not-a-number", "string"), (["x"], "array"), ({"x": 1}, "object")):
        if t not in allowed and not (t == "integer" and "number" in allowed):
            return candidate
    return _NONE


# -- just past the bounds a description declares (STATUS-3: "a value outside" what it allows) ------------------
MAX_BOUND_SIZE = 10_000  # characters or items: a longer probe is a body size limit's business, not the bound's


BOUNDS = {  # keyword -> the kind of case just past it
    "maximum": "above-maximum",
    "exclusiveMaximum": "at-exclusive-maximum",
    "minimum": "below-minimum",
    "exclusiveMinimum": "at-exclusive-minimum",
    "maxLength": "too-long",
    "minLength": "too-short",
    "maxItems": "too-many-items",
    "minItems": "too-few-items",
}


def bound_cases(resource: Resource, version: int, base: dict[str, Any]) -> list[InvalidCase]:
    """``base`` (a body the target accepted) with one field just past one bound its own schema declares (or a
    member of its ``anyOf``/``oneOf``/``allOf`` does): ``maximum + 1``, ``minimum - 1``, an exclusive bound itself,
    ``maxLength + 1`` / ``minLength - 1`` characters, ``maxItems + 1`` / ``minItems - 1`` items; each body
    proven invalid against the whole write schema before it is a case. The value keeps what else the field
    asks (its pattern, its items) where it can, so the bound alone refuses it. Bounds inside conditionals
    (``if``/``then``) and item schemas are not probed, nor integers past 2^53 - 1 or sizes past
    ``MAX_BOUND_SIZE``. Time, date and enumerated fields have their own cases."""
    schema = write_schema(resource, version)
    schema.pop("additionalProperties", None)
    cases: list[InvalidCase] = []
    for f in resource.writable(version):
        if f.kind != "other":
            continue
        seen: set[str] = set()
        for member in members(f.schema):
            for keyword, kind in BOUNDS.items():
                value = _past(member, keyword, base.get(f.name), resource, version, f.name)
                if value is _NONE:
                    continue
                body = {**base, f.name: value}
                key = f"{kind}:{value!r}"
                if key in seen or is_valid(schema, body):
                    continue  # another member of the field's schema allows it: not outside what it declares
                seen.add(key)
                cases.append(InvalidCase(kind, f.name, value, body, "STATUS-3"))
    return cases


def _past(member: dict[str, Any], keyword: str, current: Any, resource: Resource, version: int, name: str) -> Any:
    """A value just past ``member``'s ``keyword`` (``_NONE`` when it declares none that can be probed), preferring
    one that ``member`` less that keyword allows."""
    bound = member.get(keyword)
    if isinstance(bound, bool) or not isinstance(bound, int | float):
        return _NONE
    types = schema_types(member)
    if keyword in ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"):
        return _past_number(keyword, bound, types)
    size = int(bound) + (1 if keyword.startswith("max") else -1)
    if size < 0 or size > MAX_BOUND_SIZE:
        return _NONE
    trials: list[Any]
    if keyword in ("maxLength", "minLength") and "string" in types and not ({"enum", "const"} & member.keys()):
        text = current if isinstance(current, str) and current else "Conformance"
        pad = "x" * max(0, size - len(text))
        trials = [t for t in ((text + pad)[:size], (pad + text)[len(pad + text) - size :]) if len(t) == size]
        trials.append("x" * size)
    elif keyword in ("maxItems", "minItems") and "array" in types:
        items = _items_for(current, member, resource, version, name, size)
        if items is None:
            return _NONE
        trials = [items]
    else:
        return _NONE
    lax = {k: v for k, v in member.items() if k != keyword}
    return next((t for t in trials if is_valid(lax, t)), trials[-1])


def _past_number(keyword: str, bound: float, types: set[str]) -> Any:
    if not types & {"integer", "number"}:
        return _NONE
    whole = "number" not in types  # an integer field: the next whole number past the bound
    if keyword == "maximum":
        value: float = math.floor(bound) + 1 if whole else bound + 1
    elif keyword == "minimum":
        value = math.ceil(bound) - 1 if whole else bound - 1
    elif keyword == "exclusiveMaximum":
        value = math.ceil(bound) if whole else bound
    else:
        value = math.floor(bound) if whole else bound
    if abs(value) > SAFE_INTEGER:
        return _NONE
    return int(value) if float(value).is_integer() and (whole or isinstance(bound, int)) else value


def _items_for(
    current: Any, member: dict[str, Any], resource: Resource, version: int, name: str, size: int
) -> list[Any] | None:
    """``size`` items for an array field: the written ones, then more like them (strings told apart, for a
    ``uniqueItems``), or generated from the item schema; None when no item can be made."""
    items = list(current) if isinstance(current, list) else []
    if len(items) >= size:
        return items[:size]
    if not items:
        filled = _body_with_items(resource, version, name)
        items = list(filled[name]) if filled and isinstance(filled.get(name), list) else []
    if not items and isinstance(member.get("items"), dict):
        try:
            items = [
                find(
                    from_schema(_tame(member["items"])),
                    lambda v: True,
                    settings=settings(database=None, max_examples=50, suppress_health_check=list(HealthCheck)),
                )
            ]
        except Exception:  # an item schema the engine cannot satisfy
            return None
    if not items:
        return None
    out = list(items)
    n = 0
    while len(out) < size:
        model = items[n % len(items)]
        out.append(f"{model} {n + 2}" if isinstance(model, str) else copy.deepcopy(model))
        n += 1
    return out


LONG_TEXT = 300  # characters of a free-text field with no declared maxLength: past a VARCHAR(255)


INTEGER_EDGES = (2**31, -(2**31) - 1, 2**53 - 1, -(2**53 - 1))  # past 32 bits; the most every JSON parser keeps


def boundary_bodies(resource: Resource, version: int, base: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Bodies the description allows with values at the edges storage cuts (SPEC ambiguity 17): every free-text
    field at its ``maxLength`` (``LONG_TEXT`` when unbounded), and each integer field at the 32- and 53-bit edges
    its schema admits (``format: int32`` admits no more than 32 bits). ``(what, body)`` pairs."""
    schema = write_schema(resource, version)
    out: list[tuple[str, dict[str, Any]]] = []
    long = dict(base)
    for f in resource.writable(version):
        types = schema_types(f.schema)
        if f.kind == "other" and types & {"string"} and format_of(f.schema) is None and "enum" not in f.schema:
            size = min(int(f.schema.get("maxLength", LONG_TEXT)), 2000)
            trial = {**long, f.name: ("Conformance " + "x" * size)[:size]}
            if is_valid(schema, trial):
                long = trial
        if "integer" in types:
            top = 2**31 - 1 if format_of(f.schema) == "int32" else 2**53 - 1
            for edge in INTEGER_EDGES:
                trial = {**base, f.name: edge}
                if abs(edge) <= top + 1 and -(top + 1) <= edge <= top and is_valid(schema, trial):
                    out.append((f"{f.name}={edge}", trial))
    if long != base:
        out.insert(0, ("every free-text field at its longest", long))
    return out


def _near_type_values(schema: dict[str, Any]) -> list[Any]:
    """Wrong JSON types a coercing parser (PHP, JavaScript, a form decoder) would take for the right one: ``"12"``
    for a number, ``"true"`` for a boolean. SPEC names any wrong JSON type as ``validation_failed``."""
    allowed = schema_types(schema)
    out: list[Any] = []
    if allowed & {"integer", "number"} and "string" not in allowed:
        out.append("12")
    if "boolean" in allowed and "string" not in allowed:
        out.append("true")
    return out

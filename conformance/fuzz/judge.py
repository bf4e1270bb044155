"""What the spec requires of the answer to a generated request, decided from the
request alone.

Schemathesis labels a case positive or negative by the description; the spec only
promises certain refusals. So every body and query is re-read here, field by field,
and only what SPEC.md names is demanded:

- a body that is not a JSON object: ``403 invalid_request`` (JSON-2);
- a missing required field or a wrong JSON type (also inside arrays): ``403
  validation_failed`` (STATUS-3); a value outside an enumeration (ENUM-4); a time or
  date no ISO 8601 reading accepts (TIME-5);
- anything else the description forbids (length, pattern, a lenient time form) is
  bad input that must never get 5xx (STATUS-3) but may be accepted;
- unknown fields are ignored or refused (ambiguity 7): not judged;
- a ``limit`` above the declared maximum: ``403 requested_too_many`` (STATUS-5); below
  1 or not an integer: ``403`` with ``validation_failed`` or ``invalid_request``
  (ambiguity 11); above 2**31-1, where a server's integer parsing may give up, any
  of the three codes; a whole number written unusually (``+5``, ``5.0``, ``1e1``):
  its value's verdict, or refused as malformed.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import jsonschema

from conformance.model import Field, Resource, declared_enum
from conformance.model.schemas import schema_types
from conformance.spec import facts

_JSON_TYPES = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


@dataclass(frozen=True)
class Expectation:
    """``statuses``/``codes`` empty: anything but 5xx is acceptable."""

    clause: str
    reason: str
    statuses: tuple[int, ...] = ()
    codes: tuple[str, ...] = ()

    @property
    def refusal(self) -> bool:
        return bool(self.statuses)


NOT_AN_OBJECT = "JSON-2"


def judge_body(resource: Resource, version: int, raw: bytes | None) -> Expectation | None:
    """The refusal a write body calls for, or ``None`` when the spec accepts it as valid."""
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = _NOT_JSON
    if not isinstance(body, dict):
        what = "no body" if raw is None or raw == b"" else "not JSON" if body is _NOT_JSON else "not a JSON object"
        return Expectation(NOT_AN_OBJECT, f"the body is {what}", (403,), ("invalid_request",))
    loose = None
    for f in resource.writable(version):
        if f.name not in body:
            if f.required:
                return Expectation("STATUS-3", f"required field {f.name} is missing", (403,), ("validation_failed",))
            continue
        verdict = _judge_value(f, body[f.name])
        if verdict is not None and verdict.refusal:
            return verdict
        loose = loose or verdict
    return loose


_NOT_JSON = object()


def _judge_value(f: Field, value: Any) -> Expectation | None:
    allowed = schema_types(f.schema) | ({"null"} if f.nullable else set())
    if allowed and not any(_JSON_TYPES[t](value) for t in allowed if t in _JSON_TYPES):
        if "integer" in allowed and isinstance(value, float) and value.is_integer():
            # JSON has one number type: 1.0 is an integer to JSON Schema, a wrong type to a strict server.
            return Expectation("STATUS-3", f"{f.name}={value!r}, a whole number written with a fraction")
        return _refuse("STATUS-3", f"{f.name} has the wrong JSON type ({type(value).__name__})")
    if value is None:
        return None
    if f.kind == "enum":
        # the spec's set (an x-spec-enum field may list no values of its own; extras are ENUM-1..3's, ambiguity 20)
        values = facts.enum_sets()[f.enum_set][0] if f.enum_set else declared_enum(f.schema)
        if values and value not in values:
            return _refuse("ENUM-4", f"{f.name}={value!r} is outside its enumeration")
        return None
    if f.kind in ("time", "date") and isinstance(value, str) and not _iso_readable(value, f.kind):
        return _refuse("TIME-5", f"{f.name}={value!r} is not a {f.kind} in any ISO 8601 reading")
    errors = list(jsonschema.Draft202012Validator(f.schema).iter_errors(value))
    if any(_is_type_error(e) for e in errors):
        return _refuse("STATUS-3", f"{f.name} holds a value of the wrong JSON type")
    if errors:
        return Expectation("STATUS-3", f"{f.name} breaks the description ({errors[0].message[:80]})")
    return None


def _refuse(clause: str, reason: str) -> Expectation:
    return Expectation(clause, reason, (403,), ("validation_failed",))


def _is_type_error(error: jsonschema.ValidationError) -> bool:
    """A ``type`` failure, also nested in arrays, but not one branch of an anyOf/oneOf."""
    if error.validator == "type":
        return True
    if error.validator in ("anyOf", "oneOf"):
        return bool(error.context) and all(_is_type_error(e) for e in error.context)
    return False


def _iso_readable(value: str, kind: str) -> bool:
    """Lenient on purpose: only what no ISO 8601 reading accepts is demanded refused.

    Not :func:`conformance.checks.times.parse_time`/``parse_date``: those accept only the spec's exact output
    shape (TIME-1), while TIME-5 lets a server accept any ISO form of an input (``…Z``, ``20130327``)."""
    try:
        if kind == "date":
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_PLAIN_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)", re.ASCII)


def judge_limit(resource: Resource, query: dict[str, Any]) -> Expectation | None:
    """The refusal a collection query calls for (only ``limit`` is the spec's)."""
    if not resource.limit_param or resource.limit_param not in query:
        return None
    value = query[resource.limit_param]
    if isinstance(value, list):
        return Expectation("STATUS-3", "limit given more than once")  # which one counts is open
    text = "true" if value is True else "false" if value is False else str(value)
    if not _PLAIN_INTEGER.fullmatch(text):
        return _judge_unusual_limit(resource, text)
    n = int(text)
    if resource.limit_max is not None and n > INT32_MAX:
        # Beyond any integer type a careful server parses into: "too many" or "malformed" both conform.
        return Expectation(
            "STATUS-5", f"limit={n} is beyond 32-bit range", (403,), ("requested_too_many", *BAD_QUERY_CODES)
        )
    if resource.limit_max is not None and n > resource.limit_max:
        return Expectation(
            "STATUS-5", f"limit={n} is above the maximum {resource.limit_max}", (403,), ("requested_too_many",)
        )
    if n < 1:
        return Expectation("STATUS-3", f"limit={n} is below 1", (403,), BAD_QUERY_CODES)
    return None


def _judge_unusual_limit(resource: Resource, text: str) -> Expectation:
    """``limit`` in a form that is an integer to some parsers and malformed to others (``+5``, `` 5``,
    ``5.0``, ``1e1``, ``0x10``, ``1_0``, non-ASCII digits): reading it as that number or refusing it as
    malformed both conform. Only what no reading makes a whole number must be refused as such.
    Leading zeros (``0500``) count as unusual too."""
    if not text.strip():
        return Expectation("STATUS-3", "an empty limit= is taken as not given or refused as malformed: either conforms")
    n = whole_number(text)
    if n is None:
        return Expectation("STATUS-3", f"limit={text!r} is not an integer", (403,), BAD_QUERY_CODES)
    if n < 1:
        return Expectation("STATUS-3", f"limit={text!r} reads as {n}, below 1", (403,), BAD_QUERY_CODES)
    if resource.limit_max is not None and n > resource.limit_max:
        return Expectation(
            "STATUS-5",
            f"limit={text!r} reads as {n}, above the maximum {resource.limit_max}, or is malformed",
            (403,),
            ("requested_too_many", *BAD_QUERY_CODES),
        )
    return Expectation("STATUS-3", f"limit={text!r} reads as {n} or is malformed: either conforms")


def whole_number(text: str) -> int | None:
    """The whole number a common parser reads ``text`` as (JSON Schema's ``5.0``, JavaScript's
    ``Number(" 1e1 ")`` and ``0x10``, Python's ``int("1_0")``), or ``None`` when none does."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        try:
            return int(text, 0)
        except ValueError:
            return None
    return int(value) if math.isfinite(value) and value.is_integer() else None


BAD_QUERY_CODES = ("validation_failed", "invalid_request")
INT32_MAX = 2**31 - 1

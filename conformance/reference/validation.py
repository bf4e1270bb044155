"""Checking a write body against the resource's write schema for the version.

Produces *issues* rather than raising, so that the decision of which issues refuse
a write stays in ``Behaviour.judge`` (where a variant may, say, refuse unknown
fields too). Time and date fields are checked by strict parsing, not by their
schema pattern, because a pattern cannot tell Feb 30 from Mar 1.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jsonschema

from conformance.model import Field, Resource
from conformance.reference.behaviour import Behaviour, Ctx, Issue


def check_body(
    ctx: Ctx, behaviour: Behaviour, resource: Resource, body: dict[str, Any]
) -> tuple[dict[str, Any], list[Issue]]:
    """(values to store, issues). Fields of a later version are dropped silently:
    a version-1 client neither sees nor sets them."""
    writable = {f.name: f for f in resource.writable(ctx.version)}
    issues = [
        Issue(name, "unknown", f"{name}: not a field of {resource.name}", value)
        for name, value in body.items()
        if name not in resource.fields
    ]
    payload = {k: v for k, v in body.items() if k in writable}
    for error in _validator(resource, ctx.version).iter_errors(payload):
        issue = _issue(error, writable)
        if issue is not None:
            issues.append(issue)
    values = dict(payload)
    for name, value in payload.items():
        f = writable[name]
        if f.kind not in ("time", "date") or (value is None and f.nullable):
            continue
        try:
            if not isinstance(value, str):
                raise ValueError("not a string")
            values[name] = behaviour.to_instant(ctx, value) if f.kind == "time" else behaviour.to_date(ctx, value)
        except ValueError as e:
            shape = "YYYY-MM-DDThh:mm:ss±hh:mm" if f.kind == "time" else "YYYY-MM-DD"
            issues.append(Issue(name, f.kind, f"{name}: {_short(value)} is not a valid {shape} ({e})", value))
    return values, issues


@lru_cache(maxsize=256)
def _validator(resource: Resource, version: int) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(resource.write_schema_for(version))


def _issue(error: jsonschema.ValidationError, writable: dict[str, Field]) -> Issue | None:
    if error.validator == "required" and not error.path:
        wanted = error.validator_value if isinstance(error.validator_value, list) else []
        missing = [r for r in wanted if isinstance(error.instance, dict) and r not in error.instance]
        name = missing[0] if missing else None
        return Issue(name, "required", f"{name}: is required")
    name = error.path[0] if error.path and isinstance(error.path[0], str) else None
    f = writable.get(name) if name is not None else None
    if f is not None and f.kind in ("time", "date"):
        return None  # strict parsing decides (above)
    value = error.instance if len(error.path) == 1 else None
    if f is not None and f.kind == "enum":
        return Issue(name, "enum", f"{name}: {_short(value)} is not one of the allowed values", value)
    kind = "type" if error.validator == "type" else "invalid"
    return Issue(name, kind, f"{name or 'body'}: {_short(error.message, 160)}", value)


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) and limit > 60 else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""The target description as schemathesis sees it, matched to the target model.

Schemathesis generates the data (positive and negative, from the description);
the model says which resource an operation belongs to, which path parameters are
parents and which is the item's own id, so the suite can put its own ids there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from conformance.model import Resource, TargetModel


@dataclass(frozen=True)
class FuzzOperation:
    method: str  # upper case
    path: str  # as in the description, without the version segment
    resource: Resource
    collection: bool  # the collection path (GET with limit) rather than the item path

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


class FuzzUnavailable(Exception):
    """Schemathesis cannot read this description (or one operation of it)."""


@cache
def load_schema(source: str, verify: bool | str = True, timeout: float = 10.0) -> Any:
    import schemathesis

    try:
        if "://" in source:
            return schemathesis.openapi.from_url(source, config=schemathesis.Config(), verify=verify, timeout=timeout)
        return schemathesis.openapi.from_path(source, config=schemathesis.Config())
    except Exception as exc:  # schemathesis' loader errors have no common base we can rely on
        raise FuzzUnavailable(f"schemathesis cannot load {source}: {str(exc).splitlines()[0][:200]}") from None


def operations(model: TargetModel) -> list[FuzzOperation]:
    """Every operation of the model's resources the spec gives meaning to."""
    out = []
    for resource in model.resources:
        for method in sorted(resource.methods & {"GET", "POST", "PUT", "DELETE"}):
            out.append(FuzzOperation(method, resource.described_path, resource, False))
        if resource.described_collection_path:
            out.append(FuzzOperation("GET", resource.described_collection_path, resource, True))
    return out


def schemathesis_operation(schema: Any, op: FuzzOperation) -> Any:
    """The schemathesis APIOperation for ``op``."""
    found = _operation_index(schema).get((op.method, op.path))
    if found is None:
        raise FuzzUnavailable(f"schemathesis could not read {op.label} (check its $refs and schemas)")
    return found


_INDEXES: dict[int, tuple[Any, dict[tuple[str, str], Any]]] = {}  # id(schema) -> (schema, its index)


def _operation_index(schema: Any) -> dict[tuple[str, str], Any]:
    """``(METHOD, path)`` -> operation, built once per loaded schema (a walk per lookup is quadratic in all)."""
    held = _INDEXES.get(id(schema))
    if held is None or held[0] is not schema:
        index: dict[tuple[str, str], Any] = {}
        for result in schema.get_all_operations():
            if type(result).__name__ == "Err":
                continue
            found = result.ok()
            index.setdefault((found.method.upper(), found.path), found)  # the first, as a walk would find
        held = _INDEXES[id(schema)] = (schema, index)
    return held[1]


# What a fuzz test sends of a generated case: the query of a collection read, the body of a write.
# Everything else (path parameters: the suite's own ids; headers: the suite's version and key) is kept
# out of schemathesis' hands, so it neither generates nor mutates what is never sent, and a negative
# case is negative where it is sent: the operation is copied without those parameters or, where this
# schemathesis cannot make such a copy, they are given to it as fixed placeholders.
_PLACEHOLDER = "set-by-the-suite"  # URL-safe: schemathesis quotes path parameters
_UNSENT = ("path_parameters", "headers", "cookies", "query")


def fuzzed_location(op: FuzzOperation) -> str | None:
    """The part of a generated request the suite sends: ``query``, ``body`` or nothing."""
    if op.collection:
        return "query"
    if op.method in ("POST", "PUT"):
        return "body"
    return None


@cache
def case_strategy(source: str, verify: bool | str, timeout: float, op: FuzzOperation, mode: str) -> Any:
    """The strategy of schemathesis cases for ``op`` in ``mode`` (``source`` as for :func:`load_schema`),
    built once per process. ``None`` when a negative case could only break what the suite does not send."""
    from schemathesis import GenerationMode

    operation = schemathesis_operation(load_schema(source, verify, timeout), op)
    sent = fuzzed_location(op)
    if mode == "negative" and (sent is None or (sent == "query" and not len(operation.query))):
        return None
    generation_mode = GenerationMode(mode)
    bare = without_unsent(operation, sent)
    if bare is not None:
        return bare.as_strategy(generation_mode=generation_mode)
    return operation.as_strategy(generation_mode=generation_mode, **placeholders(operation, sent))


def without_unsent(operation: Any, sent: str | None) -> Any:
    """A copy of the schemathesis operation without the parameters the suite does not send (so none are
    drawn at all: a fifth of the cost of a case), or ``None`` when this schemathesis cannot make one."""
    import dataclasses

    try:
        changes = {}
        for key in _UNSENT:
            params = getattr(operation, key)
            if key != sent and len(params):
                changes[key] = type(params)(params.location, [], adapter=params.adapter)
        return dataclasses.replace(operation, **changes)
    except Exception:  # another schemathesis' internals: fixed placeholders instead
        return None


def placeholders(operation: Any, sent: str | None) -> dict[str, dict[str, str]]:
    """Fixed values for the parameters the suite does not send, as ``as_strategy`` keyword arguments."""
    fixed = {}
    for key in _UNSENT:
        names = [p.name for p in getattr(operation, key)]
        if key != sent and names:
            fixed[key] = dict.fromkeys(names, _PLACEHOLDER)
    return fixed

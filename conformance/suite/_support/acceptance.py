"""Which bodies the target accepts (SPEC ambiguity 15): validity is a property of the body.

A vendor may validate more than its description says (business rules, conditions its OpenAPI
version cannot state, uniqueness). So a ``403 validation_failed`` for a body the description allows
is not a finding by itself. It is one when the same body, in the same state of everything else, gets
another answer: the body just accepted at this id, repeated (IDEM-1, IDEM-2); the body accepted at a
fresh id by the same method (the refusal depended on this id's history: IDEM-3); the body accepted by
the other write method (IDEM-2). Refused every way, the body is refused by the vendor's own rules: a
*description gap*, reported as a warning, and the example is discarded.

Where the suite needs any valid body (a precondition, one value of an enumeration), it searches the
candidates the description offers (its examples, the smallest body, every field set, optional
arrays non-empty, optional fields left out) for one the vendor accepts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from conformance.http.exchange import Exchange
from conformance.model import Resource

GAP_BODY_CHARS = 600


def refused_by_rule(ex: Exchange) -> bool:
    """The answer a vendor gives a body its own rules refuse: ``403 validation_failed``."""
    return ex.status == 403 and ex.error_code == "validation_failed"


@dataclass(frozen=True)
class DescriptionGap:
    """A body the description allows that the target refused at two fresh ids."""

    resource: str
    method: str
    version: int
    body: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def canonical(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def gap_of(resource: Resource, method: str, version: int, body: Any, ex: Exchange) -> DescriptionGap:
    text = canonical(body)
    if len(text) > GAP_BODY_CHARS:
        text = text[:GAP_BODY_CHARS] + " …"
    message = str((ex.envelope or {}).get("error_message") or "")[:300]
    return DescriptionGap(resource.name, method, version, text, message)


class Acceptance:
    """What this process has seen the target accept: per (resource, version) the accepted bodies (the first
    candidates where any valid body will do), and per path the body last accepted there (repeating it must be
    accepted again: IDEM-1, IDEM-2)."""

    def __init__(self) -> None:
        self._accepted: dict[tuple[str, int], dict[str, Any]] = {}  # canonical text -> body
        self._last: dict[str, str] = {}  # path -> canonical text of the body last accepted there
        self._discards: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def accept(self, resource: Resource, version: int, body: Any, path: str) -> None:
        if isinstance(body, dict):
            with self._lock:
                self._accepted.setdefault((resource.name, version), {}).setdefault(canonical(body), body)
                self._last[path] = canonical(body)

    def discarded(self, resource: Resource, version: int) -> int:
        """Count one more body refused by the target's own rules; how many were, while none was accepted."""
        key = (resource.name, version)
        with self._lock:
            self._discards[key] = self._discards.get(key, 0) + 1
            return 0 if key in self._accepted else self._discards[key]

    def forget(self, path: str) -> None:
        """The object at ``path`` was deleted: what it accepted there says nothing about a new one."""
        with self._lock:
            self._last.pop(path, None)

    def last_at(self, path: str, body: Any) -> bool:
        """Whether ``body`` is what the target last accepted at ``path``."""
        return self._last.get(path) == canonical(body)

    def known(self, resource: Resource, version: int) -> list[dict[str, Any]]:
        return list(self._accepted.get((resource.name, version), {}).values())


def candidates(resource: Resource, version: int, fixed: dict[str, Any], full: bool = False) -> Iterator[dict[str, Any]]:
    """Bodies the description allows, most likely accepted first (with ``full``, those setting every field
    first), each with ``fixed`` set; duplicates once."""
    from conformance.model import strategies  # hypothesis and schemathesis: only where tests run

    schema = strategies.write_schema(resource, version)
    seen: set[str] = set()

    def fresh(body: dict[str, Any] | None) -> dict[str, Any] | None:
        if body is None:
            return None
        body = {**body, **fixed}
        key = canonical(body)
        if key in seen or not strategies.is_valid(schema, body):
            return None
        seen.add(key)
        return body

    def smallest() -> dict[str, Any]:
        return strategies.body_with(resource, version, **fixed) if fixed else strategies.minimal_body(resource, version)

    def every_field() -> dict[str, Any]:
        return strategies.full_body(resource, version)

    examples = [lambda e=e: e for e in strategies.examples(resource, version)]
    with_items = [
        lambda name=name: strategies.humane(resource, version, strategies.body_with_items(resource, version, name))
        for name in _array_fields(resource, version)
    ]
    makers: list[Callable[[], dict[str, Any] | None]] = [
        smallest,
        *examples,
        every_field,
        *with_items,
        lambda: strategies.sparse_body(resource, version),
    ]
    if full:
        makers = [every_field, *with_items, *examples, smallest]
    for make in makers:
        try:
            body = fresh(make())
        except Exception:  # no such body (the search found none): the next candidate
            continue
        if body is not None:
            yield body


def _array_fields(resource: Resource, version: int) -> list[str]:
    from conformance.model.schemas import schema_types

    return [
        f.name
        for f in resource.fields.values()
        if f.in_version(version) and not f.read_only and "array" in schema_types(f.schema)
    ]

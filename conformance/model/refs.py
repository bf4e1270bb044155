"""``$ref`` resolution: local pointers, relative files and URLs, and the suite's own schemas by ``$id``, inlined
into self-contained schemas; OpenAPI 3.0's schema dialect (``nullable``, boolean exclusive bounds) turned into
JSON Schema 2020-12 so one validator serves both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

from conformance.model.documents import Loader
from conformance.model.resources import DescriptionError

_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "default",
        "examples",
        "example",
        "readOnly",
        "writeOnly",
        "deprecated",
        "$comment",
        "nullable",
    }
)
_SCHEMA_ONLY = ("$id", "$schema", "$defs", "$anchor")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas", "$defs", "definitions")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_ONE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
)


class Resolver:
    """Inlines ``$ref`` (local pointers, relative files and URLs, ``#/$defs/...``).

    Only what the model uses is inlined, so an unrelated recursive component does
    not make a description unusable; a recursive schema the model needs does.
    """

    def __init__(self, loader: Loader, *, dialect_30: bool) -> None:
        self.loader = loader
        self.dialect_30 = dialect_30

    def follow(self, node: Any, base: str, where: str) -> tuple[Any, str]:
        """Follow a chain of ``$ref`` at the top of ``node`` (for non-schema objects)."""
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            uri = urljoin(base, node["$ref"])
            if uri in seen:
                raise DescriptionError(f"{where}: $ref loop at {node['$ref']}")
            seen.add(uri)
            node, base = self._target(uri, node["$ref"], where)
        return node, base

    def schema(self, node: Any, base: str, where: str) -> Any:
        """A schema with every ``$ref`` inlined, made plain JSON Schema 2020-12."""
        inlined = self._inline(node, base, where, ())
        return _to_2020(inlined) if self.dialect_30 else inlined

    def _inline(self, node: Any, base: str, where: str, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [self._inline(item, base, where, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            uri = urljoin(base, ref)
            if uri in stack:
                raise DescriptionError(f"{where}: recursive $ref {ref!r} is not supported")
            target, target_base = self._target(uri, ref, where)
            resolved = self._inline(target, target_base, where, (*stack, uri))
            siblings = {k: self._inline(v, base, where, stack) for k, v in node.items() if k != "$ref"}
            return _merge_ref(resolved, siblings)
        return {k: self._inline(v, base, where, stack) for k, v in node.items() if k not in _SCHEMA_ONLY}

    def _target(self, uri: str, ref: str, where: str) -> tuple[Any, str]:
        doc_uri, fragment = urldefrag(uri)
        doc, base = self.loader.document(doc_uri, where)
        if not fragment:
            return doc, base
        if not fragment.startswith("/"):
            raise DescriptionError(f"{where}: $ref {ref!r}: only JSON-pointer fragments are supported")
        node = doc
        for token in fragment[1:].split("/"):
            token = unquote(token).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise DescriptionError(f"{where}: $ref {ref!r} points at nothing")
        return node, base


def _merge_ref(resolved: Any, siblings: dict[str, Any]) -> Any:
    """``{$ref, ...siblings}``: one flat schema when they do not clash, else ``allOf``."""
    if not siblings or not isinstance(resolved, dict):
        return resolved
    clash = any(k in resolved and k not in _ANNOTATIONS and not k.startswith("x-") for k in siblings)
    return {"allOf": [resolved], **siblings} if clash else {**resolved, **siblings}


def _to_2020(schema: Any) -> Any:
    """OpenAPI 3.0 schema dialect -> JSON Schema: ``nullable`` and boolean exclusive bounds."""
    if not isinstance(schema, dict):
        return schema
    out = _map_subschemas(schema, _to_2020)
    if out.pop("nullable", False) is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "type" not in out and "enum" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if isinstance(out.get(exclusive), bool) and out.pop(exclusive) and bound in out:
            out[exclusive] = out.pop(bound)
    return out


def _map_subschemas(schema: dict[str, Any], fn: Callable[[Any], Any]) -> dict[str, Any]:
    """A copy of ``schema`` with ``fn`` applied to each direct subschema."""
    out = dict(schema)
    for key in _SUBSCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: fn(sub) for name, sub in out[key].items()}
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [fn(sub) for sub in out[key]]
    for key in _SUBSCHEMA_ONE:
        if isinstance(out.get(key), dict):
            out[key] = fn(out[key])
    return out

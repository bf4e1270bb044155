"""The versions a target serves, as its description states them (VER clauses)."""

from __future__ import annotations

from typing import Any

from conformance.model.resources import DescriptionError, Resource


def versions(doc: dict[str, Any], source: str, resources: list[Resource]) -> list[int]:
    """``x-spec-versions``; without it, the versions an ``X-Version`` header parameter enumerates (or bounds), as
    a description written for SPEC's VER clauses alone states them; else 1 up to the latest version a field
    declares it exists from (``x-spec-min-version``): a field of version 2 says there is a version 2."""
    raw = doc.get("x-spec-versions")
    if raw is None:
        latest = max((f.min_version for r in resources for f in r.fields.values()), default=1)
        raw = _header_versions(doc) or list(range(1, latest + 1))
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in raw)
    ):
        raise DescriptionError(f"{source}: x-spec-versions must be a non-empty list of positive integers")
    return sorted(set(raw))


def _header_versions(doc: dict[str, Any]) -> list[int]:
    """The integer versions an ``X-Version`` header parameter declares anywhere in the document (``enum``, or
    ``minimum``..``maximum`` when small), resolving local ``$ref``s."""
    found: set[int] = set()

    def resolve(node: Any) -> Any:
        seen = 0
        while (
            isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/") and seen < 8
        ):
            target: Any = doc
            for part in node["$ref"][2:].split("/"):
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
            node, seen = target, seen + 1
        return node

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            param = resolve(node) if "$ref" in node else node
            if (
                isinstance(param, dict)
                and str(param.get("name", "")).lower() == "x-version"
                and param.get("in") == "header"
            ):
                schema = resolve(param.get("schema") or {})
                values = schema.get("enum") if isinstance(schema, dict) else None
                if isinstance(values, list):
                    found.update(v for v in values if isinstance(v, int) and not isinstance(v, bool) and v >= 1)
                elif isinstance(schema, dict) and isinstance(schema.get("maximum"), int):
                    low = schema.get("minimum", 1)
                    if isinstance(low, int) and 1 <= low <= schema["maximum"] <= low + 20:
                        found.update(range(low, schema["maximum"] + 1))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(doc.get("paths", {}))
    visit(doc.get("components", {}).get("parameters", {}))
    return sorted(found)

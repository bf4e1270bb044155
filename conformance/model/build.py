"""An OpenAPI 3.x description read into the target model: :func:`load_model`.

Clause tests and checks never name a resource or a field of the reference API;
everything they touch comes from here. Conventions a description may use
(all optional; documented in README):

- ``x-spec-versions: [1, 2]`` (top level): the versions the target serves (:mod:`.versions`).
- ``x-spec-min-version: N`` on a property: the field exists from version N on.
- ``x-spec-enum: subscriber_status | custom_field_type | winner_metric`` on a property,
  or an ``enum`` equal to one of those sets (:mod:`.fields`).
- ``readOnly: true`` marks server fields; a time field is ``format: date-time`` or
  named ``*_at``; a date field is ``format: date`` or named ``*_on``.

How the description is read: an item path is a path whose last segment is a path
parameter and that declares GET plus PUT and/or POST; its parent is the item path
whose template equals its prefix up to the previous parameter (parameter names
may differ). Fields come from the GET 200 envelope's ``data`` schema merged with
the PUT/POST request body schema; ``$ref`` is resolved by :mod:`.refs`, the
documents are read by :mod:`.documents`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from conformance.model.documents import Loader, parse
from conformance.model.fields import classify, enum_extras, min_version, role
from conformance.model.refs import Resolver
from conformance.model.resources import DescriptionError, Field, Resource, TargetModel
from conformance.model.schemas import annotation, declared_enum, members, nullable, object_parts
from conformance.model.versions import versions
from conformance.spec import facts


def load_model(
    source: str,
    *,
    timeout: float = 10.0,
    verify: bool | str = True,
    path_params: Mapping[str, str] | None = None,
) -> TargetModel:
    """Read an OpenAPI 3.x description (file path or http(s) URL) into a model.

    ``path_params`` fills path parameters the client does not choose (a tenant or environment segment,
    ``/environments/{environment}/lists/{id}``): such a parameter is part of the base of every path it is in.

    Every failure is a :class:`DescriptionError` whose one-line message starts with
    where the problem is (``file:line`` for a YAML/JSON syntax error, the path and
    operation for a structural one), because the user has to fix the document.
    """
    loader = Loader(timeout, verify)
    raw, uri = loader.read_root(source)
    doc = parse(raw, source)
    if not isinstance(doc, dict):
        raise DescriptionError(f"{source}: not an OpenAPI document (the top level is not a mapping)")
    openapi = str(doc.get("openapi", doc.get("swagger", "")))
    if not openapi.startswith("3."):
        found = f"openapi: {openapi}" if openapi else "no 'openapi' field"
        raise DescriptionError(f"{source}: only OpenAPI 3.x descriptions are supported ({found})")
    loader.register(uri, doc)
    try:
        builder = _Builder(
            doc, uri, source, Resolver(loader, dialect_30=openapi.startswith("3.0")), dict(path_params or {})
        )
        resources = builder.resources()
    except (AttributeError, TypeError, KeyError, IndexError, RecursionError) as e:
        # A shape the checks above did not anticipate (say, a parameter list that is a
        # string): still a usage error about the document, not a crash of the suite.
        raise DescriptionError(f"{source}: unsupported description structure ({type(e).__name__}: {e})") from None
    info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
    return TargetModel(
        resources=resources,
        versions=versions(doc, source, resources),
        description=doc,
        source=source,
        sha256=hashlib.sha256(raw).hexdigest(),
        extra={"openapi": openapi, "title": (info or {}).get("title"), "uri": uri},
    )


# -- paths -> resources ----------------------------------------------------------------------
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_PARAM = re.compile(r"^\{([^{}/]+)\}$")


def _fill(path: str, fixed: Mapping[str, str]) -> str:
    """``path`` with the fixed parameters' values in place (quoted: a value is one segment)."""
    for name, value in fixed.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    return path


def _segments(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/") if s]


def _shape(segments: list[str]) -> str:
    """The path with parameter names erased: ``/lists/{}/contacts/{}``."""
    return "/" + "/".join("{}" if _PARAM.match(s) else s for s in segments)


def _json_content(content: Any) -> Any:
    if not isinstance(content, dict):
        return None
    for media, body in content.items():
        if "json" in str(media).lower() and isinstance(body, dict):
            return body.get("schema")
    return None


@dataclass
class _Item:
    path: str  # with the --path-param values filled in
    segments: list[str]
    item: dict[str, Any]
    base: str
    described: str  # as the description writes it


class _Builder:
    """Turns the ``paths`` of a description into resources, parents first."""

    def __init__(self, doc: dict[str, Any], uri: str, source: str, resolver: Resolver, fixed: dict[str, str]) -> None:
        self.doc = doc
        self.fixed = fixed
        self.uri = uri
        self.source = source
        self.resolver = resolver
        paths = doc.get("paths")
        if not isinstance(paths, dict) or not paths:
            raise DescriptionError(f"{source}: the description has no paths")
        self.items: dict[str, _Item] = {}
        for path, raw_item in paths.items():
            where = f"{source}: paths.{path}"
            if not isinstance(path, str) or not path.startswith("/"):
                raise DescriptionError(f"{where}: a path must start with '/'")
            item, base = resolver.follow(raw_item, uri, where)
            if not isinstance(item, dict):
                raise DescriptionError(f"{where}: a path item must be a mapping")
            filled = _fill(path, fixed)
            self.items[filled] = _Item(filled, _segments(filled), item, base, path)
        unused = [n for n in fixed if not any("{" + n + "}" in p for p in paths)]
        if unused:
            raise DescriptionError(f"{source}: --path-param {unused[0]}: no described path has a {{{unused[0]}}}")

    def resources(self) -> list[Resource]:
        candidates = [i for i in self.items.values() if self._is_item_path(i)]
        if not candidates:
            raise DescriptionError(
                f"{self.source}: no item paths (a path ending in a {{param}} segment with GET and PUT or POST)"
            )
        by_shape = {_shape(c.segments): c for c in candidates}
        segment_names = [c.segments[-2] for c in candidates]
        self._shared_names = {n for n in segment_names if segment_names.count(n) > 1}
        built: dict[str, Resource] = {}
        for cand in sorted(candidates, key=lambda c: len(c.segments)):
            built[cand.path] = self._resource(cand, by_shape, built)
        names: dict[str, int] = {}
        for r in built.values():
            names[r.name] = names.get(r.name, 0) + 1
        if any(n > 1 for n in names.values()):
            raise DescriptionError(
                f"{self.source}: two item paths share a resource name "
                f"({', '.join(sorted(n for n, c in names.items() if c > 1))})"
            )
        return list(built.values())

    @staticmethod
    def _is_item_path(item: _Item) -> bool:
        segs = item.segments
        return (
            len(segs) >= 2
            and _PARAM.match(segs[-1]) is not None
            and isinstance(item.item.get("get"), dict)
            and (isinstance(item.item.get("put"), dict) or isinstance(item.item.get("post"), dict))
        )

    def _parameters(self, item: _Item, op: dict[str, Any] | None, where: str) -> dict[tuple[str, str], Any]:
        """Path-level then operation-level parameters, resolved, keyed by (in, name)."""
        out: dict[tuple[str, str], Any] = {}
        for raw in [*(item.item.get("parameters") or []), *((op or {}).get("parameters") or [])]:
            param, base = self.resolver.follow(raw, item.base, where)
            if not isinstance(param, dict) or "name" not in param or "in" not in param:
                raise DescriptionError(f"{where}: a parameter without 'name' and 'in'")
            resolved = dict(param)
            resolved["schema"] = self.resolver.schema(param.get("schema", {}), base, where)
            out[(str(param["in"]), str(param["name"]))] = resolved
        return out

    def _resource(self, cand: _Item, by_shape: dict[str, _Item], built: dict[str, Resource]) -> Resource:
        segs, where = cand.segments, f"{self.source}: paths.{cand.path}"
        id_param = _PARAM.match(segs[-1]).group(1)  # type: ignore[union-attr]
        name = segs[-2]
        if _PARAM.match(name):
            raise DescriptionError(f"{where}: the id parameter must follow a static segment naming the resource")
        parent, parent_param = None, None
        params_before = [i for i, s in enumerate(segs[:-2]) if _PARAM.match(s)]
        if params_before:
            cut = params_before[-1] + 1
            parent_item = by_shape.get(_shape(segs[:cut]))
            if parent_item is None:
                name_ = _PARAM.match(segs[cut - 1]).group(1)  # type: ignore[union-attr]
                raise DescriptionError(
                    f"{where}: its parent path {'/' + '/'.join(segs[:cut])} is not an item path (GET plus PUT or "
                    f"POST); if {{{name_}}} is not the client's to choose, give its value: --path-param {name_}=VALUE"
                )
            parent = built[parent_item.path]
            parent_param = _PARAM.match(segs[cut - 1]).group(1)  # type: ignore[union-attr]
        if name in getattr(self, "_shared_names", ()):  # /lists/{l}/notes/{id} and /campaigns/{c}/notes/{id}
            name = (
                f"{parent.name}.{name}" if parent is not None else "/".join(s for s in segs[:-1] if not _PARAM.match(s))
            )
        methods = frozenset(m.upper() for m in _METHODS if isinstance(cand.item.get(m), dict))
        get_where = f"{where}.get"
        params = self._parameters(cand, cand.item["get"], get_where)
        id_schema = (params.get(("path", id_param)) or {}).get("schema") or {"type": "string"}
        data_schema = self._data_schema(cand, get_where)
        write_schema, write_where = self._write_schema(cand, where)
        fields = self._fields(data_schema, write_schema, id_param, parent_param, where, write_where)
        collection = self._collection(cand)
        return Resource(
            name=name,
            item_path=cand.path,
            described_path=cand.described,
            id_param=id_param,
            id_schema=id_schema,
            methods=methods,
            fields=fields,
            write_schema=_final_write_schema(write_schema, fields),
            parent=parent,
            parent_param=parent_param,
            **collection,
        )

    def _data_schema(self, cand: _Item, where: str) -> dict[str, Any]:
        op, base = self.resolver.follow(cand.item["get"], cand.base, where)
        responses = (op or {}).get("responses") or {}
        raw = next((responses[k] for k in responses if str(k) in ("200", "2XX", "2xx")), None)
        if raw is None:
            raise DescriptionError(f"{where}: no 200 response")
        response, base = self.resolver.follow(raw, base, f"{where}.responses.200")
        schema = self.resolver.schema(_json_content((response or {}).get("content")), base, where)
        data = object_parts(schema)[0].get("data")
        if isinstance(data, dict) and not object_parts(data)[0]:  # ENV-2: the object, or an array holding it
            data = next((m["items"] for m in members(data) if isinstance(m.get("items"), dict)), data)
        if not isinstance(data, dict) or not object_parts(data)[0]:
            raise DescriptionError(f"{where}: the 200 response schema has no envelope 'data' object with properties")
        return data

    def _write_schema(self, cand: _Item, where: str) -> tuple[dict[str, Any], str]:
        for method in ("put", "post"):
            if not isinstance(cand.item.get(method), dict):
                continue
            op_where = f"{where}.{method}"
            op, base = self.resolver.follow(cand.item[method], cand.base, op_where)
            body, base = self.resolver.follow((op or {}).get("requestBody"), base, op_where)
            schema = self.resolver.schema(_json_content((body or {}).get("content")), base, op_where)
            if isinstance(schema, dict) and object_parts(schema)[0]:
                return schema, op_where
        raise DescriptionError(f"{where}: PUT/POST has no JSON request body object schema with properties")

    def _fields(
        self,
        data: dict[str, Any],
        write: dict[str, Any],
        id_param: str,
        parent_param: str | None,
        where: str,
        write_where: str,
    ) -> dict[str, Field]:
        data_props, _ = object_parts(data)
        write_props, write_required = object_parts(write)
        order = [*data_props, *(n for n in write_props if n not in data_props)]
        both = {
            n: {"allOf": [s for s in (write_props.get(n), data_props.get(n)) if isinstance(s, dict)]} for n in order
        }
        kinds = {n: classify(n, both[n], f"{where}: property {n}") for n in order}
        times = {n for n, (kind, _, _) in kinds.items() if kind == "time"}
        fields: dict[str, Field] = {}
        for name in order:
            ds, ws = data_props.get(name), write_props.get(name)
            schemas = [s for s in (ws, ds) if isinstance(s, dict)]
            read_only = any(annotation(s, "readOnly") is True for s in schemas) or ws is None
            since = max((min_version(s, f"{where}: property {name}") for s in schemas), default=1)
            kind, enum_set, enum_clause = kinds[name]
            fields[name] = Field(
                name=name,
                schema=ws if ws is not None else (ds if ds is not None else {}),
                required=name in write_required and not read_only,
                read_only=read_only,
                nullable=any(nullable(s) for s in schemas),
                kind=kind,
                enum_set=enum_set,
                enum_clause=enum_clause,
                min_version=since,
                enum_extras=enum_extras(both[name], enum_set),
                role=role(name, read_only, kind, set(order), id_param, parent_param, times),
            )
        if not any(not f.read_only for f in fields.values()):
            raise DescriptionError(f"{write_where}: the request body has no writable property")
        return fields

    def _collection(self, cand: _Item) -> dict[str, Any]:
        shape = _shape(cand.segments[:-1])
        for item in self.items.values():
            if _shape(item.segments) == shape and isinstance(item.item.get("get"), dict):
                where = f"{self.source}: paths.{item.path}.get"
                params = self._parameters(item, item.item["get"], where)
                limit = params.get(("query", "limit"))
                schema = (limit or {}).get("schema") or {}
                maximum, default = schema.get("maximum"), schema.get("default")
                return {
                    "collection_path": item.path,
                    "described_collection_path": item.described,
                    "limit_param": "limit" if limit else None,
                    "limit_max": maximum if isinstance(maximum, int) and not isinstance(maximum, bool) else None,
                    "limit_default": default if isinstance(default, int) and not isinstance(default, bool) else None,
                }
        return {}


def _final_write_schema(schema: dict[str, Any], fields: dict[str, Field]) -> dict[str, Any]:
    """The request body schema, flattened to top-level ``properties``/``required``,
    without read-only properties, with ``x-spec-enum`` sets written out as ``enum``."""
    props, required = object_parts(schema)
    rest = {k: v for k, v in schema.items() if k not in ("properties", "required", "allOf")}
    leftovers = [
        {k: v for k, v in sub.items() if k not in ("properties", "required")}
        for sub in schema.get("allOf", [])
        if isinstance(sub, dict)
    ]
    leftovers = [sub for sub in leftovers if set(sub) - {"type", "description", "title"}]
    out: dict[str, Any] = {"type": "object", **rest}
    out["properties"] = {}
    for name, prop in props.items():
        f = fields.get(name)
        if f is None or f.read_only:
            continue
        if f.kind == "enum" and declared_enum(prop) is None and f.enum_set is not None:
            values: list[Any] = sorted(facts.enum_sets()[f.enum_set][0])
            prop = {**prop, "enum": [*values, None] if f.nullable else values}
        out["properties"][name] = prop
    out["required"] = [r for r in required if r in out["properties"]]
    if leftovers:
        out["allOf"] = leftovers
    return out

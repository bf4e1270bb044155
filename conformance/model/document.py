"""The target model: what the suite needs to know about a target, read once from
its OpenAPI description.

Clause tests and checks never name a resource or a field of the reference API;
everything they touch comes from here. Conventions a description may use
(all optional; documented in README):

- ``x-spec-versions: [1, 2]`` (top level): the versions the target serves (default ``[1]``).
- ``x-spec-min-version: N`` on a property: the field exists from version N on.
- ``x-spec-enum: subscriber_status | custom_field_type | winner_metric`` on a property,
  or an ``enum`` equal to one of those sets.
- ``readOnly: true`` marks server fields; a time field is ``format: date-time`` or
  named ``*_at``; a date field is ``format: date`` or named ``*_on``.

How the description is read: an item path is a path whose last segment is a path
parameter and that declares GET plus PUT and/or POST; its parent is the item path
whose template equals its prefix up to the previous parameter (parameter names
may differ). Fields come from the GET 200 envelope's ``data`` schema merged with
the PUT/POST request body schema; ``$ref`` is resolved locally, relative to the
document's file or URL, and to the suite's own ``schemas/`` by ``$id``. OpenAPI
3.0's ``nullable`` is turned into JSON Schema so one validator serves both.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote, urldefrag, urljoin, urlsplit
from urllib.request import url2pathname

import requests
import yaml

from conformance.spec import facts

FieldKind = Literal["time", "date", "enum", "other"]
FieldRole = Literal["id", "parent_id", "created", "updated", "epoch"]


@dataclass(frozen=True, eq=False)  # identity equality: hashable, so usable as a cache key
class Field:
    name: str
    schema: dict[str, Any]  # the property's schema, $refs resolved
    required: bool  # required in a write body
    read_only: bool
    nullable: bool
    kind: FieldKind
    enum_set: str | None = None  # x-spec-enum name, e.g. "subscriber_status"
    enum_clause: str | None = None  # ENUM-1..3
    min_version: int = 1
    # Values the description's enum adds to the spec set it otherwise is (SPEC ambiguity 20): each is a
    # violation of the field's ENUM clause, reported from the description itself.
    enum_extras: tuple[str, ...] = ()
    # What the server fills a read-only field with: the object's id, its parent's id,
    # the creation / last-change time, or the epoch companion of a time field.
    role: FieldRole | None = None

    def in_version(self, version: int) -> bool:
        return version >= self.min_version

    @property
    def has_default(self) -> bool:
        return "default" in self.schema

    def default(self) -> Any:
        """The value a write that leaves this field out stores (IDEM-3): the declared
        ``default``, else null for a nullable field; ``KeyError`` when it has neither."""
        if "default" in self.schema:
            return copy.deepcopy(self.schema["default"])
        if self.nullable:
            return None
        raise KeyError(self.name)


@dataclass(frozen=True, eq=False)  # identity equality: hashable, so usable as a cache key
class Resource:
    """An item path with a client-chosen id, e.g. ``/lists/{list_id}/contacts/{id}``."""

    name: str  # the static segment before {id}, e.g. "contacts"
    item_path: str
    id_param: str
    id_schema: dict[str, Any]
    methods: frozenset[str]  # upper-case HTTP methods the item path declares
    fields: dict[str, Field]  # every property of the stored object, by name
    write_schema: dict[str, Any]  # JSON Schema of a valid write body (resolved, self-contained)
    parent: Resource | None = None
    parent_param: str | None = None  # the path parameter naming the parent's id
    collection_path: str | None = None
    described_path: str = ""  # the item path as the description writes it (before --path-param filled it)
    described_collection_path: str | None = None
    limit_param: str | None = None
    limit_max: int | None = None
    limit_default: int | None = None

    def writable(self, version: int) -> list[Field]:
        return [f for f in self.fields.values() if not f.read_only and f.in_version(version)]

    def of_kind(self, kind: FieldKind) -> list[Field]:
        return [f for f in self.fields.values() if f.kind == kind]

    def with_role(self, role: FieldRole) -> Field | None:
        """The read-only field playing ``role`` (e.g. "updated" -> ``updated_at``), if any."""
        return next((f for f in self.fields.values() if f.role == role), None)

    def write_schema_for(self, version: int) -> dict[str, Any]:
        """The write schema without the fields this version does not have."""
        absent = {f.name for f in self.fields.values() if not f.in_version(version)}
        schema = copy.deepcopy(self.write_schema)
        if absent:
            schema["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k not in absent}
            schema["required"] = [r for r in schema.get("required", []) if r not in absent]
        return schema

    def path_for(self, ids: dict[str, str]) -> str:
        """The item path with its parameters filled from ``ids``."""
        path = self.item_path
        for key, value in ids.items():
            path = path.replace("{" + key + "}", value)
        return path

    def collection_path_for(self, parent_ids: list[str]) -> str | None:
        """The collection path with its parameters filled, ancestors' ids in order."""
        if self.collection_path is None:
            return None
        values = iter(parent_ids)
        return re.sub(r"\{[^{}/]+\}", lambda _: next(values), self.collection_path)

    def chain(self) -> list[Resource]:
        """Ancestors first, this resource last."""
        out: list[Resource] = []
        node: Resource | None = self
        while node is not None:
            out.append(node)
            node = node.parent
        return out[::-1]


@dataclass
class TargetModel:
    resources: list[Resource]
    versions: list[int]
    description: dict[str, Any]
    source: str  # path or URL it came from
    sha256: str  # of the raw bytes as read
    extra: dict[str, Any] = field(default_factory=dict)

    def resource(self, name: str) -> Resource:
        for r in self.resources:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def latest_version(self) -> int:
        return max(self.versions)


class DescriptionError(Exception):
    """The target description cannot be read or understood (a usage error, exit 2)."""


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
    loader = _Loader(timeout, verify)
    raw, uri = loader.read_root(source)
    doc = _parse(raw, source)
    if not isinstance(doc, dict):
        raise DescriptionError(f"{source}: not an OpenAPI document (the top level is not a mapping)")
    openapi = str(doc.get("openapi", doc.get("swagger", "")))
    if not openapi.startswith("3."):
        found = f"openapi: {openapi}" if openapi else "no 'openapi' field"
        raise DescriptionError(f"{source}: only OpenAPI 3.x descriptions are supported ({found})")
    loader.register(uri, doc)
    try:
        builder = _Builder(
            doc, uri, source, _Resolver(loader, dialect_30=openapi.startswith("3.0")), dict(path_params or {})
        )
        resources = builder.resources()
    except (AttributeError, TypeError, KeyError, IndexError, RecursionError) as e:
        # A shape the checks above did not anticipate (say, a parameter list that is a
        # string): still a usage error about the document, not a crash of the suite.
        raise DescriptionError(f"{source}: unsupported description structure ({type(e).__name__}: {e})") from None
    info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
    return TargetModel(
        resources=resources,
        versions=_versions(doc, source, resources),
        description=doc,
        source=source,
        sha256=hashlib.sha256(raw).hexdigest(),
        extra={"openapi": openapi, "title": (info or {}).get("title"), "uri": uri},
    )


# -- reading and parsing ------------------------------------------------------------------
class _SafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML without implicit timestamps: ``2013-03-27`` in an example stays a string,
    as it would in JSON, so the description round-trips to JSON unchanged."""


_SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse(raw: bytes, where: str) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DescriptionError(f"{where}: not UTF-8 text (byte {e.start})") from None
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            json_error = DescriptionError(f"{where}:{e.lineno}: not valid JSON: {e.msg}")
        try:  # a YAML flow mapping also starts with "{"
            return yaml.load(text, Loader=_SafeLoader)  # a safe loader: no arbitrary objects
        except yaml.YAMLError:
            raise json_error from None
    try:
        return yaml.load(text, Loader=_SafeLoader)  # a safe loader: no arbitrary objects
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise DescriptionError(f"{where}{line}: not valid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise DescriptionError(f"{where}: not valid YAML: {e}") from None


def _is_url(text: str) -> bool:
    return urlsplit(text).scheme in ("http", "https")


class _Loader:
    """Fetches documents by URI (file or http(s)), parses and caches them.

    The suite's own schemas are pre-registered under their ``$id`` so a description
    may ``$ref`` them by absolute URI without having copies next to it.
    """

    def __init__(self, timeout: float, verify: bool | str) -> None:
        self.timeout = timeout
        self.verify = verify
        self.docs: dict[str, Any] = {}
        self.bases: dict[str, str] = {}  # document URI -> URI its relative refs resolve against
        for path in sorted(facts.schemas_dir().glob("*.json")):
            content = json.loads(path.read_text("utf-8"))
            if isinstance(content, dict) and isinstance(content.get("$id"), str):
                self.docs[content["$id"]] = content
                self.bases[content["$id"]] = path.resolve().as_uri()

    def read_root(self, source: str) -> tuple[bytes, str]:
        if _is_url(source):
            return self._get(source, source)
        path = Path(url2pathname(urlsplit(source).path)) if source.startswith("file:") else Path(source)
        path = path.expanduser()
        try:
            return path.read_bytes(), path.resolve().as_uri()
        except OSError as e:
            raise DescriptionError(f"{source}: cannot read the description: {e.strerror or e}") from None

    def _get(self, url: str, where: str) -> tuple[bytes, str]:
        try:
            response = requests.get(url, timeout=self.timeout, verify=self.verify)
        except requests.RequestException as e:
            raise DescriptionError(f"{where}: cannot fetch {url}: {type(e).__name__}: {e}") from None
        if response.status_code != 200:
            raise DescriptionError(f"{where}: fetching {url} answered HTTP {response.status_code}")
        return response.content, response.url

    def register(self, uri: str, doc: Any) -> None:
        self.docs[uri] = doc
        self.bases[uri] = uri

    def document(self, uri: str, where: str) -> tuple[Any, str]:
        """The parsed document at ``uri`` (no fragment) and its base URI."""
        if uri not in self.docs:
            scheme = urlsplit(uri).scheme
            if scheme == "file":
                path = Path(url2pathname(urlsplit(uri).path))
                try:
                    raw = path.read_bytes()
                except OSError as e:
                    raise DescriptionError(f"{where}: $ref target {path} cannot be read: {e.strerror}") from None
                self.register(uri, _parse(raw, str(path)))
            elif scheme in ("http", "https"):
                raw, final = self._get(uri, where)
                self.register(uri, _parse(raw, uri))
                self.bases[uri] = final
            else:
                raise DescriptionError(f"{where}: $ref to {uri!r} cannot be resolved")
        return self.docs[uri], self.bases[uri]


# -- $ref resolution -----------------------------------------------------------------------
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


class _Resolver:
    """Inlines ``$ref`` (local pointers, relative files and URLs, ``#/$defs/...``).

    Only what the model uses is inlined, so an unrelated recursive component does
    not make a description unusable; a recursive schema the model needs does.
    """

    def __init__(self, loader: _Loader, *, dialect_30: bool) -> None:
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


def _map_subschemas(schema: dict[str, Any], fn: Any) -> dict[str, Any]:
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


# -- schema inspection ---------------------------------------------------------------------
def _object_parts(schema: Any) -> tuple[dict[str, Any], list[str]]:
    """Properties and required names of an object schema, ``allOf`` members merged."""
    props: dict[str, Any] = {}
    required: list[str] = []
    if not isinstance(schema, dict):
        return props, required
    for sub in schema.get("allOf", []):
        sub_props, sub_required = _object_parts(sub)
        for name, prop in sub_props.items():
            props[name] = {**props[name], **prop} if isinstance(props.get(name), dict) else prop
        required += [r for r in sub_required if r not in required]
    for name, prop in (schema.get("properties") or {}).items():
        props[name] = {**props[name], **prop} if isinstance(props.get(name), dict) else prop
    required += [r for r in schema.get("required", []) if isinstance(r, str) and r not in required]
    if not props:
        for key in ("anyOf", "oneOf"):  # e.g. data: anyOf [Object, null]
            for sub in schema.get(key, []):
                sub_props, sub_required = _object_parts(sub)
                props.update(sub_props)
                required += [r for r in sub_required if r not in required]
    return props, required


def _members(schema: Any) -> list[dict[str, Any]]:
    """The schema and the members of its combinators: where a format or enum may sit."""
    if not isinstance(schema, dict):
        return []
    out = [schema]
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            out += _members(sub)
    return out


def _nullable(schema: Any) -> bool:
    for member in _members(schema):
        types = member.get("type")
        if types == "null" or (isinstance(types, list) and "null" in types):
            return True
        if (
            member.get("nullable") is True
            or None in (member.get("enum") or [])
            or ("const" in member and member["const"] is None)
        ):
            return True
    return False


def _annotation(schema: Any, key: str) -> Any:
    for member in _members(schema):
        if key in member:
            return member[key]
    return None


def _enum_values(schema: Any) -> frozenset[str] | None:
    for member in _members(schema):
        if isinstance(member.get("enum"), list):
            values = [v for v in member["enum"] if v is not None]
            if values and all(isinstance(v, str) for v in values):
                return frozenset(values)
    return None


def declared_enum(schema: Any) -> frozenset[str] | None:
    """The string values a property's own ``enum`` lists (through ``anyOf``/``oneOf``), if it lists any."""
    return _enum_values(schema)


def _classify(name: str, schema: Any, where: str) -> tuple[FieldKind, str | None, str | None]:
    """(kind, enum set, enum clause) of a property, by the spec's rules."""
    sets = facts.enum_sets()
    named = _annotation(schema, "x-spec-enum")
    if named is not None:
        if named not in sets:
            raise DescriptionError(f"{where}: x-spec-enum {named!r} is not one of {sorted(sets)}")
        return "enum", named, sets[named][1]
    values = _enum_values(schema)
    for set_name, (members, clause) in sets.items():
        if values is not None and values >= members:  # the set itself, or the set plus vendor extras
            return "enum", set_name, clause
    formats = {m.get("format") for m in _members(schema)}
    patterns = {m.get("pattern") for m in _members(schema)}
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
    values = _enum_values(schema)
    if enum_set is None or values is None:
        return ()
    return tuple(sorted(values - facts.enum_sets()[enum_set][0]))


_CREATED = ("created", "inserted")
_UPDATED = ("updated", "modified", "changed", "last_modified")


def _role(
    name: str, read_only: bool, kind: str, names: set[str], id_param: str, parent_param: str | None, times: set[str]
) -> FieldRole | None:
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

    def __init__(self, doc: dict[str, Any], uri: str, source: str, resolver: _Resolver, fixed: dict[str, str]) -> None:
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
        data = _object_parts(schema)[0].get("data")
        if isinstance(data, dict) and not _object_parts(data)[0]:  # ENV-2: the object, or an array holding it
            data = next((m["items"] for m in _members(data) if isinstance(m.get("items"), dict)), data)
        if not isinstance(data, dict) or not _object_parts(data)[0]:
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
            if isinstance(schema, dict) and _object_parts(schema)[0]:
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
        data_props, _ = _object_parts(data)
        write_props, write_required = _object_parts(write)
        order = [*data_props, *(n for n in write_props if n not in data_props)]
        both = {
            n: {"allOf": [s for s in (write_props.get(n), data_props.get(n)) if isinstance(s, dict)]} for n in order
        }
        kinds = {n: _classify(n, both[n], f"{where}: property {n}") for n in order}
        times = {n for n, (kind, _, _) in kinds.items() if kind == "time"}
        fields: dict[str, Field] = {}
        for name in order:
            ds, ws = data_props.get(name), write_props.get(name)
            schemas = [s for s in (ws, ds) if isinstance(s, dict)]
            read_only = any(_annotation(s, "readOnly") is True for s in schemas) or ws is None
            min_version = max((_min_version(s, f"{where}: property {name}") for s in schemas), default=1)
            kind, enum_set, enum_clause = kinds[name]
            fields[name] = Field(
                name=name,
                schema=ws if ws is not None else (ds if ds is not None else {}),
                required=name in write_required and not read_only,
                read_only=read_only,
                nullable=any(_nullable(s) for s in schemas),
                kind=kind,
                enum_set=enum_set,
                enum_clause=enum_clause,
                min_version=min_version,
                enum_extras=enum_extras(both[name], enum_set),
                role=_role(name, read_only, kind, set(order), id_param, parent_param, times),
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


def _min_version(schema: dict[str, Any], where: str) -> int:
    value = _annotation(schema, "x-spec-min-version")
    if value is None:
        return 1
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise DescriptionError(f"{where}: x-spec-min-version must be a positive integer, not {value!r}")
    return value


def _final_write_schema(schema: dict[str, Any], fields: dict[str, Field]) -> dict[str, Any]:
    """The request body schema, flattened to top-level ``properties``/``required``,
    without read-only properties, with ``x-spec-enum`` sets written out as ``enum``."""
    props, required = _object_parts(schema)
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
        if f.kind == "enum" and _enum_values(prop) is None and f.enum_set is not None:
            values: list[Any] = sorted(facts.enum_sets()[f.enum_set][0])
            prop = {**prop, "enum": [*values, None] if f.nullable else values}
        out["properties"][name] = prop
    out["required"] = [r for r in required if r in out["properties"]]
    if leftovers:
        out["allOf"] = leftovers
    return out


def _versions(doc: dict[str, Any], source: str, resources: list[Resource]) -> list[int]:
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

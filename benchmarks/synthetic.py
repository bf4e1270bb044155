"""Synthetic target descriptions of any size, in the shape of ``schemas/reference-openapi.yaml``.

    python benchmarks/synthetic.py N [DIR]      # writes DIR/synthetic-N.yaml (+ the schemas it references)

``description(n)`` is a pure function of ``n``: the same ``n`` always gives the same
document (no randomness, no clock), so benchmark runs and tests compare like with like.

Resources come in groups of four, and every per-resource choice cycles with a period
that divides four, so any multiple of four resources has exactly the same mix per
resource (the scale benchmark's 4, 40 and 200 compare equal work per operation):

- position 0: a top-level resource; positions 1 and 2: its children
  (``/<parent>/{<parent>_id}/<child>/{id}``, the child carrying a read-only
  ``<parent>_id``, like ``subscribers`` under ``mailing_lists``); position 3: top-level.
- every resource: ``id`` and server times (``created_at``/``updated_at`` with their
  ``_epoch`` companions), a required non-blank ``name``, one field of a spec enum set
  (``x-spec-enum``; the version-2-only one is nullable with ``x-spec-min-version: 2``,
  the ``custom_field_type`` one carries ``options`` with the reference's ``if``/``then``/``else``),
  a nullable ``*_at`` time (with a read-only ``*_epoch``) or ``*_on`` date, and two or
  three more of: a bounded integer (``type: number`` with ``integers=False``), boolean,
  nullable number, array of strings, bounded string, a free (non-spec) enum, an ``@`` pattern.
- every collection: GET with a ``limit`` query parameter (``minimum: 1``, a ``maximum``
  and a ``default``; the maximum cycles through 100, 50, 200, 20).

The document ``$ref``s the suite's ``envelope``, ``enums``, ``time`` and ``date``
schemas by relative file name, as the reference description does, so ``write()``
copies them next to it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
REFERENCED = (
    "envelope.schema.json",
    "error-codes.schema.json",
    "enums.schema.json",
    "time.schema.json",
    "date.schema.json",
)
NOUNS = ("accounts", "projects", "tasks", "notes", "orders", "items", "events", "tickets", "venues", "members")
LIMITS = ((100, 25), (50, 10), (200, 50), (20, 20))  # (maximum, default) by position in the group
METHODS = ("get", "post", "put", "delete")
# The two whole-number fields are `type: integer`. (Until 93ff2c1 they had to be `type: number`:
# schemathesis sends 1.0, which JSON Schema and the reference server count as an integer, and
# the fuzz judge demanded 403 for it. tests/test_scale.py keeps that case.)
INTEGERS = True
ERRORS = {
    "401": "NotAuthorized",
    "403": "Invalid",
    "404": "NotFound",
    "500": "InternalError",
}


def resource_names(n: int) -> list[str]:
    """Path segment names: a noun and the index, e.g. ``tasks_002``."""
    return [f"{NOUNS[i % len(NOUNS)]}_{i:03d}" for i in range(n)]


def parent_of(i: int) -> int | None:
    """Index of the parent of resource ``i`` (positions 1 and 2 of a group of four), else None."""
    return i - i % 4 if i % 4 in (1, 2) else None


def operation_count(n: int) -> int:
    """API operations of an ``n``-resource description: item GET/POST/PUT/DELETE and collection GET."""
    return 5 * n


def _schema_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _nullable(schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}], "default": None, **extra}


def _fields(i: int, integers: bool) -> tuple[dict[str, Any], list[str], dict[str, Any], dict[str, Any]]:
    """(write properties, required, extra read-only properties, extra write-schema keywords) of resource ``i``."""
    whole = "integer" if integers else "number"
    props: dict[str, Any] = {"name": _ref("schemas", "Name")}
    required = ["name"]
    read: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    time = _ref("schemas", "Time")
    epoch = {"type": ["integer", "null"], "readOnly": True}
    position = i % 4
    if position == 0:
        props["status"] = {"$ref": "enums.schema.json#/$defs/subscriber_status", "x-spec-enum": "subscriber_status"}
        props["status"]["default"] = "active"
        props["starts_at"] = _nullable(time)
        read["starts_at_epoch"] = epoch
        props["tags"] = {"type": "array", "items": {"type": "string", "maxLength": 40}, "default": []}
        props["quantity"] = {"type": whole, "minimum": 0, "maximum": 1000000, "default": 0}
    elif position == 1:
        props["kind"] = {"$ref": "enums.schema.json#/$defs/custom_field_type", "x-spec-enum": "custom_field_type"}
        props["options"] = {"type": "array", "items": {"type": "string"}, "default": []}
        required.append("kind")
        selects = ["select_single_dropdown", "select_single_radio", "select_multiple_checkboxes"]
        extra = {
            "if": {"required": ["kind"], "properties": {"kind": {"enum": selects}}},
            "then": {"required": ["options"], "properties": {"options": {"minItems": 1}}},
            "else": {"properties": {"options": {"maxItems": 0}}},
        }
        props["due_on"] = _nullable({"$ref": "date.schema.json"})
        props["archived"] = {"type": "boolean", "default": False}
        props["note"] = _nullable({"type": "string", "maxLength": 200})
    elif position == 2:
        props["metric"] = _nullable(
            {"$ref": "enums.schema.json#/$defs/winner_metric"},
            description="Version 2 only; version 1 neither returns nor accepts it.",
        )
        props["metric"] |= {"x-spec-enum": "winner_metric", "x-spec-min-version": 2}
        props["opens_at"] = _nullable(time)
        read["opens_at_epoch"] = epoch
        props["closes_on"] = _nullable({"$ref": "date.schema.json"})
        props["score"] = {"type": ["number", "null"], "default": None}
        props["colour"] = {"type": "string", "enum": ["red", "green", "blue"], "default": "red"}
    else:
        props["state"] = {"$ref": "enums.schema.json#/$defs/subscriber_status", "x-spec-enum": "subscriber_status"}
        props["state"]["default"] = "active"
        props["seen_at"] = _nullable(time)
        read["seen_at_epoch"] = epoch
        props["contact"] = {"description": "An address; it must contain `@`.", "type": "string", "pattern": "@"}
        required.append("contact")
        props["priority"] = {"type": whole, "minimum": 1, "maximum": 5, "default": 3}
    return props, required, read, extra


def _errors() -> dict[str, Any]:
    return {code: _ref("responses", name) for code, name in ERRORS.items()}


def _list_envelope(schema: str) -> dict[str, Any]:
    return {
        "allOf": [
            {"$ref": "envelope.schema.json#/$defs/success"},
            {"properties": {"data": {"type": "array", "items": _ref("schemas", schema)}}},
        ]
    }


def description(n: int, *, integers: bool = INTEGERS) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``n`` synthetic resources (deterministic).

    ``integers``: declare the two whole-number fields ``type: integer`` (else ``type: number``)."""
    if n < 1:
        raise ValueError("at least one resource")
    names = resource_names(n)
    paths: dict[str, Any] = {}
    parameters: dict[str, Any] = {
        "Id": {
            "name": "id",
            "in": "path",
            "required": True,
            "description": "The client-chosen id of the object.",
            "schema": _ref("schemas", "Id"),
        },
        "XVersion": {
            "name": "X-Version",
            "in": "header",
            "required": False,
            "description": "The API version (the `/vN` path segment is equivalent); none means 1.",
            "schema": {"type": "integer", "enum": [1, 2]},
        },
    }
    for maximum, default in sorted(set(LIMITS)):
        parameters[f"Limit{maximum}"] = {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": "How many records to return; more than the maximum is 403 requested_too_many.",
            "schema": {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
        }
    request_bodies: dict[str, Any] = {}
    responses: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        "Id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        "Name": {"description": "A non-blank string.", "type": "string", "minLength": 1, "pattern": "\\S"},
        "Time": {"$ref": "time.schema.json"},
        "Epoch": {"description": "Seconds since the Unix epoch of the companion time field.", "type": "integer"},
        "ErrorEnvelope": {"$ref": "envelope.schema.json#/$defs/error"},
        "ServerFields": {
            "type": "object",
            "required": ["id", "created_at", "created_at_epoch", "updated_at", "updated_at_epoch"],
            "properties": {
                "id": {"$ref": "#/components/schemas/Id", "readOnly": True},
                "created_at": {"$ref": "#/components/schemas/Time", "readOnly": True},
                "created_at_epoch": {"$ref": "#/components/schemas/Epoch", "readOnly": True},
                "updated_at": {"$ref": "#/components/schemas/Time", "readOnly": True},
                "updated_at_epoch": {"$ref": "#/components/schemas/Epoch", "readOnly": True},
            },
        },
    }
    for i, name in enumerate(names):
        s = _schema_name(name)
        maximum, _ = LIMITS[i % 4]
        parent = parent_of(i)
        prefix, parent_param, parent_params = "", None, []
        if parent is not None:
            parent_param = f"{names[parent]}_id"
            prefix = f"/{names[parent]}/{{{parent_param}}}"
            pp = f"{_schema_name(names[parent])}Id"
            parameters.setdefault(
                pp,
                {
                    "name": parent_param,
                    "in": "path",
                    "required": True,
                    "description": f"The client-chosen id of the parent {names[parent]}.",
                    "schema": _ref("schemas", "Id"),
                },
            )
            parent_params = [_ref("parameters", pp)]
        collection, item = f"{prefix}/{name}", f"{prefix}/{name}/{{id}}"
        paths[collection] = {
            "parameters": [*parent_params, _ref("parameters", "XVersion")],
            "get": {
                "operationId": f"list{s}",
                "tags": [name],
                "parameters": [_ref("parameters", f"Limit{maximum}")],
                "responses": {
                    "200": {
                        "description": f"Up to `limit` {name}.",
                        "content": {"application/json": {"schema": _list_envelope(s)}},
                    },
                    **_errors(),
                },
            },
        }
        operations: dict[str, Any] = {}
        for method in METHODS:
            op: dict[str, Any] = {"operationId": f"{method}{s}", "tags": [name]}
            if method in ("post", "put"):
                op["requestBody"] = _ref("requestBodies", s)
                written = _ref("responses", f"{s}Written")
                op["responses"] = {"200": written, "201": written, **_errors()}
            else:
                op["responses"] = {"200": _ref("responses", "Deleted" if method == "delete" else s), **_errors()}
            operations[method] = op
        paths[item] = {"parameters": [*parent_params, _ref("parameters", "Id"), _ref("parameters", "XVersion")]}
        paths[item].update(operations)

        ids = {"id": "$request.path.id"} | ({parent_param: f"$request.path.{parent_param}"} if parent_param else {})
        links = {
            f"Get{s}": {"operationId": f"get{s}", "parameters": dict(ids)},
            f"Delete{s}": {"operationId": f"delete{s}", "parameters": dict(ids)},
        }
        for c, child in enumerate(names):
            if parent_of(c) == i:
                links[f"Put{_schema_name(child)}"] = {
                    "operationId": f"put{_schema_name(child)}",
                    "parameters": {f"{name}_id": "$request.path.id"},
                }
        request_bodies[s] = {
            "required": True,
            "content": {"application/json": {"schema": _ref("schemas", f"{s}Write")}},
        }
        envelope = {"application/json": {"schema": _ref("schemas", f"{s}Envelope")}}
        responses[s] = {"description": f"The {name} object.", "content": envelope}
        responses[f"{s}Written"] = {
            "description": f"The {name} object as stored (201 when created, 200 when updated).",
            "content": envelope,
            "links": links,
        }

        props, required, read, extra = _fields(i, integers)
        schemas[f"{s}Write"] = {"type": "object", "required": required, "properties": props, **extra}
        parts: list[Any] = [_ref("schemas", "ServerFields")]
        if parent_param:
            parts.append(
                {
                    "type": "object",
                    "required": [parent_param],
                    "properties": {parent_param: {"$ref": "#/components/schemas/Id", "readOnly": True}},
                }
            )
        parts.append(_ref("schemas", f"{s}Write"))
        if read:
            parts.append({"properties": read})
        schemas[s] = {"allOf": parts}
        schemas[f"{s}Envelope"] = {
            "allOf": [{"$ref": "envelope.schema.json#/$defs/success"}, {"properties": {"data": _ref("schemas", s)}}]
        }

    responses["Deleted"] = {
        "description": "Deleted, or already absent (deleting is idempotent).",
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [
                        {"$ref": "envelope.schema.json#/$defs/success"},
                        {
                            "properties": {
                                "data": {
                                    "type": "object",
                                    "required": ["id", "deleted"],
                                    "properties": {"id": _ref("schemas", "Id"), "deleted": {"const": True}},
                                }
                            }
                        },
                    ]
                }
            }
        },
    }
    for name, text in (
        ("NotAuthorized", "No valid `Authorization: Basic <key>` header (checked before anything else)."),
        ("Invalid", "validation_failed, invalid_request or requested_too_many."),
        ("NotFound", "No such object, parent, path or API version."),
        ("InternalError", "An unexpected server error."),
    ):
        responses[name] = {
            "description": text,
            "content": {"application/json": {"schema": _ref("schemas", "ErrorEnvelope")}},
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"Synthetic API with {n} resources",
            "version": "2",
            "summary": "Generated by benchmarks/synthetic.py for the scale benchmark.",
        },
        "x-spec-versions": [1, 2],
        "servers": [{"url": "https://127.0.0.1/ga/api"}],
        "security": [{"apiKey": []}],
        "tags": [{"name": name} for name in names],
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "Authorization"}},
            "parameters": parameters,
            "requestBodies": request_bodies,
            "responses": responses,
            "schemas": schemas,
        },
    }


def dump(n: int, *, integers: bool = INTEGERS) -> str:
    """The description as YAML text (stable: keys in insertion order)."""
    return yaml.safe_dump(description(n, integers=integers), sort_keys=False, width=120, allow_unicode=True)


def write(n: int, directory: Path, *, integers: bool = INTEGERS) -> Path:
    """Write ``synthetic-N.yaml`` and the suite schemas it references into ``directory``; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in REFERENCED:
        shutil.copyfile(SCHEMAS / name, directory / name)
    path = directory / f"synthetic-{n}{'' if integers else '-numbers'}.yaml"
    path.write_text(dump(n, integers=integers), encoding="utf-8")
    return path


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.splitlines()[2].strip())
    print(write(int(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) == 3 else ".")))

"""Paths to resources: which resource (and which ids) a request path addresses.

Built from the target model, so the server has no path of its own. A path whose
ids do not match their declared schema (e.g. ``^[A-Za-z0-9_-]{1,64}$``) is not a
path of the API at all: it gets the same 404 as any other unknown path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import jsonschema

from conformance.model import Resource
from conformance.reference.store import Key

_PARAM = re.compile(r"\{[^{}/]+\}")


@dataclass(frozen=True)
class Route:
    """A matched request path.

    For an item path ``key`` addresses the object itself; for a collection path it
    addresses the parent whose children are listed (empty at the top level).
    """

    resource: Resource
    kind: Literal["item", "collection"]
    ids: dict[str, str]
    key: Key

    @property
    def parent_key(self) -> Key:
        return self.key[:-1] if self.kind == "item" else self.key


class _Template:
    def __init__(self, resource: Resource, template: str, kind: Literal["item", "collection"]) -> None:
        self.resource = resource
        self.kind = kind
        self.names = [p[1:-1] for p in _PARAM.findall(template)]
        pieces = _PARAM.split(template)
        self.regex = re.compile("".join(re.escape(p) + "([^/]+)" for p in pieces[:-1]) + re.escape(pieces[-1]))
        # Which resource each parameter identifies: the chain, root first.
        chain = resource.chain() if kind == "item" else resource.chain()[:-1]
        self.owners = chain[-len(self.names) :] if self.names else []
        self.validators = [jsonschema.Draft202012Validator(_id_schema(r.id_schema)) for r in self.owners]

    def match(self, path: str) -> Route | None:
        m = self.regex.fullmatch(path)
        if m is None:
            return None
        values = list(m.groups())
        if not all(v.is_valid(value) for v, value in zip(self.validators, values, strict=True)):
            return None
        key = tuple((owner.name, value) for owner, value in zip(self.owners, values, strict=True))
        return Route(self.resource, self.kind, dict(zip(self.names, values, strict=True)), key)


def _id_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return schema if isinstance(schema, dict) and schema else {"type": "string"}


class Router:
    def __init__(self, resources: list[Resource]) -> None:
        self._templates: list[_Template] = []
        for r in resources:
            self._templates.append(_Template(r, r.item_path, "item"))
            if r.collection_path:
                self._templates.append(_Template(r, r.collection_path, "collection"))

    def match(self, path: str) -> Route | None:
        for template in self._templates:
            route = template.match(path)
            if route is not None:
                return route
        return None

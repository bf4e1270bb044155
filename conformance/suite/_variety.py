"""A spread of responses for the per-response clauses to judge: success and every
kind of failure the spec names, on one resource of the target."""

from __future__ import annotations

from conformance.exchange import Exchange
from conformance.model import Resource
from conformance.target import Target


def variety(target: Target, resource: Resource) -> list[Exchange]:
    """Memoized per resource: the per-response clauses judge the same spread."""
    cache = target.__dict__.setdefault("_variety", {})
    if resource.item_path not in cache:
        cache[resource.item_path] = _variety(target, resource)
    return cache[resource.item_path]


def _variety(target: Target, resource: Resource) -> list[Exchange]:
    version = target.version_for(resource)
    obj = target.create(resource, version=version)
    out = [obj.created, target.get(resource, obj.path, version=version)]
    missing, _ = target.fresh_path(resource, version, parent_ids=list(obj.ids.values())[:-1])
    out.append(target.get(resource, missing, version=version))  # 404
    out.append(target.client.request("GET", obj.path, version=version, auth=None, resource=resource.name))  # 401
    out.append(target.write(resource, obj.path, data=b"{not json", version=version))  # 403
    if resource.collection_path:
        coll = resource.collection_path
        for key, value in obj.ids.items():
            coll = coll.replace("{" + key + "}", value)
        if resource.parent is not None:  # a child collection holds only the suite's objects
            out.append(target.get(resource, coll, version=version))
        if resource.limit_param and resource.limit_max:
            out.append(
                target.get(resource, coll, version=version, params={resource.limit_param: resource.limit_max + 1})
            )
    return out

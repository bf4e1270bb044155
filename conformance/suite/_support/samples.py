"""A spread of responses for the per-response clauses to judge: every operation the
spec names (write, read, list, delete, delete again) and every kind of failure it
names (401, 403 invalid_request, 403 validation_failed, 403 requested_too_many, 404),
on one resource of the target."""

from __future__ import annotations

from conformance.http.exchange import Exchange
from conformance.model import Resource
from conformance.model.strategies import invalid_cases
from conformance.suite._support.target import Target


def variety(target: Target, resource: Resource) -> list[Exchange]:
    """Memoized per resource: the per-response clauses judge the same spread."""
    cache = target.__dict__.setdefault("_variety", {})
    if resource.item_path not in cache:
        cache[resource.item_path] = _variety(target, resource)
    return cache[resource.item_path]


def _variety(target: Target, resource: Resource) -> list[Exchange]:
    version = target.version_for(resource)
    obj = target.create(resource, version=version)  # a body the target accepts (SPEC ambiguity 15)
    body = obj.body
    parent_ids = list(obj.ids.values())[:-1]
    out = [obj.created, target.get(resource, obj.path, version=version)]
    out.append(target.write(resource, obj.path, body, method="PUT", version=version))  # update
    missing, _ = target.fresh_path(resource, version, parent_ids=parent_ids)
    out.append(target.get(resource, missing, version=version))  # 404
    out.append(target.client.request("GET", obj.path, version=version, auth=None, resource=resource.name))  # 401
    out.append(target.write(resource, obj.path, data=b"{not json", version=version))  # 403 invalid_request
    for case in invalid_cases(resource, version)[:2]:  # 403 validation_failed
        out.append(target.write(resource, missing, case.body, version=version))
    coll = resource.collection_path_for(parent_ids)
    if coll is not None:
        if resource.parent is not None:  # a child collection holds only the suite's objects
            out.append(target.get(resource, coll, version=version))
        if resource.limit_param and resource.limit_max:
            out.append(
                target.get(resource, coll, version=version, params={resource.limit_param: resource.limit_max + 1})
            )
    out.append(target.delete(resource, obj.path, version=version))
    out.append(target.delete(resource, obj.path, version=version))  # already deleted: success
    return out

"""A spread of responses for the per-response clauses to judge: every operation the
spec names (write, read, list, delete, delete again) and every kind of failure it
names (401, 403 invalid_request, 403 validation_failed, 403 requested_too_many, 404),
on one resource of the target."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from conformance.checks.context import CheckContext
from conformance.http.exchange import Exchange
from conformance.model import Resource
from conformance.model.invalid import invalid_cases
from conformance.suite._support.asserts import exercise
from conformance.suite._support.target import Target

SpreadTest = Callable[[Target, Resource, CheckContext], None]


def spread_test(clause: str) -> SpreadTest:
    """The test of a per-response clause, marked with it: per resource, the run's spread of responses
    (:func:`variety`), which the recorder judges as it judges every response; the test makes sure the clause
    had some of them to judge."""

    def test(target: Target, resource: Resource, ctx: CheckContext) -> None:
        exercise(clause, variety(target, resource), ctx, f"no response of the spread gives {clause} anything to judge")

    marked: SpreadTest = getattr(pytest.mark, clause.replace("-", "_"))(test)
    return marked


def variety(target: Target, resource: Resource) -> list[Exchange]:
    """Kept for the run, per resource: the per-response clauses' tests share one spread, whose findings the
    recorder files once, under the test that made it. That test run again (a confirmation re-run,
    ``--confirm``) makes it again, so the re-run judges new responses rather than finding nothing."""
    test = _current_test()
    _by, exchanges = target.memo(
        ("variety", resource.item_path),
        lambda: (test, _variety(target, resource)),
        stale=lambda kept: test is not None and kept[0] == test,
    )
    return exchanges


def _current_test() -> str | None:
    """The node id of the test running (pytest's ``PYTEST_CURRENT_TEST``: ``<node id> (<phase>)``)."""
    current = os.environ.get("PYTEST_CURRENT_TEST")
    return current.rsplit(" ", 1)[0] if current else None


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

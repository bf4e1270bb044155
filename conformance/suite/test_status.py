"""STATUS-1..6: the status table, its error codes, and what each situation gets."""

from __future__ import annotations

import re

import pytest

from conformance.fuzz.judge import judge_limit
from conformance.http.client import UNSET
from conformance.model.invalid import bound_cases, invalid_cases
from conformance.suite._support.asserts import assert_error, exercise
from conformance.suite._support.samples import spread_test, variety
from conformance.suite._support.target import path_params
from conformance.suite.test_auth import version_forms
from conformance.verdicts.violation import ClauseViolation, expect

EXTRA_METHODS = ("PATCH", "TRACE")


@pytest.mark.STATUS_1
def test_only_table_statuses(target, resource, ctx):
    exchanges = list(variety(target, resource))
    version = target.version_for(resource)
    path, _ = target.fresh_path(resource, version)
    for method in EXTRA_METHODS:  # Ambiguity 13: 404 or 403, never 405
        exchanges.append(target.client.request(method, path, version=version, resource=resource.name))
    exercise("STATUS-1", exchanges, ctx, "no response to judge")  # the check layer judges every response


test_error_codes_match_statuses = spread_test("STATUS-2")


@pytest.mark.STATUS_3
def test_invalid_arguments_get_validation_failed(target, resource):
    version = target.version_for(resource)
    cases = [c for c in invalid_cases(resource, version) if c.clause == "STATUS-3"]
    if not cases:
        pytest.skip("no field whose invalid value the description makes provable")
    path, _ = target.fresh_path(resource, version)
    for case in cases:
        ex = target.write(resource, path, case.body, version=version)
        assert_error(ex, "STATUS-3", 403, "validation_failed", f"write with {case.label} ({case.value!r})")


@pytest.mark.STATUS_3
def test_values_past_declared_bounds_get_validation_failed(target, resource):
    """Every bound the description declares on a field (a range, a length, a number of items), probed just past
    it in a body the target accepts otherwise, every run: a value outside what the description allows is an
    invalid argument. A server that checks a looser range (0..100 for a declared 0..50) shows only here."""
    version = target.version_for(resource)
    obj = target.create(resource, version=version)  # a body the target accepts (SPEC ambiguity 15)
    cases = bound_cases(resource, version, obj.body)
    if not cases:
        pytest.skip("the description declares no bound on a field of this resource")
    parents = list(obj.ids.values())[:-1]
    missed: list[ClauseViolation] = []  # every bound is probed: a vendor sees all it does not check in one run
    for case in cases:
        path, _ = target.fresh_path(resource, version, parent_ids=parents)
        ex = target.write(resource, path, case.body, version=version)
        try:
            assert_error(ex, "STATUS-3", 403, "validation_failed", f"write with {case.label} ({_shown(case.value)})")
        except ClauseViolation as violation:
            missed.append(violation)
    if missed:
        more = f" (and {len(missed) - 1} more: {'; '.join(v.message for v in missed[1:])})" if missed[1:] else ""
        raise ClauseViolation("STATUS-3", missed[0].message + more, missed[0].exchange)


def _shown(value: object) -> str:
    """A probe value as a message shows it: long strings and lists by their size."""
    if isinstance(value, str | list) and len(value) > 40:
        kind = "characters" if isinstance(value, str) else "items"
        return f"{len(value)} {kind}: {value[:3]!r}…"
    return repr(value)


@pytest.mark.STATUS_3
def test_bad_limit_gets_403(target, resource):
    """Ambiguity 11: limit below 1 or not an integer: 403 validation_failed or invalid_request."""
    if not (resource.collection_path and resource.limit_param):
        pytest.skip("no collection with a limit parameter")
    coll = _collection(target, resource)
    for bad in ("0", "-1", "abc"):
        ex = target.get(resource, coll, version=target.version_for(resource), params={resource.limit_param: bad})
        assert_error(ex, "STATUS-3", 403, ("validation_failed", "invalid_request"), f"{resource.limit_param}={bad}")


@pytest.mark.STATUS_4
def test_missing_object_is_not_found(target, resource):
    version = target.version_for(resource)
    path, _ = target.fresh_path(resource, version)
    assert_error(
        target.get(resource, path, version=version), "STATUS-4", 404, "not_found", "GET of an id never created"
    )


@pytest.mark.STATUS_4
@pytest.mark.parametrize("path", ["/cft-no-such-path", "/cft-no-such-path/cft1/deeper"])
def test_unknown_path_is_not_found(target, path):
    """Every method, naming no version, ``/vN`` or ``X-Version: N``: a path the API does not have is 404."""
    if _described(target.model, path):
        pytest.skip(f"{path} is a path of the target description")
    for method in ("GET", "POST", "PUT", "DELETE"):
        for (version, via), label in version_forms(target.model.latest_version):
            body = {} if method in ("POST", "PUT") else UNSET
            ex = target.client.request(method, path, version=version, via=via, json=body)
            assert_error(ex, "STATUS-4", 404, "not_found", f"{method} {path} ({label}; a path the API does not have)")


@pytest.mark.STATUS_4
def test_path_below_an_object_is_not_found(target, resource):
    """A segment below an object the suite created is a path the API does not have, whichever the method."""
    version = target.version_for(resource)
    obj = target.create(resource, version=version)
    path = obj.path + "/cft-no-such-path"
    if _described(target.model, path):
        pytest.skip(f"{path} is a path of the target description")
    forms = version_forms(version)
    for n, method in enumerate(("GET", "POST", "PUT", "DELETE")):
        (v, via), label = forms[n % len(forms)]
        ex = target.client.request(
            method, path, version=v, via=via, json={} if method in ("POST", "PUT") else UNSET, resource=resource.name
        )
        assert_error(ex, "STATUS-4", 404, "not_found", f"{method} {path} ({label}; a path the API does not have)")


@pytest.mark.STATUS_5
def test_over_the_limit_is_requested_too_many(target, resource):
    if not (resource.collection_path and resource.limit_param and resource.limit_max):
        pytest.skip("no collection with a declared limit maximum")
    coll = _collection(target, resource)
    for over in (resource.limit_max + 1, resource.limit_max * 10):
        query = {resource.limit_param: over}
        ex = target.get(resource, coll, version=target.version_for(resource), params=query)
        # requested_too_many; beyond 32 bits "malformed" too (the fuzzer's reading, one source)
        wanted = judge_limit(resource, query)
        assert wanted is not None and wanted.clause == "STATUS-5"
        assert_error(ex, "STATUS-5", wanted.statuses, wanted.codes, wanted.reason)
    ok = target.get(
        resource, coll, version=target.version_for(resource), params={resource.limit_param: resource.limit_max}
    )
    expect(
        ok.status == 200,  # the listing's shape is the description's, not this clause's
        "STATUS-5",
        f"{resource.limit_param}={resource.limit_max} (the maximum itself) was refused: HTTP {ok.status}",
        ok,
    )


@pytest.mark.STATUS_6
def test_create_201_update_200(target, resource):
    version = target.version_for(resource)
    obj = target.create(resource, version=version)
    expect(obj.created.status == 201, "STATUS-6", f"create answered {obj.created.status}, not 201", obj.created)
    again = target.write(resource, obj.path, obj.body, version=version)
    expect(again.status == 200, "STATUS-6", f"update answered {again.status}, not 200", again)


def _described(model, path: str) -> bool:
    """Whether ``path`` fits an item or collection path of the description (a write there could create)."""
    for resource in model.resources:
        for template in (resource.item_path, resource.collection_path):
            if template and re.fullmatch(re.sub(r"\\\{[^{}/]+\\\}", "[^/]+", re.escape(template)), path):
                return True
    return False


def _collection(target, resource) -> str:
    """The collection path, under freshly created parents when it has any."""
    parents = target.ancestors(resource, target.version_for(resource))
    path = resource.collection_path
    for key, value in zip(path_params(path), parents, strict=False):
        path = path.replace("{" + key + "}", value)
    return path

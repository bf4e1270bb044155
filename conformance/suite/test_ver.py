"""VER-1..5: choosing a version by header or path; unversioned means version 1.

The header and path tests make their own writes with the form under test, so a
target that lacks that form fails the clause instead of failing a precondition.
"""

from __future__ import annotations

from functools import partial

import pytest

from conformance.checks.success import is_success
from conformance.http.client import UNSET
from conformance.model.strategies import full_body, minimal_body
from conformance.suite._support.acceptance import refused_by_rule
from conformance.suite._support.asserts import assert_ok, assert_written, diff_states, mentions, writable_state
from conformance.suite._support.together import together
from conformance.suite.test_auth import operations
from conformance.verdicts.notes import record_note
from conformance.verdicts.violation import expect

FORMS = {"header": ("VER-1", "X-Version: {v}"), "path": ("VER-2", "/v{v}")}


def _object_with_version_fields(target, resource, versioned_field=None):
    """An object written in the latest version, with the later-version fields set (where it has any: only they
    tell the versions apart, in an item read and in a listing alike)."""
    version = target.model.latest_version
    later = versioned_field is not None or any(f.min_version > 1 for f in resource.fields.values())
    return target.create(resource, version=version, full=later), version


def _write_and_read(target, resource, via: str, body=None, every_operation=False):
    """Write at every version with one form and read back with the same form: all must succeed. With
    ``every_operation``, PUT, the collection GET and finally DELETE too, each in every version."""
    clause, label = FORMS[via]
    path, ids = target.fresh_path(resource, via=via)  # parents too are made with the form under test
    coll = resource.collection_path_for(list(ids.values())[:-1])
    reads = {}
    for version in target.model.versions:
        named = label.format(v=version)
        sent = body if body is not None and version == target.model.latest_version else minimal_body(resource, version)
        target.write_valid(resource, path, sent, clause, f"POST with {named}", version=version, via=via)
        if every_operation and "PUT" in resource.methods:
            target.write_valid(
                resource, path, sent, clause, f"PUT with {named}", method="PUT", version=version, via=via
            )
        reads[version] = assert_ok(target.get(resource, path, version=version, via=via), clause, f"GET with {named}")
        if every_operation and coll is not None:
            listed = target.get(resource, coll, version=version, via=via)
            assert_written(listed, clause, f"collection GET {coll} with {named}")  # its shape is the description's
    if every_operation and "DELETE" in resource.methods:
        version = target.model.latest_version
        gone = target.client.request("DELETE", path, version=version, via=via, resource=resource.name)
        assert_written(gone, clause, f"DELETE with {label.format(v=version)}")
    return path, reads


def _one_version_note(request, target, clause: str) -> None:
    """With one version, a server that ignores the version named answers the same: say what was not judged."""
    if len(target.model.versions) == 1:
        record_note(
            request,
            clause,
            "untested",
            f"the description states one version ({target.model.versions[0]}): whether the version named selects "
            "a version cannot be observed (a server ignoring it answers the same); state the versions served with "
            "x-spec-versions or an X-Version enum",
        )


@pytest.mark.VER_1
def test_version_by_header(target, resource, request):
    _write_and_read(target, resource, "header", every_operation=True)
    _one_version_note(request, target, "VER-1")


@pytest.mark.VER_2
def test_version_by_path(target, resource, request):
    _write_and_read(target, resource, "path", every_operation=True)
    _one_version_note(request, target, "VER-2")


def _later_field_is_served(target, versioned_field, via: str) -> None:
    """A field that exists from version N comes back when version N is chosen with ``via``."""
    resource, field = versioned_field
    clause, label = FORMS[via]
    version = target.model.latest_version
    body = full_body(resource, version)
    path, reads = _write_and_read(target, resource, via, body)
    expect(
        field.name in reads[version]
        and writable_state(resource, version, reads[version])[field.name]
        == writable_state(resource, version, body)[field.name],
        clause,
        f"{label.format(v=version)} did not select version {version}: {field.name} (from version "
        f"{field.min_version}) wrote {body.get(field.name)!r}, read {reads[version].get(field.name, '<absent>')!r}",
        target.get(resource, path, version=version, via=via),
    )


@pytest.mark.VER_1
def test_header_selects_later_fields(target, versioned_field):
    _later_field_is_served(target, versioned_field, "header")


@pytest.mark.VER_2
def test_path_selects_later_fields(target, versioned_field):
    _later_field_is_served(target, versioned_field, "path")


@pytest.mark.VER_3
def test_unversioned_is_version_1(target, resource):
    obj, _ = _object_with_version_fields(target, resource)
    plain = target.get(resource, obj.path)
    v1 = target.get(resource, obj.path, version=1)
    assert_ok(v1, "VER-3", "GET with explicit version 1")
    expect(
        plain.status == v1.status and plain.data == v1.data,
        "VER-3",
        "an unversioned GET differs from the same GET with version 1",
        plain,
    )


@pytest.mark.VER_3
def test_unversioned_hides_later_fields(target, versioned_field):
    """A field added after version 1 must not appear when no version is named."""
    resource, field = versioned_field
    obj, _ = _object_with_version_fields(target, resource, field)
    plain = assert_ok(target.get(resource, obj.path), "VER-3", "unversioned GET")
    v1 = assert_ok(target.get(resource, obj.path, version=1), "VER-3", "GET /v1")
    expect(
        field.name not in plain or plain == v1,
        "VER-3",
        f"unversioned GET returns {field.name}, which exists from version {field.min_version}: "
        "served as a later version",
        target.get(resource, obj.path),
    )


def _item(listed, token):
    """The listed item naming ``token`` (the run's unique id), or None: a listing may not show it (Ambiguity 21)."""
    items = listed.data if is_success(listed.status) and isinstance(listed.data, list) else []
    return next((item for item in items if mentions(item, token)), None)


def _listing(target, resource, coll, version, via="path"):
    params = {resource.limit_param: resource.limit_max} if resource.limit_param and resource.limit_max else None
    return target.get(resource, coll, version=version, via=via, params=params)


@pytest.mark.VER_3
def test_unversioned_is_version_1_on_every_operation(target, resource):
    """POST, PUT, the collection GET and DELETE naming no version answer as with version 1, and a written body
    (a later version's fields included) is stored alike."""
    latest = target.model.latest_version
    body, other = full_body(resource, latest), full_body(resource, latest)  # unique words: no uniqueness rule hit
    parents = target.shared_parents(resource)
    plain, ids = target.fresh_path(resource, latest, parent_ids=parents)
    v1, v1_ids = target.fresh_path(resource, latest, parent_ids=parents)
    for method in [m for m in ("POST", "PUT") if m in resource.methods]:
        a = target.write(resource, plain, body, method=method)
        b = target.write(resource, v1, other, method=method, version=1)
        if a.status != b.status and (refused_by_rule(a) or refused_by_rule(b)):
            # one of two bodies refused by the vendor's own rules (SPEC ambiguity 15): the versions are not what
            # differs, so this comparison says nothing
            continue
        expect(
            a.status == b.status,
            "VER-3",
            f"an unversioned {method} answered HTTP {a.status}, the same {method} with version 1 HTTP {b.status}",
            a,
        )
        if is_success(a.status) and is_success(b.status):
            got = target.get(resource, plain, version=latest)
            diffs = diff_states(
                _alike(
                    writable_state(resource, latest, assert_ok(got, "VER-3", f"GET /v{latest} after the {method}")),
                    body,
                    other,
                ),
                _alike(
                    writable_state(
                        resource, latest, assert_ok(target.get(resource, v1, version=latest), "VER-3", "GET")
                    ),
                    body,
                    other,
                ),
            )
            expect(
                not diffs,
                "VER-3",
                f"an unversioned {method} is stored differently from the same {method} with version 1 (read with "
                f"version {latest}): {'; '.join(diffs)}",
                got,
            )
    coll = resource.collection_path_for(parents)
    if coll is not None:
        a, b = _listing(target, resource, coll, None), _listing(target, resource, coll, 1)
        expect(
            a.status == b.status, "VER-3", f"an unversioned collection GET answered HTTP {a.status}, /v1 {b.status}", a
        )
        token = ids[resource.id_param]
        mine, theirs = _item(a, token), _item(b, token)
        expect(
            mine is None or theirs is None or mine == theirs,
            "VER-3",
            f"an unversioned collection GET lists {token} differently from the same GET with version 1",
            a,
        )
    if "DELETE" in resource.methods:
        a = target.client.request("DELETE", plain, resource=resource.name)
        b = target.client.request("DELETE", v1, version=1, resource=resource.name)
        expect(a.status == b.status, "VER-3", f"an unversioned DELETE answered HTTP {a.status}, /v1 {b.status}", a)


@pytest.mark.VER_4
def test_header_and_path_reads_are_equivalent(target, resource, request):
    _one_version_note(request, target, "VER-4")
    obj, _ = _object_with_version_fields(target, resource)
    coll = resource.collection_path_for(list(obj.ids.values())[:-1])
    token = obj.ids[resource.id_param]
    for version in target.model.versions:
        by_header = target.get(resource, obj.path, version=version, via="header")
        by_path = target.get(resource, obj.path, version=version, via="path")
        expect(
            by_header.status == by_path.status and by_header.data == by_path.data,
            "VER-4",
            f"X-Version: {version} and /v{version} answer differently",
            by_header,
        )
        if coll is None:
            continue
        by_header = _listing(target, resource, coll, version, "header")
        by_path = _listing(target, resource, coll, version, "path")
        mine, theirs = _item(by_header, token), _item(by_path, token)
        expect(
            by_header.status == by_path.status and (mine is None or theirs is None or mine == theirs),
            "VER-4",
            f"the collection GET {coll} with X-Version: {version} and with /v{version} answer differently",
            by_header,
        )


@pytest.mark.VER_4
def test_header_and_path_writes_are_equivalent(target, resource):
    """The same body written with X-Version: N and to /vN is stored the same."""
    version = target.model.latest_version
    parents = target.shared_parents(resource, version)
    for method in [m for m in ("POST", "PUT") if m in resource.methods]:
        # Unique words in each body of each pass: a name unique within the organization (a rule of the vendor's
        # own) never refuses one.
        bodies = {"header": full_body(resource, version), "path": full_body(resource, version)}
        states = {}
        for via, body in bodies.items():
            path, _ = target.fresh_path(resource, version, parent_ids=parents)
            what = f"{method} with the {via} form of version {version}"
            written = target.write_valid(resource, path, body, "VER-4", what, method=method, version=version, via=via)
            read = assert_ok(target.get(resource, path, version=version, via="path"), "VER-4", f"GET /v{version}")
            states[via] = (_alike(writable_state(resource, version, read), *bodies.values()), written, path)
        diffs = diff_states(states["header"][0], states["path"][0])
        expect(
            not diffs,
            "VER-4",
            f"a {method} with X-Version: {version} is stored differently from one to /v{version}: {'; '.join(diffs)}",
            states["header"][1],
        )
    if "DELETE" in resource.methods:
        gone = {
            via: target.client.request("DELETE", path, version=version, via=via, resource=resource.name)
            for via, (_, _, path) in states.items()
        }
        expect(
            gone["header"].status == gone["path"].status,
            "VER-4",
            f"DELETE with X-Version: {version} answered HTTP {gone['header'].status}, with /v{version} "
            f"HTTP {gone['path'].status}",
            gone["header"],
        )


@pytest.mark.VER_4
def test_header_and_path_agree_on_later_fields(target, versioned_field):
    resource, field = versioned_field
    obj, version = _object_with_version_fields(target, resource, field)
    by_header = assert_ok(target.get(resource, obj.path, version=version, via="header"), "VER-4", "X-Version GET")
    by_path = assert_ok(target.get(resource, obj.path, version=version, via="path"), "VER-4", "/vN GET")
    expect(by_header == by_path, "VER-4", f"X-Version: {version} and /v{version} differ", None)
    expect(field.name in by_path, "VER-4", f"{field.name} missing in version {version}", None)


BAD_VERSIONS = ("999", "abc", "0", "-1", "2.5")


def _judge_unknown_version(ex, named):
    expect(ex.status < 500, "VER-5", f"unknown version {named}: HTTP {ex.status}", ex)
    expect(
        ex.status in (403, 404),
        "VER-5",
        f"unknown version {named} answered HTTP {ex.status}: a silent fallback, or outside 403/404",
        ex,
    )
    expect(
        ex.envelope is not None and ex.envelope.get("success") is False,
        "VER-5",
        f"unknown version {named}: error without the envelope",
        ex,
    )


@pytest.mark.VER_5
def test_unknown_version_is_an_error(target, resource):
    obj, _ = _object_with_version_fields(target, resource)
    probes = [
        target.client.request("GET", obj.path, headers={"X-Version": v}, resource=resource.name) for v in BAD_VERSIONS
    ]
    probes.append(target.client.request("GET", "/v999" + obj.path, resource=resource.name))
    probes.append(target.client.request("GET", "/vabc" + obj.path, resource=resource.name))
    for ex in probes:
        _judge_unknown_version(ex, ex.request_headers.get("X-Version") or ex.url)


@pytest.mark.VER_5
def test_unknown_version_is_an_error_on_every_operation(target, resource):
    """Every operation, in both forms: a write or delete served under a version that does not exist is a
    silent fallback too. The object is the suite's own, so a faulty server changes only that."""
    version = target.version_for(resource)
    obj = target.create(resource, version=version)
    calls = [
        partial(
            target.client.request,
            method,
            prefix + path,
            json=UNSET if body is None else body,
            headers={"X-Version": header} if header else None,
            resource=resource.name,
        )
        for method, path, body in operations(target, resource, obj, version)
        for header, prefix in (("999", ""), ("abc", ""), (None, "/v999"))
    ]
    for ex in together(target, calls):
        _judge_unknown_version(ex, f"{ex.method} {ex.request_headers.get('X-Version') or ex.url}")


def _alike(state: dict, *bodies: dict) -> dict:
    """``state`` without the members the ``bodies`` wrote differently: the tests write a body with its own
    unique words at each id, so that a vendor's uniqueness rule (SPEC ambiguity 15) never decides."""
    differ = {k for k in set().union(*bodies) if len({repr(b.get(k)) for b in bodies}) > 1}
    return {k: v for k, v in state.items() if k not in differ}

"""VER-1..5: choosing a version by header or path; unversioned means version 1.

The header and path tests make their own writes with the form under test, so a
target that lacks that form fails the clause instead of failing a precondition.
"""

from __future__ import annotations

import pytest

from conformance.assertions import assert_ok, assert_written, diff_states, writable_state
from conformance.expect import expect
from conformance.strategies import full_body, minimal_body

FORMS = {"header": ("VER-1", "X-Version: {v}"), "path": ("VER-2", "/v{v}")}


def _object_with_version_fields(target, resource, versioned_field=None):
    """An object written in the latest version, with the later-version fields set."""
    version = target.model.latest_version
    body = full_body(resource, version) if versioned_field is not None else dict(minimal_body(resource, version))
    return target.create(resource, body, version=version), version


def _write_and_read(target, resource, via: str, body=None):
    """Write at every version with one form and read back with the same form: all must succeed."""
    clause, label = FORMS[via]
    path, _ = target.fresh_path(resource, via=via)  # parents too are made with the form under test
    reads = {}
    for version in target.model.versions:
        sent = body if body is not None and version == target.model.latest_version else minimal_body(resource, version)
        written = target.write(resource, path, sent, version=version, via=via)
        assert_written(written, clause, f"POST with {label.format(v=version)}")
        reads[version] = assert_ok(
            target.get(resource, path, version=version, via=via), clause, f"GET with {label.format(v=version)}"
        )
    return path, reads


@pytest.mark.VER_1
def test_version_by_header(target, resource):
    _write_and_read(target, resource, "header")


@pytest.mark.VER_2
def test_version_by_path(target, resource):
    _write_and_read(target, resource, "path")


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


@pytest.mark.VER_4
def test_header_and_path_reads_are_equivalent(target, resource):
    obj, _ = _object_with_version_fields(target, resource)
    for version in target.model.versions:
        by_header = target.get(resource, obj.path, version=version, via="header")
        by_path = target.get(resource, obj.path, version=version, via="path")
        expect(
            by_header.status == by_path.status and by_header.data == by_path.data,
            "VER-4",
            f"X-Version: {version} and /v{version} answer differently",
            by_header,
        )


@pytest.mark.VER_4
def test_header_and_path_writes_are_equivalent(target, resource):
    """The same body written with X-Version: N and to /vN is stored the same."""
    version = target.model.latest_version
    body = full_body(resource, version)
    parents = target.shared_parents(resource, version)
    states = {}
    for via in ("header", "path"):
        path, _ = target.fresh_path(resource, version, parent_ids=parents)
        written = target.write(resource, path, body, version=version, via=via)
        assert_written(written, "VER-4", f"POST with the {via} form of version {version}")
        read = assert_ok(target.get(resource, path, version=version, via="path"), "VER-4", f"GET /v{version}")
        states[via] = (writable_state(resource, version, read), written)
    diffs = diff_states(states["header"][0], states["path"][0])
    expect(
        not diffs,
        "VER-4",
        f"a write with X-Version: {version} is stored differently from one to /v{version}: {'; '.join(diffs)}",
        states["header"][1],
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


@pytest.mark.VER_5
def test_unknown_version_is_an_error(target, resource):
    obj, _ = _object_with_version_fields(target, resource)
    probes = [
        target.client.request("GET", obj.path, headers={"X-Version": v}, resource=resource.name) for v in BAD_VERSIONS
    ]
    probes.append(target.client.request("GET", "/v999" + obj.path, resource=resource.name))
    probes.append(target.client.request("GET", "/vabc" + obj.path, resource=resource.name))
    for ex in probes:
        named = ex.request_headers.get("X-Version") or ex.url
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

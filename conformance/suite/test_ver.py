"""VER-1..5: choosing a version by header or path; unversioned means version 1."""

from __future__ import annotations

import pytest

from conformance.assertions import assert_ok
from conformance.expect import expect
from conformance.strategies import full_body, minimal_body


def _object_with_version_fields(target, resource, versioned_field=None):
    """An object written in the latest version, with the later-version fields set."""
    version = target.model.latest_version
    body = dict(minimal_body(resource, version))
    if versioned_field is not None:
        body = full_body(resource, version)
    return target.create(resource, body, version=version), version


@pytest.mark.VER_1
def test_version_by_header(target, resource):
    obj, _ = _object_with_version_fields(target, resource)
    for version in target.model.versions:
        ex = target.get(resource, obj.path, version=version, via="header")
        assert_ok(ex, "VER-1", f"GET with X-Version: {version}")


@pytest.mark.VER_2
def test_version_by_path(target, resource):
    obj, _ = _object_with_version_fields(target, resource)
    for version in target.model.versions:
        ex = target.get(resource, obj.path, version=version, via="path")
        assert_ok(ex, "VER-2", f"GET /v{version}{obj.path}")


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
def test_header_and_path_are_equivalent(target, resource):
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

"""AUTH-1..4: authentication first, on every operation; organizations isolated."""

from __future__ import annotations

import base64

import pytest

from conformance.assertions import assert_error, assert_ok, mentions, writable_state
from conformance.client import UNSET
from conformance.expect import expect
from conformance.strategies import minimal_body


def _send(target, method, path, version, body, resource, **kw):
    return target.client.request(
        method, path, version=version, json=UNSET if body is None else body, resource=resource.name, **kw
    )


def _operations(target, resource):
    """Every operation of the resource, at an object the suite created."""
    version = target.version_for(resource)
    obj = target.create(resource, version=version)
    body = minimal_body(resource, version)
    ops = [("GET", obj.path, None), ("POST", obj.path, body), ("PUT", obj.path, body), ("DELETE", obj.path, None)]
    if resource.collection_path:
        coll = resource.collection_path
        for key, value in obj.ids.items():
            coll = coll.replace("{" + key + "}", value)
        ops.append(("GET", coll, None))
    return version, obj, ops


@pytest.mark.AUTH_1
def test_no_credentials_get_401_everywhere(target, resource):
    version, obj, ops = _operations(target, resource)
    for method, path, body in ops:
        for v in (version, None):
            ex = _send(target, method, path, v, body, resource, auth=None)
            assert_error(ex, "AUTH-1", 401, "not_authorized", f"{method} {path} without Authorization")
            expect(ex.envelope is not None and ex.data is None, "AUTH-1", "401 response data is not null", ex)
    assert_ok(target.get(resource, obj.path, version=version), "AUTH-1", "the object after unauthenticated writes")


@pytest.mark.AUTH_1
def test_authentication_comes_first(target):
    """Ambiguity 10: 401 whatever the path, version or body."""
    for path, version in (("/cft-no-such-path", None), ("/cft-no-such-path", 999)):
        ex = target.client.request("GET", path, version=version, auth=None)
        assert_error(ex, "AUTH-1", 401, "not_authorized", f"GET {path} (version {version}) without Authorization")


def _bad_credentials(key: str) -> dict[str, str]:
    wrong = base64.b64encode(b"0:" + b"f" * 40).decode()
    return {
        "a wrong key": f"Basic {wrong}",
        "an empty key": "Basic ",
        "the bare scheme": "Basic",
        "a non-Basic scheme": f"Bearer {key}",
        "an undecodable value": "Basic !!!not*base64!!!",
        "the key with a character changed": f"Basic {key[:-1]}{'A' if key[-1:] != 'A' else 'B'}",
    }


@pytest.mark.AUTH_2
def test_bad_credentials_get_401(target, resource):
    version, obj, ops = _operations(target, resource)
    for label, header in _bad_credentials(target.settings.api_key).items():
        for method, path, body in ops[:1] + ops[2:3]:
            ex = _send(target, method, path, version, body, resource, auth=header)
            assert_error(ex, "AUTH-2", 401, "not_authorized", f"{method} with {label}")


@pytest.mark.AUTH_3
def test_valid_key_verbatim_is_accepted(target, resource):
    version, obj, ops = _operations(target, resource)
    for method, path, body in ops:
        ex = _send(target, method, path, version, body, resource)
        expect(ex.status != 401, "AUTH-3", f"{method} with the valid key, sent verbatim, was refused (401)", ex)
        expect(200 <= ex.status < 300, "AUTH-3", f"{method} {path} with the valid key got HTTP {ex.status}", ex)


@pytest.mark.AUTH_4
def test_organizations_are_isolated(target, resource):
    if target.second is None:
        pytest.skip("no second organization's key (set CONFORMANCE_SECOND_API_KEY to test AUTH-4)")
    version = target.version_for(resource)
    obj = target.create(resource, version=version)
    before = assert_ok(target.get(resource, obj.path, version=version), "AUTH-4", "the first org reads its object")
    other = target.second
    seen = target.get(resource, obj.path, version=version, client=other)
    assert_error(seen, "AUTH-4", 404, "not_found", "the second organization reading the first one's object")
    changed = _other_body(resource, version, before)
    target.write(resource, obj.path, changed, version=version, client=other)
    target.write(resource, obj.path, changed, method="PUT", version=version, client=other)
    gone = target.delete(resource, obj.path, version=version, client=other)
    expect(
        gone.status in (200, 404) or 200 <= gone.status < 300,
        "AUTH-4",
        f"second organization's DELETE got HTTP {gone.status}",
        gone,
    )
    after = assert_ok(
        target.get(resource, obj.path, version=version),
        "AUTH-4",
        "the first org's object after the second org wrote and deleted at its path",
    )
    expect(
        writable_state(resource, version, after) == writable_state(resource, version, before),
        "AUTH-4",
        "the second organization changed the first one's object",
        target.get(resource, obj.path, version=version),
    )
    if resource.collection_path and resource.parent is not None:
        coll = resource.collection_path
        for key, value in obj.ids.items():
            coll = coll.replace("{" + key + "}", value)
        listed = target.get(resource, coll, version=version, client=other)
        expect(
            listed.status == 404
            or not isinstance(listed.data, list)
            or not any(mentions(item, obj.ids[resource.id_param]) for item in listed.data),
            "AUTH-4",
            "the second organization lists the first one's objects",
            listed,
        )


def _other_body(resource, version, before):
    """A valid body that differs from the stored one where it can (a plain string field)."""
    body = dict(minimal_body(resource, version))
    for f in resource.writable(version):
        if (
            f.kind == "other"
            and isinstance(body.get(f.name), str)
            and "pattern" not in f.schema
            and "format" not in f.schema
            and "enum" not in f.schema
        ):
            body[f.name] = body[f.name] + "X"
            break
    return body

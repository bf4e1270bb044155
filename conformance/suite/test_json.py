"""JSON-1..3: JSON bodies in and out (JSON-1 and JSON-3 judged by the check layer on every response)."""

from __future__ import annotations

import pytest

from conformance.suite._support.asserts import assert_error
from conformance.suite._support.samples import spread_test
from conformance.suite.test_auth import version_forms

NOT_OBJECTS = {
    "not JSON": b"{not json",
    "truncated JSON": b'{"a": ',
    "empty body": b"",
    "JSON array": b"[1, 2]",
    "JSON string": b'"text"',
    "JSON number": b"42",
    "JSON null": b"null",
}


test_every_response_is_json = spread_test("JSON-1")  # judged by the check layer on every response


@pytest.mark.JSON_2
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_write_body_must_be_a_json_object(target, resource, method):
    """Each bad body once, in turn at a fresh id and at an existing object (create and update may be parsed by
    different code), naming no version, ``/vN`` or ``X-Version: N``."""
    if method not in resource.methods:
        pytest.skip(f"the description has no {method} on {resource.item_path}")
    version = target.version_for(resource)
    fresh, _ = target.fresh_path(resource, version)
    existing = target.create(resource, version=version).path
    places = [
        (path, where, form, label)
        for path, where in ((fresh, "a fresh id"), (existing, "an existing object"))
        for form, label in version_forms(version)
    ]
    for n, (what, raw) in enumerate(NOT_OBJECTS.items()):
        path, where, (v, via), label = places[n % len(places)]
        ex = target.write(resource, path, method=method, data=raw, version=v, via=via)
        assert_error(ex, "JSON-2", 403, "invalid_request", f"{method} to {where} ({label}) with a body that is {what}")


test_responses_are_compact = spread_test("JSON-3")  # judged by the check layer on every response

"""JSON-1..3: JSON bodies in and out."""

from __future__ import annotations

import pytest

from conformance.assertions import assert_clause, assert_error
from conformance.suite._variety import variety

NOT_OBJECTS = {
    "not JSON": b"{not json",
    "truncated JSON": b'{"a": ',
    "empty body": b"",
    "JSON array": b"[1, 2]",
    "JSON string": b'"text"',
    "JSON number": b"42",
    "JSON null": b"null",
}


@pytest.mark.JSON_1
def test_every_response_is_json(target, resource, ctx):
    assert_clause("JSON-1", variety(target, resource), ctx)


@pytest.mark.JSON_2
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_write_body_must_be_a_json_object(target, resource, method):
    version = target.version_for(resource)
    path, _ = target.fresh_path(resource, version)
    for label, raw in NOT_OBJECTS.items():
        ex = target.write(resource, path, method=method, data=raw, version=version)
        assert_error(ex, "JSON-2", 403, "invalid_request", f"{method} with a body that is {label}")


@pytest.mark.JSON_3
def test_responses_are_compact(target, resource, ctx):
    assert_clause("JSON-3", variety(target, resource), ctx)

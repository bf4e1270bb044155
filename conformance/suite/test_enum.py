"""ENUM-1..4: enumerated fields take exactly the spec's value sets.

Which fields are enumerations comes from the target description (an ``enum``
equal to a spec set, or ``x-spec-enum``); response values are also checked on
every response by the check layer.
"""

from __future__ import annotations

import pytest

from conformance import spec
from conformance.assertions import assert_clause, assert_error, assert_ok, assert_written, writable_state
from conformance.expect import expect
from conformance.strategies import OUT_OF_ENUM, body_with, full_body


def _accepts_every_value(target, enum_field, ctx, clause):
    resource, field = enum_field
    version = max(target.version_for(resource), field.min_version)
    values, _ = spec.enum_sets()[field.enum_set]
    exchanges = []
    for value in sorted(values):
        body = body_with(resource, version, **{field.name: value})
        path, _ = target.fresh_path(resource, version, target.shared_parents(resource, version))
        assert_written(target.write(resource, path, body, version=version), clause, f"write of {field.name}={value!r}")
        got = target.get(resource, path, version=version)
        stored = assert_ok(got, clause, "GET after the write")
        expect(
            stored.get(field.name) == value,
            clause,
            f"{field.name} written {value!r}, read {stored.get(field.name)!r}",
            got,
        )
        exchanges.append(got)
    assert_clause(clause, exchanges, ctx)


@pytest.mark.ENUM_1
def test_enum1_set_values(target, enum_field, ctx):
    _accepts_every_value(target, enum_field, ctx, "ENUM-1")


@pytest.mark.ENUM_2
def test_enum2_set_values(target, enum_field, ctx):
    _accepts_every_value(target, enum_field, ctx, "ENUM-2")


@pytest.mark.ENUM_3
def test_enum3_set_values(target, enum_field, ctx):
    _accepts_every_value(target, enum_field, ctx, "ENUM-3")


@pytest.mark.ENUM_4
def test_out_of_set_value_is_refused(target, enum_field):
    resource, field = enum_field
    version = max(target.version_for(resource), field.min_version)
    obj = target.create(resource, full_body(resource, version), version=version)
    before = writable_state(
        resource, version, assert_ok(target.get(resource, obj.path, version=version), "ENUM-4", "GET before")
    )
    for bad in (OUT_OF_ENUM, "ACTIVE" if field.enum_set == "subscriber_status" else OUT_OF_ENUM.upper()):
        ex = target.write(resource, obj.path, {**full_body(resource, version), field.name: bad}, version=version)
        assert_error(ex, "ENUM-4", 403, "validation_failed", f"{field.name}={bad!r}")
    after = target.get(resource, obj.path, version=version)
    expect(
        writable_state(resource, version, assert_ok(after, "ENUM-4", "GET after")) == before,
        "ENUM-4",
        "a refused out-of-set write changed the stored object",
        after,
    )

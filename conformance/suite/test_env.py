"""ENV-1..4: the response envelope, on success and on every kind of failure."""

from __future__ import annotations

import pytest

from conformance.suite._support.asserts import assert_clause
from conformance.suite._support.samples import variety


@pytest.mark.ENV_1
def test_envelope_has_exactly_the_four_keys(target, resource, ctx):
    assert_clause("ENV-1", variety(target, resource), ctx)


@pytest.mark.ENV_2
def test_success_envelope(target, resource, ctx):
    assert_clause("ENV-2", variety(target, resource), ctx)


@pytest.mark.ENV_3
def test_error_envelope(target, resource, ctx):
    assert_clause("ENV-3", variety(target, resource), ctx)


@pytest.mark.ENV_4
def test_success_flag_matches_status(target, resource, ctx):
    assert_clause("ENV-4", variety(target, resource), ctx)

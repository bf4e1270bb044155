"""ENV-1..4: the response envelope, on success and on every kind of failure.

Every response the suite receives is judged by the check layer (:mod:`conformance.checks.envelope`); these
tests make the run's spread of responses for each resource and make sure each clause had some to judge."""

from __future__ import annotations

from conformance.suite._support.samples import spread_test

test_envelope_has_exactly_the_four_keys = spread_test("ENV-1")
test_success_envelope = spread_test("ENV-2")
test_error_envelope = spread_test("ENV-3")
test_success_flag_matches_status = spread_test("ENV-4")

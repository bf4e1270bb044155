"""TIME-1..5: time and date rendering, epochs, the organization's zone, round trips."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import strategies as st

from conformance.checks.context import CheckContext
from conformance.checks.times import candidate_zones, observations, parse_time
from conformance.model.invalid import BAD_DATES, BAD_TIMES
from conformance.model.strategies import OFFSETS, dst_instants, format_time, full_body, instants
from conformance.suite._support.acceptance import gap_of
from conformance.suite._support.asserts import assert_error, assert_ok, assert_written, exercise
from conformance.suite._support.examples import for_each_example
from conformance.suite._support.samples import variety
from conformance.suite._support.target import NoAcceptedBody
from conformance.verdicts.violation import ClauseViolation, expect


def _rich_exchanges(target, resource):
    """Responses carrying every time and date field the resource has, set (non-null)."""
    version = target.version_for(resource)
    obj = target.create(resource, version=version, full=True)
    return [*variety(target, resource), obj.created, target.get(resource, obj.path, version=version)]


@pytest.mark.TIME_1
def test_time_format(target, resource, ctx):
    exercise("TIME-1", _rich_exchanges(target, resource), ctx, "no time field in these responses")


@pytest.mark.TIME_2
def test_epoch_companions(target, resource, ctx):
    exercise("TIME-2", _rich_exchanges(target, resource), ctx, "no time field in these responses")


@pytest.mark.TIME_4
def test_date_format(target, resource, ctx):
    if not resource.of_kind("date"):
        pytest.skip("the resource has no date field")
    exercise("TIME-4", _rich_exchanges(target, resource), ctx, "no date field in these responses")


def _round_trip(target, resource, field, instant: datetime, offset):
    version = target.version_for(resource)
    sent = format_time(instant, offset)
    path = _fresh(target, resource, version)
    try:
        _, written = target.accepted_body(resource, path, version=version, record_gaps=False, **{field.name: sent})
    except NoAcceptedBody as refused:
        _judge_refused_time(target, resource, field, instant, sent, refused)
    assert_written(written, "TIME-5", f"write of {field.name}={sent}")
    got = target.get(resource, path, version=version)
    return sent, got, assert_ok(got, "TIME-5", "GET after writing a time")


def _fresh(target, resource, version) -> str:
    return target.fresh_path(resource, version, target.shared_parents(resource, version))[0]


def _judge_refused_time(target, resource, field, instant: datetime, sent: str, refused: NoAcceptedBody) -> None:
    """A time refused in one offset but accepted as the same instant in another breaks TIME-5 (any offset must
    be accepted). Refused in every offset, it is the instant that the vendor's own rules refuse ("a time
    must lie in the future": SPEC ambiguity 15): a description gap, and the example is discarded."""
    version = target.version_for(resource)
    for other in OFFSETS:
        alt = format_time(instant, other)
        if alt == sent:
            continue
        try:
            target.accepted_body(
                resource, _fresh(target, resource, version), version=version, record_gaps=False, **{field.name: alt}
            )
        except NoAcceptedBody:
            continue
        raise ClauseViolation(
            "TIME-5",
            f"{field.name}={sent} was refused with 403 validation_failed, but the same instant written as {alt} "
            "was accepted: a time in any offset must be accepted",
            refused.refusal,
        )
    if refused.refusal is not None:
        target.on_gap(gap_of(resource, "POST", version, {field.name: sent}, refused.refusal))
    target.discard(resource, version, f"the target refuses {field.name}={sent} in every offset (its own rule)")


@pytest.mark.TIME_5
def test_time_round_trip_any_offset(target, time_field, ctx):
    resource, field = time_field
    cases = st.tuples(st.one_of(instants(), dst_instants(target.zone)), st.sampled_from(OFFSETS))
    for_each_example(target, cases, lambda case: _any_offset(target, resource, field, *case))


def _any_offset(target, resource, field, instant, offset):
    sent, got, stored = _round_trip(target, resource, field, instant, offset)
    value = stored.get(field.name)
    back = parse_time(value)
    expect(back is not None, "TIME-5", f"{field.name} written as {sent} reads back as {value!r}", got)
    expect(
        int(back.timestamp()) == int(instant.timestamp()),
        "TIME-5",
        f"{field.name} written as {sent} reads back as {value}: a different instant",
        got,
    )
    if target.zone is not None:
        expected = back.astimezone(target.zone).utcoffset()
        expect(
            back.utcoffset() == expected,
            "TIME-5",
            f"{field.name} read back as {value}, not in the organization's zone {target.zone.key}",
            got,
        )


@pytest.mark.TIME_3
def test_offsets_follow_one_zone(target, time_field, ctx):
    """Times across DST boundaries must be rendered with the zone's offset at each instant."""
    resource, field = time_field
    picks = st.lists(st.one_of(dst_instants(target.zone), instants()), min_size=2, max_size=4)
    for_each_example(target, picks, lambda instants: _one_zone(target, resource, field, ctx, instants))


def _one_zone(target, resource, field, ctx, picks):
    seen: set[tuple[int, int]] = set()
    exchanges = []
    for instant in picks:
        _sent, got, _stored = _round_trip(target, resource, field, instant, OFFSETS[0])
        exchanges.append(got)
        seen |= observations(got, ctx)
    if target.zone is None:  # with the zone given, the check layer judges each of these responses exactly
        sample = sorted(seen)
        expect(
            candidate_zones(seen),
            "TIME-3",
            "no single IANA zone fits these (instant, offset) pairs: "
            + ", ".join(f"{datetime.fromtimestamp(t, UTC):%Y-%m-%dT%H:%M:%SZ} at {o:+d}s" for t, o in sample),
            exchanges[-1],
        )


@pytest.mark.TIME_3
def test_zone_given_matches(target, resource, ctx):
    """With --org-timezone every rendered time is checked exactly (the run-wide check covers the rest)."""
    if target.zone is None:
        pytest.skip("no --org-timezone given: TIME-3 is judged by the run-wide zone-consistency check")
    exercise("TIME-3", _rich_exchanges(target, resource), ctx, "no time from 1970 to the present in these responses")


@pytest.mark.TIME_3
def test_second_org_zone_matches(target, resource):
    """Each organization's times are in its own zone: a server-wide zone setting fails here."""
    zone = target.settings.second_zone
    if target.second is None or zone is None:
        pytest.skip("needs a second key and --second-org-timezone")
    version = target.version_for(resource)
    obj = target.create(resource, version=version, client=target.second, full=True)
    read = target.get(resource, obj.path, version=version, client=target.second)
    # the check layer judges the second organization's responses in its own zone
    exercise("TIME-3", [obj.created, read], CheckContext(target.model, zone), "no time from 1970 to the present here")


@pytest.mark.TIME_5
def test_malformed_times_are_refused(target, time_field):
    _refused(target, time_field, BAD_TIMES)


@pytest.mark.TIME_5
def test_malformed_dates_are_refused(target, date_field):
    _refused(target, date_field, BAD_DATES)


def _refused(target, pair, bad_values):
    resource, field = pair
    version = target.version_for(resource)
    obj = target.create(resource, version=version, full=True)
    for bad in bad_values:  # TIME-5 asks for the refusal; only ENUM-4 also says "the stored object is unchanged"
        body = {**full_body(resource, version), field.name: bad}
        ex = target.write(resource, obj.path, body, version=version)
        assert_error(ex, "TIME-5", 403, "validation_failed", f"{field.name}={bad!r}")

"""The judgements clause tests share (conformance/suite/_support/asserts.py): each accepts what SPEC.md leaves open and
still flags what it forbids."""

from __future__ import annotations

import json

import pytest

from conformance.http.exchange import Exchange
from conformance.model import load_model
from conformance.spec import facts
from conformance.suite._support.asserts import assert_ok, assert_written, mentions, same_written
from conformance.verdicts.violation import ClauseViolation


@pytest.fixture(scope="module")
def model():
    return load_model(str(facts.reference_openapi_path()))


def _resource(model, name: str):
    return next(r for r in model.resources if r.name == name)


def _answer(status: int, data) -> Exchange:
    body = {"success": 200 <= status < 300, "data": data, "error_code": None, "error_message": None}
    return Exchange("GET", "https://t.test/x", {}, None, status, {}, json.dumps(body).encode())


def test_read_your_writes_takes_omitted_empties_as_written(model):
    campaigns = _resource(model, "campaigns")
    v = model.latest_version
    sent = {"name": "n", "send_on": None, "starts_at": None}
    assert same_written(campaigns, v, sent, {"name": "n"}) == []  # nulls left out (omitempty, NON_NULL)
    assert same_written(campaigns, v, sent, {"name": "n", "send_on": None, "starts_at": None}) == []
    assert same_written(campaigns, v, {**sent, "send_on": "2013-03-27"}, {"name": "n"}) != []  # a value lost
    assert same_written(campaigns, v, sent, {"name": "m"}) != []


@pytest.mark.parametrize(
    ("sent", "got"),
    [
        ({"tracking": {"tags": [], "note": None, "opens": 0, "on": False, "via": ""}}, {"tracking": {}}),
        ({"tracking": {"rules": [{"tag": "a", "extra": None}]}}, {"tracking": {"rules": [{"tag": "a"}]}}),
        ({"tracking": {"inner": {}}, "x": 1}, {"x": 1}),
    ],
)
def test_omitted_empties_are_taken_as_written_at_any_depth(model, sent, got):
    """Jackson's NON_NULL/NON_EMPTY and Go's omitempty leave out nested members too, and Go's zero values."""
    campaigns = _resource(model, "campaigns")
    assert same_written(campaigns, model.latest_version, {"name": sent}, {"name": got}) == []
    for zero in ("", 0, False, {}):
        assert same_written(campaigns, model.latest_version, {"name": zero}, {}) == []


@pytest.mark.parametrize(
    ("sent", "got"),
    [
        ({"tracking": {"tags": ["a"]}}, {"tracking": {}}),  # a value lost, not an empty one left out
        ({"tracking": {"opens": 0}}, {"tracking": {"opens": 1}}),
        ({"tracking": {"on": False}}, {"tracking": {"on": None}}),
    ],
)
def test_a_nested_value_lost_or_changed_is_still_flagged(model, sent, got):
    campaigns = _resource(model, "campaigns")
    assert same_written(campaigns, model.latest_version, {"name": sent}, {"name": got}) != []


@pytest.mark.parametrize(
    ("sent", "got"),
    [
        (7.011249611154541e16, 70112496111545410),  # Node's JSON.stringify, Go's encoding/json: plain digits
        (9007199254740993, 9007199254740992),  # beyond 2^53: a JavaScript server keeps the nearest double
        (1e21, 1000000000000000000000),
        (2, 2.0),
        ({"tiers": [1e16, {"cap": 0.5}]}, {"tiers": [10000000000000000, {"cap": 0.50}]}),  # nested, any depth
    ],
)
def test_a_number_reads_back_as_the_same_json_number(model, sent, got):
    campaigns = _resource(model, "campaigns")
    assert same_written(campaigns, model.latest_version, {"name": sent}, {"name": got}) == []


@pytest.mark.parametrize(
    ("sent", "got"),
    [(1.5, 2), (True, 1), (0, False), (9007199254740993, 9007199254740995), ([1, 2], [2, 1]), (10**400, 10**400 + 1)],
)
def test_a_different_number_or_a_boolean_for_a_number_is_still_flagged(model, sent, got):
    campaigns = _resource(model, "campaigns")
    assert same_written(campaigns, model.latest_version, {"name": sent}, {"name": got}) == [
        f"name: wrote {sent!r}, read {got!r}"
    ]


@pytest.mark.parametrize(
    ("sent", "got"),
    [
        ("Ann.Lee@Example.COM", "Ann.Lee@example.com"),
        ("@@A", "@@a"),  # free text in an address field: the domain after the last '@' lower-cased
        ("a@B@C", "a@b@c"),  # ... or everything after the first
        ("x@STRASSE.DE", "x@strasse.de"),
    ],
)
def test_an_address_may_come_back_with_its_domain_in_other_case(model, sent, got):
    subscribers = _resource(model, "subscribers")
    assert same_written(subscribers, model.latest_version, {"email": sent}, {"email": got}) == []


@pytest.mark.parametrize(
    ("sent", "got"),
    [
        ("Ann.Lee@Example.com", "ann.lee@example.com"),  # local part lower-cased
        ("A@B@C", "a@b@c"),  # the domain begins after the first "@" at the earliest
        ("Ann@Example.com", "Ann@Example.org"),
        ("NoAt", "noat"),
    ],
)
def test_an_address_local_part_must_read_back_exactly(model, sent, got):
    subscribers = _resource(model, "subscribers")
    assert same_written(subscribers, model.latest_version, {"email": sent}, {"email": got}) != []


def test_read_your_writes_compares_times_as_instants_in_any_iso_form(model):
    campaigns = _resource(model, "campaigns")
    v = model.latest_version
    read = {"name": "n", "starts_at": "2013-03-27T10:41:15-05:00"}
    for sent in ("2013-03-27T15:41:15Z", "2013-03-27T15:41:15+00:00", "2013-03-27T16:41:15+01:00"):
        assert same_written(campaigns, v, {"name": "n", "starts_at": sent}, read) == [], sent
    assert same_written(campaigns, v, {"name": "n", "starts_at": "2013-03-27T15:41:16Z"}, read) != []
    # no offset: the instant is the server's reading, not compared
    assert same_written(campaigns, v, {"name": "n", "starts_at": "2013-03-27T10:41:15"}, read) == []


def test_a_read_may_answer_the_object_or_an_array_holding_just_it():
    obj = {"id": "a"}
    assert assert_ok(_answer(200, obj), "IDEM-4", "GET") == obj
    assert assert_ok(_answer(200, [obj]), "IDEM-4", "GET") == obj
    for data in ([obj, obj], [], "a"):
        with pytest.raises(ClauseViolation):
            assert_ok(_answer(200, data), "IDEM-4", "GET")


def test_a_write_may_answer_any_success_data():
    for data in ({"id": "a"}, {}, [], [{"id": "a"}]):
        assert_written(_answer(201, data), "IDEM-1", "POST")
    with pytest.raises(ClauseViolation):
        assert_written(_answer(404, None), "IDEM-1", "POST")


def test_a_listed_item_mentions_its_id_however_shaped():
    token = "cft1a2b3c00011abc"
    for item in ({"id": token}, {"ref": {"id": token}}, {"href": f"/lists/{token}"}, [token]):
        assert mentions(item, token), item
    for item in ({"id": token + "d"}, {"id": "x" + token}, {"n": 1}, None):  # another id, or none
        assert not mentions(item, token), item


@pytest.mark.parametrize(("year", "judged"), [(2020, True), (2030, False), (1960, False)])
def test_time_3_judges_offsets_only_from_1970_to_the_present(model, year, judged):
    """A zone's offsets after today are a projection each tzdata release may change (Paraguay's in 2025a): a time
    in 2030 rendered as another tzdata projects it is not a finding; one in 2020 is."""
    from zoneinfo import ZoneInfo

    from conformance.checks.context import CheckContext
    from conformance.checks.times import observations, org_zone_offset

    chicago = ZoneInfo("America/Chicago")
    value = f"{year}-07-01T12:00:00+00:00"  # Chicago is at -05:00 then (and -06:00 in winter): never +00:00
    ex = _answer(200, {"id": "cft1", "starts_at": value, "name": "n"})
    ex.resource = "campaigns"
    findings = org_zone_offset(ex, CheckContext(model, chicago)) or []
    assert bool(findings) is judged, findings
    assert bool(observations(ex, CheckContext(model, None))) is judged

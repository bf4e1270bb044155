"""The reference server, over real HTTPS sockets: a representative check of the
behaviour SPEC.md requires, the generic serving of another description, and proof
that fault switches change what they claim to while valid variants stay legal."""

from __future__ import annotations

import base64
import gzip
import json
import re
import socket
import ssl
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from conformance.reference.faults import FAULTS, VARIANTS, build_behaviour, select
from conformance.reference.server import ServerHandle, main_serve, start_server
from conformance.spec import catalogue, facts

ALT = Path(__file__).parent / "fixtures" / "alt-openapi.yaml"
ENVELOPE = {"success", "data", "error_code", "error_message"}
TIME = re.compile(facts.TIME_PATTERN)


class Api:
    """A tiny client for one server: requests with the server's CA bundle, key by org index."""

    def __init__(self, handle: ServerHandle) -> None:
        self.handle = handle
        self.session = requests.Session()

    def __call__(
        self,
        method: str,
        path: str,
        *,
        org: int | None = 0,
        version: int | str | None = None,
        via: str = "path",
        headers: dict[str, Any] | None = None,
        **kw: Any,
    ) -> requests.Response:
        headers = dict(headers or {})
        if org is not None:
            headers.setdefault("Authorization", f"Basic {self.handle.keys[org]}")
        prefix = ""
        if version is not None and via == "path":
            prefix = f"/v{version}"
        elif version is not None:
            headers["X-Version"] = str(version)
        verify = self.handle.ca_bundle if self.handle.ca_bundle else False
        return self.session.request(
            method, self.handle.base_url + prefix + path, headers=headers, verify=verify, timeout=10, **kw
        )

    def ok(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        r = self(method, path, **kw)
        assert r.status_code in (200, 201), r.text
        return r.json()["data"]


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def error(r: requests.Response) -> tuple[int, str | None]:
    body = r.json()
    assert set(body) == ENVELOPE and body["success"] is False and body["data"] is None, r.text
    assert isinstance(body["error_message"], str) and body["error_message"]
    return r.status_code, body["error_code"]


@pytest.fixture(scope="module")
def server() -> Iterator[ServerHandle]:
    with start_server() as handle:
        yield handle


@pytest.fixture(scope="module")
def api(server: ServerHandle) -> Api:
    return Api(server)


@pytest.fixture
def launch() -> Iterator[Callable[..., Api]]:
    """Start a server with switches for one test; stopped afterwards."""
    handles: list[ServerHandle] = []

    def start(faults: tuple[str, ...] = (), variants: tuple[str, ...] = (), **kw: Any) -> Api:
        handles.append(start_server(faults=faults, variants=variants, **kw))
        return Api(handles[-1])

    yield start
    for handle in handles:
        handle.stop()


def make_list(api: Api, org: int = 0) -> str:
    list_id = new_id()
    api.ok("PUT", f"/mailing_lists/{list_id}", json={"name": "list"}, org=org)
    return list_id


# -- authentication first ----------------------------------------------------------------------
BAD_CREDENTIALS = {
    "none": None,
    "wrong-key": "Basic " + base64.b64encode(b"1:" + b"0" * 40).decode(),
    "empty": "Basic ",
    "bearer": "Bearer {key}",
    "undecodable": "Basic !!!%%%",
    "non-ascii": b"Basic \xff\xfe",
}


@pytest.mark.parametrize("credential", list(BAD_CREDENTIALS), ids=list(BAD_CREDENTIALS))
def test_every_request_without_a_valid_key_is_401(api: Api, credential: str) -> None:
    value = BAD_CREDENTIALS[credential]
    if isinstance(value, str):
        value = value.format(key=api.handle.keys[0])
    headers = {"Authorization": value} if value is not None else {}
    requests_to_try = [
        ("GET", "/campaigns/x"),
        ("PUT", "/campaigns/x"),
        ("DELETE", "/campaigns/x"),
        ("PATCH", "/campaigns/x"),
        ("GET", "/no/such/path"),
        ("GET", "/v999/campaigns"),
        ("POST", "/campaigns"),
        ("GET", ""),
    ]
    for method, path in requests_to_try:
        r = api(method, path, org=None, headers=headers, data="not json")
        assert error(r) == (401, "not_authorized"), (method, path)


def test_keys_look_like_the_spec_example(server: ServerHandle) -> None:
    assert server.org_timezones == ["America/Chicago", "Asia/Kolkata"]
    for number, key in enumerate(server.keys, start=1):
        assert re.fullmatch(f"{number}:[0-9a-f]{{40}}", base64.b64decode(key).decode())


def test_organizations_are_configurable(launch: Callable[..., Api]) -> None:
    api = launch(orgs=[("UTC", "my-own-key"), "Asia/Tokyo"])
    assert api.handle.keys[0] == "my-own-key" and api.handle.org_timezones == ["UTC", "Asia/Tokyo"]
    created = api.ok("PUT", "/campaigns/c", json={"name": "n"})["created_at"]
    assert created.endswith("+00:00")
    assert api.ok("GET", "/campaigns/c")["created_at"] == created
    assert api.ok("PUT", "/campaigns/c", json={"name": "n"}, org=1)["created_at"].endswith("+09:00")


# -- envelope and format ---------------------------------------------------------------------------
def test_every_response_is_a_compact_envelope(api: Api) -> None:
    list_id = make_list(api)
    responses = [
        api("GET", f"/mailing_lists/{list_id}"),
        api("GET", "/mailing_lists"),
        api("PUT", f"/mailing_lists/{list_id}", json={"name": " "}),
        api("GET", "/nothing/here"),
        api("DELETE", f"/mailing_lists/{list_id}"),
        api("GET", "/ga-elsewhere", org=None),
    ]
    for r in responses:
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        assert set(body) == ENVELOPE
        assert r.content == json.dumps(body, separators=(",", ":")).encode()
        assert body["success"] is (200 <= r.status_code < 300)
        if body["success"]:
            assert isinstance(body["data"], dict | list) and body["error_code"] is None
            assert body["error_message"] is None


def test_outside_the_base_path_is_404_without_credentials(server: ServerHandle) -> None:
    root = server.base_url.rsplit("/ga/api", 1)[0]
    r = requests.get(root + "/elsewhere", verify=server.ca_bundle, timeout=10)
    assert error(r) == (404, "not_found")


# -- versions ---------------------------------------------------------------------------------------
def test_versions_header_path_and_default(api: Api) -> None:
    cid = new_id()
    api.ok("PUT", f"/campaigns/{cid}", version=2, json={"name": "c", "winner_metric": "opens_total"})
    v2_path, v2_header = (
        api("GET", f"/campaigns/{cid}", version=2),
        api("GET", f"/campaigns/{cid}", version=2, via="header"),
    )
    assert v2_path.json() == v2_header.json()
    assert v2_path.json()["data"]["winner_metric"] == "opens_total"
    unversioned, v1 = api("GET", f"/campaigns/{cid}"), api("GET", f"/campaigns/{cid}", version=1)
    assert unversioned.json() == v1.json()
    assert "winner_metric" not in v1.json()["data"]
    # version 1 neither returns nor accepts winner_metric: ignored on write, kept in storage
    api.ok("PUT", f"/campaigns/{cid}", version=1, json={"name": "c", "winner_metric": "clicks_total"})
    assert api.ok("GET", f"/campaigns/{cid}", version=2)["winner_metric"] == "opens_total"


@pytest.mark.parametrize(
    ("version", "via"), [(999, "header"), ("abc", "header"), ("", "header"), (999, "path"), (0, "path")]
)
def test_unknown_versions_are_404(api: Api, version: Any, via: str) -> None:
    assert error(api("GET", "/campaigns", version=version, via=via)) == (404, "not_found")


def test_conflicting_header_and_path_versions_are_refused(api: Api) -> None:
    r = api("GET", "/campaigns", version=2, headers={"X-Version": "1"})
    assert error(r) == (403, "invalid_request")


# -- create, read, update, delete -------------------------------------------------------------------
def test_create_201_update_200_and_timestamps(api: Api) -> None:
    cid = new_id()
    first = api("PUT", f"/campaigns/{cid}", json={"name": "c"})
    assert first.status_code == 201
    again = api("POST", f"/campaigns/{cid}", json={"name": "c"})
    assert again.status_code == 200 and again.json() == first.json()  # identical write: nothing moves
    changed = api.ok("PUT", f"/campaigns/{cid}", json={"name": "d"})
    assert changed["created_at"] == first.json()["data"]["created_at"]
    assert api.ok("GET", f"/campaigns/{cid}") == changed


def test_writes_are_complete_copies(api: Api) -> None:
    list_id, sid = make_list(api), new_id()
    path = f"/mailing_lists/{list_id}/subscribers/{sid}"
    full = api.ok(
        "POST",
        path,
        json={"email": "a@b", "status": "bounced", "subscribed_at": "2020-01-01T00:00:00+00:00", "ignored": 1},
    )
    assert full["status"] == "bounced" and full["subscribed_at_epoch"] == 1577836800 and "ignored" not in full
    short = api.ok("PUT", path, json={"email": "a@b"})
    assert (short["status"], short["subscribed_at"], short["subscribed_at_epoch"]) == ("active", None, None)
    assert short["list_id"] == list_id and short["id"] == sid


def test_concurrent_creates_make_one_object(api: Api) -> None:
    cid = new_id()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: api("PUT", f"/campaigns/{cid}", json={"name": "c"}).status_code, range(16)))
    assert sorted(statuses) == [200] * 15 + [201]


def test_delete_is_idempotent_and_takes_children(api: Api) -> None:
    list_id = make_list(api)
    api.ok("PUT", f"/mailing_lists/{list_id}/custom_fields/f", json={"name": "f", "field_type": "text"})
    assert api.ok("DELETE", f"/mailing_lists/{list_id}") == {"id": list_id, "deleted": True}
    assert api.ok("DELETE", f"/mailing_lists/{list_id}") == {"id": list_id, "deleted": True}
    assert api.ok("DELETE", f"/mailing_lists/{new_id()}")["deleted"] is True
    assert error(api("GET", f"/mailing_lists/{list_id}")) == (404, "not_found")
    assert error(api("GET", f"/mailing_lists/{list_id}/custom_fields/f")) == (404, "not_found")
    api.ok("PUT", f"/mailing_lists/{list_id}", json={"name": "again"})
    assert api.ok("GET", f"/mailing_lists/{list_id}/custom_fields") == []


def test_children_need_their_parent(api: Api) -> None:
    missing = new_id()
    assert error(api("PUT", f"/mailing_lists/{missing}/subscribers/s", json={"email": "a@b"})) == (404, "not_found")
    assert error(api("GET", f"/mailing_lists/{missing}/subscribers")) == (404, "not_found")


def test_organizations_are_isolated(api: Api) -> None:
    cid = new_id()
    mine = api.ok("PUT", f"/campaigns/{cid}", json={"name": "first org"})
    assert error(api("GET", f"/campaigns/{cid}", org=1)) == (404, "not_found")
    assert api("PUT", f"/campaigns/{cid}", json={"name": "second org"}, org=1).status_code == 201
    api.ok("DELETE", f"/campaigns/{cid}", org=1)
    assert api.ok("GET", f"/campaigns/{cid}") == mine


# -- validation -----------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', b"", b"\xff\xfe", b'{"a": NaN}'])
def test_bodies_that_are_not_json_objects_are_invalid_requests(api: Api, body: bytes) -> None:
    r = api("PUT", f"/campaigns/{new_id()}", data=body, headers={"Content-Type": "application/json"})
    assert error(r) == (403, "invalid_request")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", None),
        ("name", "   "),
        ("name", 5),
        ("starts_at", "2013-02-30T10:00:00+00:00"),
        ("starts_at", "yesterday"),
        ("starts_at", "2013-03-27 10:41"),
        ("starts_at", "2013-03-27T10:41:15Z"),
        ("starts_at", "2013-03-27T10:41:15.5+00:00"),
        ("starts_at", "2013-03-27T25:41:15+00:00"),
        ("starts_at", "1850-01-01T00:00:00+00:00"),
        ("starts_at", "9999-12-31T23:00:00-05:00"),
        ("starts_at", "0001-01-01T00:30:00+01:00"),
        ("send_on", "2013-02-30"),
        ("send_on", "2013/03/27"),
        ("send_on", 20130327),
    ],
)
def test_invalid_fields_are_403_and_change_nothing(api: Api, field: str, value: Any) -> None:
    cid = new_id()
    before = api.ok("PUT", f"/campaigns/{cid}", json={"name": "c"})
    assert error(api("PUT", f"/campaigns/{cid}", json={"name": "c", field: value})) == (403, "validation_failed")
    assert api.ok("GET", f"/campaigns/{cid}") == before


def test_enumerations_are_enforced(api: Api) -> None:
    list_id = make_list(api)
    path = f"/mailing_lists/{list_id}/subscribers/s"
    before = api.ok("PUT", path, json={"email": "a@b", "status": "scomp"})
    assert error(api("PUT", path, json={"email": "a@b", "status": "gone"})) == (403, "validation_failed")
    assert api.ok("GET", path) == before
    assert error(api("PUT", f"/campaigns/{new_id()}", version=2, json={"name": "c", "winner_metric": "best"})) == (
        403,
        "validation_failed",
    )
    field_path = f"/mailing_lists/{list_id}/custom_fields/f"
    assert (
        error(api("PUT", field_path, json={"name": "f", "field_type": "select_single_radio"}))[1] == "validation_failed"
    )
    assert api.ok("PUT", field_path, json={"name": "f", "field_type": "select_single_radio", "options": ["a"]})


# -- times -----------------------------------------------------------------------------------------
def test_times_are_in_the_org_zone_across_dst(api: Api) -> None:
    list_id = make_list(api)
    cases = [
        ("2024-01-15T12:00:00+00:00", "2024-01-15T06:00:00-06:00", 0),
        ("2024-07-15T12:00:00+00:00", "2024-07-15T07:00:00-05:00", 0),
        ("2024-07-15T07:00:00-05:00", "2024-07-15T07:00:00-05:00", 0),
        ("2024-03-10T08:30:00+00:00", "2024-03-10T03:30:00-05:00", 0),  # just after the spring change
        ("2024-07-15T12:00:00+00:00", "2024-07-15T17:30:00+05:30", 1),
    ]
    for sent, shown, org in cases:
        org_list = list_id if org == 0 else make_list(api, org=1)
        data = api.ok(
            "PUT",
            f"/mailing_lists/{org_list}/subscribers/{new_id()}",
            org=org,
            json={"email": "a@b", "subscribed_at": sent},
        )
        assert data["subscribed_at"] == shown
        assert data["subscribed_at_epoch"] == int(__import__("datetime").datetime.fromisoformat(sent).timestamp())
        for name in ("created_at", "updated_at"):
            assert TIME.fullmatch(data[name]) and isinstance(data[name + "_epoch"], int)
        assert data["created_at"].endswith(("-06:00", "-05:00") if org == 0 else ("+05:30",))


# -- collections ---------------------------------------------------------------------------------------
def test_collections_and_their_limit(api: Api) -> None:
    list_id = make_list(api)
    for n in range(3):
        api.ok("PUT", f"/mailing_lists/{list_id}/subscribers/s{n}", json={"email": f"{n}@x"})
    collection = f"/mailing_lists/{list_id}/subscribers"
    assert [s["id"] for s in api.ok("GET", collection)] == ["s0", "s1", "s2"]
    assert len(api.ok("GET", collection, params={"limit": 2})) == 2
    assert len(api.ok("GET", collection, params={"limit": 100})) == 3
    assert error(api("GET", collection, params={"limit": 101})) == (403, "requested_too_many")
    for bad in ("0", "-1", "abc", "1.5", ""):
        assert error(api("GET", collection, params={"limit": bad})) == (403, "validation_failed")


# -- paths and methods ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nothing"),
        ("GET", "/campaigns/"),
        ("GET", "/campaigns/bad.id"),
        ("GET", "/campaigns/" + "x" * 65),
        ("PATCH", "/campaigns/x"),
        ("POST", "/campaigns"),
        ("PUT", "/campaigns"),
        ("DELETE", "/campaigns"),
        ("OPTIONS", "/campaigns/x"),
        ("GET", "/v2"),
    ],
)
def test_unknown_paths_and_methods_are_404_never_405(api: Api, method: str, path: str) -> None:
    assert error(api(method, path, json={})) == (404, "not_found")


def test_malformed_http_still_gets_an_envelope(server: ServerHandle) -> None:
    host, port = server.base_url.split("//")[1].split("/")[0].split(":")
    context = ssl.create_default_context(cafile=server.ca_bundle)
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        reply = b""
        while chunk := tls.recv(4096):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403") and b"content-type: application/json" in head.lower()
    assert json.loads(body)["error_code"] == "invalid_request"


# -- another description, served by the same code -------------------------------------------------------
def test_serves_another_description(launch: Callable[..., Api]) -> None:
    api = launch(description=str(ALT))
    assert api.ok("PUT", "/lists/L", json={"title": "t"})["inserted_at_epoch"] > 0
    contact = api.ok("POST", "/lists/L/contacts/c", json={"address": "a@b", "joined_at": "2024-07-01T00:00:00+00:00"})
    assert contact["state"] == "active" and contact["joined_at"] == "2024-06-30T19:00:00-05:00"
    assert contact["birthday_on"] is None and contact["list_id"] == "L"
    assert error(api("PUT", "/lists/L/contacts/c", json={"address": "a@b", "state": "gone"}))[1] == "validation_failed"
    body = {"title": "t", "metric": "ctr", "begins_at": "2024-01-01T00:00:00+00:00"}
    v1 = api.ok("PUT", "/ab_tests/t1", json=body)  # version 1: metric and begins_at do not exist
    assert v1["test_id"] == "t1" and "metric" not in v1 and "begins_at" not in v1
    assert error(api("PUT", "/ab_tests/t1", version=2, json=body))[1] == "validation_failed"
    v3 = api.ok("PUT", "/ab_tests/t1", version=3, json={**body, "metric": "opens_total"})
    assert v3["begins_at_epoch"] == 1704067200 and v3["metric"] == "opens_total"
    assert error(api("GET", "/lists", params={"limit": 51})) == (403, "requested_too_many")
    assert len(api.ok("GET", "/ab_tests", params={"limit": 200})) == 1
    assert error(api("GET", "/lists", version=4)) == (404, "not_found")
    assert error(api("GET", "/health")) == (404, "not_found")  # not a resource: the server cannot serve it


# -- fault switches and variants ---------------------------------------------------------------------
def test_switch_catalogue_covers_every_clause() -> None:
    clauses = {c.id for c in catalogue.load()}
    assert {f.clause for f in FAULTS.values()} == clauses
    assert len(FAULTS) >= 45
    for name, switch in {**FAULTS, **VARIANTS}.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) and switch.description
    assert not set(FAULTS) & set(VARIANTS)
    with pytest.raises(ValueError, match="valid faults: .*env-extra-key"):
        select(faults=["no-such-fault"])
    with pytest.raises(ValueError, match="valid variants: .*gzip"):
        select(variants=["env-extra-key"])


def test_no_switch_breaks_an_ordinary_write_and_read(server: ServerHandle) -> None:
    """Every non-TLS switch, swapped into one running server: ordinary traffic never 500s."""
    api, original = Api(server), server.app.behaviour
    try:
        for switch in [*FAULTS.values(), *VARIANTS.values()]:
            # auth-reject-valid refuses every valid key; flaky-first-delete-500 fails one DELETE by design
            if switch.tls or switch.name in ("auth-reject-valid", "flaky-first-delete-500"):
                continue
            server.app.behaviour = build_behaviour([switch])
            list_id = new_id()
            for method, path, body in [
                ("POST", f"/mailing_lists/{list_id}", {"name": f"n {list_id}"}),  # unique: names-unique-per-org
                ("PUT", f"/mailing_lists/{list_id}", {"name": f"n {list_id}"}),
                ("POST", f"/mailing_lists/{list_id}/subscribers/s", {"email": "a@b"}),
                ("GET", f"/mailing_lists/{list_id}/subscribers/s", None),
                ("GET", f"/mailing_lists/{list_id}/subscribers", None),
                ("DELETE", f"/mailing_lists/{list_id}", None),
            ]:
                r = api(method, path, json=body)
                assert r.status_code in (200, 201), (switch.name, method, path, r.status_code, r.text)
    finally:
        server.app.behaviour = original


def _subscriber(api: Api, **fields: Any) -> tuple[str, requests.Response]:
    list_id = make_list(api)
    path = f"/mailing_lists/{list_id}/subscribers/{new_id()}"
    return path, api("PUT", path, json={"email": "a@b", **fields})


Written = tuple[str, requests.Response]  # the object's path and the write's response
TEXT = "Café ☕ 𝄞"  # non-ASCII: Latin-1, the BMP and beyond it
ITEMS = [1, None, {"a": "b"}, ["c"], True, "d"]  # array items of every JSON type


def _campaign(api: Api, method: str = "PUT", version: int | None = None, **fields: Any) -> Written:
    path = f"/campaigns/{new_id()}"
    return path, api(method, path, version=version, json={"name": "n", **fields})


def _custom_field(api: Api, **fields: Any) -> Written:
    path = f"/mailing_lists/{make_list(api)}/custom_fields/{new_id()}"
    return path, api("PUT", path, json={"name": "f", "field_type": "select_single_radio", **fields})


def _answer(write: Callable[[Api], Written]) -> Callable[[Api], tuple[int, str | None]]:
    """A probe: the write's status and error code, e.g. (201, None) or (500, "internal_error")."""

    def probe(api: Api) -> tuple[int, str | None]:
        r = write(api)[1]
        return r.status_code, r.json()["error_code"]

    return probe


def _stored(write: Callable[[Api], Written], name: str) -> Callable[[Api], Any]:
    """A probe: field ``name`` as GET reads it back after the write, or GET's status if nothing is there."""

    def probe(api: Api) -> Any:
        path, _ = write(api)
        r = api("GET", path)
        return r.json()["data"][name] if r.ok else r.status_code

    return probe


def _check_merge(api: Api) -> bool:
    path, _ = _subscriber(api, status="bounced")
    return api.ok("PUT", path, json={"email": "a@b"})["status"] == "active"


def _check_enum_unknown(api: Api) -> bool:
    return _subscriber(api, status="gone")[1].status_code == 403


def _check_partial_write(api: Api) -> bool:
    path, _ = _subscriber(api)
    api("PUT", path, json={"email": "a@b", "status": "gone"})
    return api.ok("GET", path)["status"] == "active"


def _check_updated_at_still(api: Api) -> bool:
    path, first = _subscriber(api)
    return api.ok("PUT", path, json={"email": "a@b"})["updated_at"] == first.json()["data"]["updated_at"]


def _check_get_pure(api: Api) -> bool:
    path, _ = _subscriber(api)
    return api.ok("GET", path) == api.ok("GET", path)


def _check_readback(api: Api) -> bool:
    path, _ = _subscriber(api)
    api.ok("GET", path)
    return api.ok("PUT", path, json={"email": "b@c"}) == api.ok("GET", path)


def _check_offset(api: Api) -> bool:
    return (
        _subscriber(api, subscribed_at="2024-01-01T00:00:00+00:00")[1].json()["data"]["subscribed_at_epoch"]
        == 1704067200
    )


def _check_created_at_time(api: Api) -> bool:
    return TIME.fullmatch(_subscriber(api)[1].json()["data"]["created_at"]) is not None


def _check_epoch_int(api: Api) -> bool:
    return type(_subscriber(api)[1].json()["data"].get("created_at_epoch")) is int


def _check_zone(api: Api) -> bool:
    return (
        _subscriber(api, subscribed_at="2024-07-15T12:00:00+00:00")[1].json()["data"]["subscribed_at"]
        == "2024-07-15T07:00:00-05:00"
    )


FAULT_CHECKS: dict[str, Callable[[Api], bool]] = {
    # each check is True on the clean server and False with the fault
    "env-extra-key": lambda api: set(api("GET", "/campaigns").json()) == ENVELOPE,
    "json-pretty": lambda api: b"\n" not in api("GET", "/campaigns").content,
    "json-content-type-text": lambda api: api("GET", "/campaigns").headers["content-type"] == "application/json",
    "json-500-on-bad-body": lambda api: api("PUT", "/campaigns/x", data=b"{").status_code == 403,
    "status-405-wrong-method": lambda api: api("PATCH", "/campaigns/x").status_code == 404,
    "status-422-validation": lambda api: api("PUT", "/campaigns/x", json={}).status_code == 403,
    "status-ignore-limit-max": lambda api: api("GET", "/campaigns", params={"limit": 101}).status_code == 403,
    "status-update-201": lambda api: (
        [api("PUT", "/campaigns/u", json={"name": "n"}).status_code for _ in range(2)][1] == 200
    ),
    "auth-skip-on-reads": lambda api: api("GET", "/campaigns", org=None).status_code == 401,
    "auth-403-wrong-key": lambda api: (
        api("GET", "/campaigns", org=None, headers={"Authorization": "Basic nope"}).status_code == 401
    ),
    "auth-reject-valid": lambda api: api("GET", "/campaigns").status_code == 200,
    "auth-cross-org-read": lambda api: (
        api("PUT", "/campaigns/o", json={"name": "n"}).ok and api("GET", "/campaigns/o", org=1).status_code == 404
    ),
    "ver-header-ignored": lambda api: (
        "winner_metric" in api.ok("PUT", "/campaigns/v", version=2, via="header", json={"name": "n"})
    ),
    "ver-latest-default": lambda api: "winner_metric" not in api.ok("PUT", "/campaigns/v", json={"name": "n"}),
    "ver-unknown-fallback": lambda api: api("GET", "/campaigns", version=999, via="header").status_code == 404,
    "idem-post-conflict": lambda api: (
        [api("POST", f"/campaigns/{cid}", json={"name": "n"}).status_code for cid in [new_id()] * 2] == [201, 200]
    ),
    "idem-put-update-only": lambda api: api("PUT", f"/campaigns/{new_id()}", json={"name": "n"}).status_code == 201,
    "idem-merge": _check_merge,
    "idem-stale-read": _check_readback,
    "idem-get-side-effect": _check_get_pure,
    "idem-delete-twice-404": lambda api: api("DELETE", f"/campaigns/{new_id()}").status_code == 200,
    "idem-touch-updated-at": _check_updated_at_still,
    "time-z-suffix": _check_created_at_time,
    "time-no-colon": _check_created_at_time,
    "time-epoch-string": _check_epoch_int,
    "time-missing-epoch": _check_epoch_int,
    "time-dst-ignored": _check_zone,
    "time-utc-not-org-zone": _check_zone,
    "time-offset-dropped": _check_offset,
    "enum-accept-unknown": _check_enum_unknown,
    "enum-partial-write": _check_partial_write,
    "enum-extra-status": lambda api: _subscriber(api)[1].json()["data"]["status"] == "active",
    "fuzz-500-non-ascii": lambda api: _campaign(api, name=TEXT)[1].status_code == 201,
    "fuzz-mangles-non-ascii": lambda api: _stored(lambda a: _campaign(a, name=TEXT), "name")(api) == TEXT,
    "fuzz-500-unknown-nested": lambda api: _campaign(api, extra={"a": 1})[1].status_code == 201,
    "status-array-items-unchecked": lambda api: _custom_field(api, options=[1])[1].status_code == 403,
    "fuzz-500-null-optional": lambda api: _campaign(api, starts_at=None)[1].status_code == 201,
}


@pytest.mark.parametrize("fault", list(FAULT_CHECKS))
def test_fault_changes_what_it_claims(launch: Callable[..., Api], api: Api, fault: str) -> None:
    check = FAULT_CHECKS[fault]
    assert check(api), "the clean server must pass the check"
    assert not check(launch(faults=(fault,))), f"{fault} must make the check fail"


CREATED, CRASHED, REFUSED = (201, None), (500, "internal_error"), (403, "validation_failed")

FUZZ_PROBES: dict[str, list[tuple[str, Callable[[Api], Any], Any, Any]]] = {
    # fault: [(what, probe, answer of the clean server, answer with the fault)]; where the two
    # answers are equal, the probe shows what the fault leaves alone
    "fuzz-500-non-ascii": [
        ("non-ASCII field", _answer(lambda api: _campaign(api, name=TEXT)), CREATED, CRASHED),
        ("by POST", _answer(lambda api: _campaign(api, "POST", name="ü")), CREATED, CRASHED),
        ("in an array item", _answer(lambda api: _custom_field(api, options=["a", "ü"])), CREATED, CRASHED),
        ("nothing stored", _stored(lambda api: _campaign(api, name=TEXT), "name"), TEXT, 404),
        ("ASCII only", _answer(lambda api: _campaign(api, name="plain ~ ascii")), CREATED, CREATED),
        ("in an unknown member", _answer(lambda api: _campaign(api, note=TEXT)), CREATED, CREATED),
        ("in an invalid write", _answer(lambda api: _subscriber(api, status="actîve")), REFUSED, REFUSED),
    ],
    "fuzz-mangles-non-ascii": [
        ("read back", _stored(lambda api: _campaign(api, name=TEXT), "name"), TEXT, TEXT.encode().decode("latin-1")),
        ("array item", _stored(lambda api: _custom_field(api, options=["ü"]), "options"), ["ü"], ["Ã¼"]),
        ("write answer", lambda api: _campaign(api, name="é")[1].json()["data"]["name"], "é", "Ã©"),
        ("ASCII only", _stored(lambda api: _campaign(api, name="plain ~ ascii"), "name"), *["plain ~ ascii"] * 2),
        ("lone surrogate", _answer(lambda api: _campaign(api, name="\ud800")), CREATED, CREATED),
    ],
    "fuzz-500-unknown-nested": [
        ("object member", _answer(lambda api: _campaign(api, extra={"a": 1})), CREATED, CRASHED),
        ("array member", _answer(lambda api: _campaign(api, extra=[])), CREATED, CRASHED),
        ("nothing stored", _stored(lambda api: _campaign(api, extra=[1]), "name"), "n", 404),
        ("scalar members", _answer(lambda api: _campaign(api, a=1, b="x", c=None, d=True, e=1.5)), CREATED, CREATED),
        ("read-only members", _answer(lambda api: _campaign(api, id={"a": 1}, created_at=[1])), CREATED, CREATED),
        ("object in a field", _answer(lambda api: _campaign(api, name={"a": 1})), REFUSED, REFUSED),
    ],
    "status-array-items-unchecked": [
        ("items of any type", _answer(lambda api: _custom_field(api, options=ITEMS)), REFUSED, CREATED),
        ("stored as sent", _stored(lambda api: _custom_field(api, options=ITEMS), "options"), 404, ITEMS),
        ("string items", _stored(lambda api: _custom_field(api, options=["a"]), "options"), ["a"], ["a"]),
        ("not an array", _answer(lambda api: _custom_field(api, options="a")), REFUSED, REFUSED),
        ("too few items", _answer(lambda api: _custom_field(api, options=[])), REFUSED, REFUSED),
        ("items not allowed", _answer(lambda api: _custom_field(api, field_type="text", options=[1])), *[REFUSED] * 2),
        ("another field wrong", _answer(lambda api: _custom_field(api, name=5, options=[1])), REFUSED, REFUSED),
    ],
    "fuzz-500-null-optional": [
        ("null time", _answer(lambda api: _campaign(api, starts_at=None)), CREATED, CRASHED),
        ("null date", _answer(lambda api: _campaign(api, send_on=None)), CREATED, CRASHED),
        ("null in a child", _answer(lambda api: _subscriber(api, subscribed_at=None)), CREATED, CRASHED),
        ("null enum", _answer(lambda api: _campaign(api, version=2, winner_metric=None)), CREATED, CRASHED),
        ("omitted", _stored(lambda api: _campaign(api), "starts_at"), None, None),
        ("a value", _answer(lambda api: _campaign(api, starts_at="2024-01-01T00:00:00+00:00")), CREATED, CREATED),
        ("not in this version", _answer(lambda api: _campaign(api, winner_metric=None)), CREATED, CREATED),
        ("null, not nullable", _answer(lambda api: _campaign(api, name=None)), REFUSED, REFUSED),
    ],
}


@pytest.mark.parametrize("fault", list(FUZZ_PROBES))
def test_fuzz_fault_changes_only_what_it_claims(launch: Callable[..., Api], api: Api, fault: str) -> None:
    faulty = launch(faults=(fault,))
    for what, probe, clean, broken in FUZZ_PROBES[fault]:
        assert probe(api) == clean, f"clean server: {what}"
        assert probe(faulty) == broken, f"{fault}: {what}"


@pytest.mark.parametrize("fault", ["tls-untrusted-cert", "tls-wrong-hostname", "tls-expired-cert"])
def test_tls_faults_fail_verification(launch: Callable[..., Api], fault: str) -> None:
    api = launch(faults=(fault,))
    with pytest.raises(requests.exceptions.SSLError):
        api("GET", "/campaigns")


def test_plain_http_fault(launch: Callable[..., Api]) -> None:
    api = launch(faults=("tls-plain-http",))
    assert api.handle.base_url.startswith("http://") and api.handle.ca_bundle is None
    assert api("GET", "/campaigns").status_code == 200


def test_valid_variants(launch: Callable[..., Api]) -> None:
    api = launch(
        variants=(
            "created-200",
            "unknown-fields-reject",
            "delete-unknown-404",
            "charset",
            "gzip",
            "version-error-403",
            "method-403",
            "zone-kolkata",
        )
    )
    r = api("PUT", "/campaigns/c", json={"name": "n"})
    assert r.status_code == 200 and r.json()["data"]["created_at"].endswith("+05:30")
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["content-encoding"] == "gzip" and r.raw is not None
    raw = api("GET", "/campaigns", headers={"Accept-Encoding": "gzip"}, stream=True).raw.read()
    assert json.loads(gzip.decompress(raw))["success"] is True
    assert error(api("PUT", "/campaigns/c", json={"name": "n", "colour": "red"})) == (403, "validation_failed")
    assert error(api("DELETE", f"/campaigns/{new_id()}")) == (404, "not_found")
    assert api.ok("DELETE", "/campaigns/c") and api.ok("DELETE", "/campaigns/c")  # deleted before: still success
    assert error(api("GET", "/campaigns", version=7, via="header")) == (403, "invalid_request")
    assert error(api("PATCH", "/campaigns/c")) == (403, "invalid_request")


def test_cli_lists_switches_and_refuses_unknown_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main_serve(["--list"]) == 0
    listing = capsys.readouterr().out
    assert "env-extra-key" in listing and "ENV-1" in listing and "created-200" in listing
    assert main_serve(["--port", "0", "--fault", "no-such-fault"]) == 2
    assert "valid faults" in capsys.readouterr().err

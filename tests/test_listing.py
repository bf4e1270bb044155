"""Finding the suite's objects in collections that hold other data (conformance.listing), and notes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from conformance.http.client import Client, Credential
from conformance.model import load_model
from conformance.spec.facts import reference_openapi_path
from conformance.suite._support.listing import look_for
from conformance.verdicts.notes import NOTE, notes_of, record_note


class _Target:
    """Just what look_for needs of a Target."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get(self, resource, path, *, version=None, client=None, **kw):
        return (client or self.client).request("GET", path, version=version, **kw)


@pytest.fixture(scope="module")
def subscribers():
    return next(r for r in load_model(str(reference_openapi_path())).resources if r.name == "subscribers")


def _clients(handle) -> tuple[Client, Client]:
    first = Client(handle.base_url, Credential(handle.keys[0], "K1"), verify=handle.ca_bundle)
    return first, first.with_credential(Credential(handle.keys[1], "K2"))


def _subscriber(client: Client, list_id: str, sub_id: str, method: str = "POST") -> str:
    assert client.request("POST", f"/mailing_lists/{list_id}", json={"name": "n"}).status in (200, 201)
    path = f"/mailing_lists/{list_id}/subscribers/{sub_id}"
    assert client.request(method, path, json={"email": "a@example.com"}).status in (200, 201)
    return path


def test_a_short_listing_is_conclusive(reference_server, subscribers):
    client, other = _clients(reference_server())
    path = _subscriber(client, "L1", "S1")
    seen = look_for(_Target(client), subscribers, path)
    assert (seen.count, seen.pages, seen.conclusive, seen.reason) == (1, 1, True, "")
    assert "limit=100" in seen.exchange.url
    # Another organization's view: the parent does not exist for it (404): conclusively not listed.
    hidden = look_for(_Target(client), subscribers, path, client=other)
    assert (hidden.count, hidden.conclusive) == (0, True)


def test_a_duplicate_shows_on_any_page(reference_server, subscribers):
    client, _ = _clients(reference_server(faults=("idem-post-duplicates",)))
    path = _subscriber(client, "L1", "S1")
    client.request("POST", path, json={"email": "a@example.com"})
    seen = look_for(_Target(client), subscribers, path)
    assert seen.shows_at_least(2) and seen.count == 2


@pytest.mark.parametrize(("variant", "listed"), [("crowded-oldest-first", 0), ("crowded-newest-first", 1)])
def test_a_full_page_is_inconclusive(reference_server, subscribers, variant, listed):
    client, _ = _clients(reference_server(variants=(variant,)))
    path = _subscriber(client, "L1", "S1")
    seen = look_for(_Target(client), subscribers, path)
    assert (seen.count, seen.conclusive) == (listed, False)
    assert "full page of 100" in seen.reason and "ambiguity 21" in seen.reason
    assert not seen.shows_at_least(2)


def test_a_collection_that_fails_is_inconclusive(reference_server, subscribers):
    client, _ = _clients(reference_server(faults=("auth-reject-valid",)))
    seen = look_for(_Target(client), subscribers, "/mailing_lists/L1/subscribers/S1")
    assert (seen.count, seen.conclusive) == (0, False) and "HTTP 401" in seen.reason


def test_notes_are_kept_once_and_read_back():
    node = SimpleNamespace(user_properties=[("other", 1)])
    request = SimpleNamespace(node=node)
    for _ in range(3):  # a property test notes the same thing for every example
        record_note(request, "IDEM-1", "inconclusive", "a full page")
    record_note(node, "AUTH-4", "inconclusive", "x" * 900)
    notes = notes_of(SimpleNamespace(user_properties=node.user_properties))
    assert [n["clause"] for n in notes] == ["IDEM-1", "AUTH-4"]
    assert notes[0] == {"clause": "IDEM-1", "kind": "inconclusive", "message": "a full page"}
    assert len(notes[1]["message"]) == 500
    assert sum(1 for name, _ in node.user_properties if name == NOTE) == 2

"""A finished test's own objects deleted in the background against a far target (``suite/_support/reaper.py``),
against a real reference server: what a test made goes as it ends, what the run's tests share (parents built
once, a fixture's objects) stays to the end, and nothing is lost when a delete fails."""

from __future__ import annotations

import time

from conformance.http.client import Client, CreatedObject, Credential, Ledger
from conformance.model import load_model
from conformance.run.config import Settings
from conformance.suite._support.reaper import Reaper
from conformance.suite._support.target import Ids, Target, new_run_prefix


def _target(handle, rtt_ms: float) -> Target:
    model = load_model(handle.description)
    key = Credential(handle.keys[0], "CONFORMANCE_API_KEY")
    client = Client(handle.base_url, key, verify=handle.ca_bundle, max_connections=4)
    prefix = new_run_prefix()
    return Target(Settings(), model, client, None, Ledger(prefix), Ids(prefix), rtt_ms=rtt_ms)


def _child(target: Target):
    return next(r for r in target.model.resources if r.parent is not None)


def _there(target: Target, resource, path: str) -> bool:
    return target.get(resource, path, version=target.version_for(resource)).status != 404


def _gone_soon(target: Target, resource, path: str, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not _there(target, resource, path):
            return True
        time.sleep(0.05)
    return False


def test_a_far_targets_finished_test_objects_go_while_shared_ones_stay(reference_server):
    handle = reference_server()
    target = _target(handle, rtt_ms=40.0)  # far: 4 connections, so requests go out together
    child = _child(target)
    fixture_made = target.create(child)  # a module fixture's, made before the test's call

    mark = target.test_begins()
    shared = target.shared_parents(child)  # built by this test for the run's tests (memo): kept
    own = target.create(child, parent_ids=shared)
    own_with_parents = target.create(child)  # and its own parent chain
    target.test_ended(mark)

    assert _gone_soon(target, child, own.path) and _gone_soon(target, child, own_with_parents.path)
    parent = child.parent
    assert parent is not None and len(child.chain()) == 2

    def parent_of(obj) -> str:
        return parent.path_for({parent.id_param: list(obj.ids.values())[0]})

    assert _there(target, child, fixture_made.path) and _there(target, parent, parent_of(fixture_made))
    assert _gone_soon(target, parent, parent_of(own_with_parents))
    assert _there(target, parent, parent_of(own))  # the shared parent

    report = target.cleanup()
    assert report["during_run"] == 3  # own, own_with_parents and its parent
    assert report["attempted"] == report["deleted"] == 6 and report["leftover"] == []
    assert not _there(target, child, fixture_made.path)


def test_a_near_target_keeps_everything_for_the_end(reference_server):
    handle = reference_server()
    target = _target(handle, rtt_ms=1.0)
    child = _child(target)
    mark = target.test_begins()
    own = target.create(child)
    target.test_ended(mark)
    time.sleep(0.3)
    assert _there(target, child, own.path)
    report = target.cleanup()
    assert report["during_run"] == 0 and report["attempted"] == report["deleted"] == 2


def test_the_ledger_gives_a_test_its_own_objects_children_first():
    key = Credential("k", "CONFORMANCE_API_KEY")
    ledger = Ledger("cft")
    ledger.claim(CreatedObject("/a", 1, key, 1))  # before the test
    mark = ledger.mark()
    ledger.claim(CreatedObject("/b", 1, key, 1))
    ledger.claim(CreatedObject("/b/x/1", 1, key, 2))
    ledger.claim(CreatedObject("/c", 1, key, 1))
    with ledger.keeping():
        ledger.claim(CreatedObject("/d", 1, key, 1))  # built for the run's tests
        ledger.claim(CreatedObject("/c/x/2", 1, key, 2))  # a kept child: its parent /c stays too
    assert [o.path for o in ledger.since(mark)] == ["/b/x/1", "/b"]
    ledger.discard(key, "/b/x/1")
    assert [o.path for o in ledger.since(mark)] == ["/b"]


def test_a_failed_background_delete_is_left_to_the_end_of_run_cleanup():
    key = Credential("k", "CONFORMANCE_API_KEY")
    tried: list[str] = []

    def remove(obj: CreatedObject) -> str | None:
        tried.append(obj.path)
        if obj.path == "/boom":
            raise RuntimeError("a bug, or anything else")
        return "DELETE answered HTTP 500" if obj.path == "/refused" else None

    reaper = Reaper(remove)
    reaper.hand([CreatedObject(p, 1, key, 1) for p in ("/refused", "/boom", "/ok")])
    deadline = time.monotonic() + 5
    while len(tried) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reaper.stop(timeout=5) == 1 and tried == ["/refused", "/boom", "/ok"]
    reaper.hand([CreatedObject("/late", 1, key, 1)])  # after the stop: left to the end-of-run cleanup
    assert tried == ["/refused", "/boom", "/ok"]

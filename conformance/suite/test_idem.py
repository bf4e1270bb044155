"""IDEM-1..7: idempotent create-or-update by client-chosen id, complete copies,
read-your-writes, side-effect-free reads, and delete.

Bodies come from the target's write schemas (hypothesis); a failing example is
shrunk and reported with the seed that reproduces it.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import strategies as st

from conformance.checks.success import is_success
from conformance.model.invalid import boundary_bodies
from conformance.model.strategies import full_body, sparse_body, valid_bodies
from conformance.suite._support.asserts import (
    assert_error,
    assert_ok,
    diff_states,
    same_written,
    writable_state,
)
from conformance.suite._support.examples import for_each_example
from conformance.suite._support.listing import INCONCLUSIVE, look_for
from conformance.suite._support.target import NoAcceptedBody
from conformance.verdicts.notes import record_note
from conformance.verdicts.violation import expect


def _fresh(target, resource, version):
    path, _ = target.fresh_path(resource, version, target.shared_parents(resource, version))
    return path


def _read_and_free(target, resource, path, version, clause, what):
    """The object at ``path`` as read now, then freed (:meth:`Target.free`) for a twin with the same body."""
    got = target.get(resource, path, version=version)
    stored = assert_ok(got, clause, what)
    target.free(resource, path, version)
    return got, stored


def _stamp(resource, role: str) -> str | None:
    """The name of the resource's creation or update time (model roles, not literal names)."""
    f = resource.with_role(role)
    return f.name if f else None


def _without_clocks(kinds, data):
    """An object (or the items of an array) without its time fields and their epochs, by the spec's definition
    of a time field (``kinds``: the check layer's, for the resource).

    The stamps are IDEM-3's (created) and IDEM-7's (updated) to judge, and only the model knows which is
    which: a moving stamp the description does not name (``last_updated_at``) is not IDEM-1's business."""
    if isinstance(data, list):
        return [_without_clocks(kinds, item) for item in data]
    if not isinstance(data, dict):
        return data
    clocks = {k for k in data if kinds.is_time(k)}
    return {k: v for k, v in data.items() if k not in clocks and k.removesuffix("_epoch") not in clocks}


@pytest.mark.IDEM_1
def test_repeated_post_changes_nothing(target, resource, request):
    """The repeated POST is an update that changes nothing the client wrote. Server fields (a revision, an
    etag, the stamps) may move on an identical write: IDEM-7's (a SHOULD) to judge, not IDEM-1's; and the
    two answers are a create's and an update's, which ENV-2 and STATUS-6 let differ."""
    version = target.version_for(resource)
    for_each_example(
        target,
        valid_bodies(resource, version),
        lambda body: _post_twice(target, resource, version, body, request),
        tidy=True,
    )


def _post_twice(target, resource, version, body, request):
    path = _fresh(target, resource, version)
    target.write_valid(resource, path, body, "IDEM-1", "POST of a valid body", version=version)
    stored = writable_state(resource, version, assert_ok(target.get(resource, path, version=version), "IDEM-4", "GET"))
    again = target.write_valid(resource, path, body, "IDEM-1", "the same POST repeated", version=version)
    read = target.get(resource, path, version=version)
    restored = writable_state(resource, version, assert_ok(read, "IDEM-4", "GET after the repeated POST"))
    expect(
        stored == restored,
        "IDEM-1",
        "repeating a POST changed the stored object: " + "; ".join(diff_states(stored, restored)),
        read,
    )
    # Only a duplicate is conclusive: SPEC sets no order and no paging (ambiguity 21), so absence proves nothing.
    seen = look_for(target, resource, path, version=version)
    expect(
        not seen.shows_at_least(2),
        "IDEM-1",
        f"after two POSTs the collection lists the id {seen.count} times",
        seen.exchange or again,
    )
    if not seen.conclusive:
        record_note(request, "IDEM-1", INCONCLUSIVE, f"whether a repeated POST created a duplicate: {seen.reason}")


@pytest.mark.IDEM_2
def test_put_is_post(target, resource):
    version = target.version_for(resource)
    for_each_example(
        target, valid_bodies(resource, version), lambda body: _put_and_post(target, resource, version, body), tidy=True
    )


def _put_and_post(target, resource, version, body):
    by_post, by_put = _fresh(target, resource, version), _fresh(target, resource, version)
    target.write_valid(resource, by_post, body, "IDEM-2", "POST creating an object", version=version)
    _, a = _read_and_free(target, resource, by_post, version, "IDEM-2", "GET of the POSTed object")
    target.write_valid(resource, by_put, body, "IDEM-2", "PUT to a new id (must create, like POST)", method="PUT")
    target.write_valid(resource, by_put, body, "IDEM-2", "the same PUT repeated (must update, like POST)", method="PUT")
    b = assert_ok(target.get(resource, by_put, version=version), "IDEM-2", "GET of the PUT object")
    sa, sb = writable_state(resource, version, a), writable_state(resource, version, b)
    expect(
        sa == sb,
        "IDEM-2",
        "the same body by POST and by PUT stored different objects: " + "; ".join(diff_states(sa, sb)),
        target.get(resource, by_put, version=version),
    )


@pytest.mark.IDEM_3
def test_history_independence(target, resource):
    version = target.version_for(resource)
    bodies = valid_bodies(resource, version)
    methods = st.sampled_from(["POST", "PUT"])
    cases = st.tuples(st.lists(st.tuples(methods, bodies), min_size=1, max_size=3), bodies, methods)
    for_each_example(target, cases, lambda case: _history(target, resource, version, *case), tidy=True)


def _history(target, resource, version, history, final, method):
    path, fresh = _fresh(target, resource, version), _fresh(target, resource, version)
    created = _stamp(resource, "created")
    created_at = None
    for n, (m, b) in enumerate(history):
        target.write_valid(resource, path, b, "IDEM-3", f"{m} in history", method=m, version=version)
        if n == 0 and created:
            made = assert_ok(target.get(resource, path, version=version), "IDEM-4", "GET after the first write")
            created_at = made.get(created)
    target.write_valid(resource, path, final, "IDEM-3", "final write", method=method, version=version)
    got, a = _read_and_free(target, resource, path, version, "IDEM-3", "GET after the history")
    target.write_valid(resource, fresh, final, "IDEM-3", "same write, fresh id", method=method, version=version)
    b = assert_ok(target.get(resource, fresh, version=version), "IDEM-3", "GET of the fresh object")
    sa, sb = writable_state(resource, version, a), writable_state(resource, version, b)
    expect(
        sa == sb,
        "IDEM-3",
        "the stored object depends on earlier writes (a write must be a complete copy): "
        + "; ".join(diff_states(sa, sb)),
        got,
    )
    if created_at is not None:
        expect(
            a.get(created) == created_at,
            "IDEM-3",
            f"{created} moved from {created_at} to {a.get(created)} on update",
            got,
        )


@pytest.mark.IDEM_3
def test_fields_left_out_return_to_defaults(target, resource):
    """IDEM-3's core without chance: a full write, then one that leaves out what it may, reads back like a
    fresh object written with the second body (a merging server keeps the first write's values)."""
    version = target.version_for(resource)
    full, sparse = full_body(resource, version), sparse_body(resource, version)
    path, fresh = _fresh(target, resource, version), _fresh(target, resource, version)
    target.write_valid(resource, path, full, "IDEM-3", "a write with every field", version=version)
    target.write_valid(resource, path, sparse, "IDEM-3", "a write leaving fields out", version=version)
    got, stored = _read_and_free(target, resource, path, version, "IDEM-3", "GET after both writes")
    a = writable_state(resource, version, stored)
    target.write_valid(resource, fresh, sparse, "IDEM-3", "the same write, fresh id", version=version)
    b = writable_state(resource, version, assert_ok(target.get(resource, fresh, version=version), "IDEM-3", "GET"))
    expect(
        a == b,
        "IDEM-3",
        f"fields left out of a write kept earlier values (left out: {', '.join(sorted(set(full) - set(sparse)))}): "
        + "; ".join(diff_states(a, b)),
        got,
    )


@pytest.mark.IDEM_4
def test_read_your_writes(target, resource):
    """Each write of a sequence is read back, so a read cache a write does not refresh shows."""
    version = target.version_for(resource)
    sequences = st.lists(valid_bodies(resource, version), min_size=2, max_size=3, unique_by=_canonical)
    for_each_example(target, sequences, lambda bodies: _write_and_read(target, resource, version, bodies), tidy=True)


def _write_and_read(target, resource, version, bodies):
    path = _fresh(target, resource, version)
    for n, body in enumerate(bodies, 1):
        method = "POST" if n % 2 else "PUT"
        target.write_valid(resource, path, body, "IDEM-4", f"write {n} ({method})", method=method, version=version)
        got = target.get(resource, path, version=version)
        stored = assert_ok(got, "IDEM-4", f"GET after write {n}")
        diffs = same_written(resource, version, body, stored)
        expect(not diffs, "IDEM-4", f"GET after write {n} does not return the written values: " + "; ".join(diffs), got)


@pytest.mark.IDEM_4
def test_written_text_reads_back_exactly(target, resource):
    """Every run, without chance: a body setting every field, its text in mixed case (``Conformance 3fa2c1``,
    ``Conformance.3fa2c1@Example.com``), reads back as written. A server that lower-cases what it stores (an
    address, a name) shows here; only an address's domain may come back in other case (RFC 5321 §2.4)."""
    version = target.version_for(resource)
    obj = target.create(resource, version=version, full=True)  # a body the target accepts (SPEC ambiguity 15)
    got = target.get(resource, obj.path, version=version)
    diffs = same_written(resource, version, obj.body, assert_ok(got, "IDEM-4", "GET after the write"))
    expect(not diffs, "IDEM-4", "GET does not return the written values: " + "; ".join(diffs), got)


def _canonical(body: dict) -> str:
    return json.dumps(body, sort_keys=True)


_UNTOUCHED = "test_get_has_no_side_effects"


@pytest.fixture(scope="module", autouse=True)
def _early_reads(request):
    """When the GET side-effect test is in the run, its objects are made and read once as this module starts, so
    that its later reads come more than a second after the first (a GET that moves a stamp of one-second
    resolution shows only then) without waiting. Anything going wrong here leaves the test to do it itself."""
    if not any(getattr(item, "originalname", None) == _UNTOUCHED for item in request.session.items):
        return {}
    try:
        target = request.getfixturevalue("target")
        out = {}
        for resource in target.model.resources:
            version = target.version_for(resource)
            obj = target.create(resource, version=version, full=True)
            out[resource.item_path] = (obj, target.get(resource, obj.path, version=version), time.monotonic())
        return out
    except Exception:  # the test itself makes (and reports on) its objects then
        return {}


@pytest.mark.IDEM_5
def test_get_has_no_side_effects(target, resource, _early_reads):
    """Reads a second or more apart must return the same object (a read that records an access moves a stamp)."""
    version = target.version_for(resource)
    early = _early_reads.get(resource.item_path)
    if early is None:
        obj = target.create(resource, version=version, full=True)
        early = (obj, target.get(resource, obj.path, version=version), time.monotonic())
    obj, first, read_at = early
    wait = STAMP_RESOLUTION - (time.monotonic() - read_at)
    if wait > 0:
        time.sleep(wait)
    reads = [first, *(target.get(resource, obj.path, version=version) for _ in range(2))]
    for ex in reads:
        assert_ok(ex, "IDEM-5", "GET of an existing object")
    expect(all(ex.data == reads[0].data for ex in reads), "IDEM-5", "repeated GETs returned different data", reads[-1])


LISTING_SETTLES_S = 1.0  # a listing served from an index may trail a DELETE briefly: look again before judging


@pytest.mark.IDEM_6
def test_delete_removes_and_is_idempotent(target, resource, request):
    version = target.version_for(resource)
    obj = target.create(resource, version=version)
    first = target.delete(resource, obj.path, version=version)
    expect(is_success(first.status), "IDEM-6", f"DELETE of an existing object got HTTP {first.status}", first)
    assert_error(target.get(resource, obj.path, version=version), "IDEM-6", 404, "not_found", "GET after DELETE")
    # A soft delete whose flag one query forgets: the item read says 404, the collection still lists it.
    seen = look_for(target, resource, obj.path, version=version)
    if seen.shows_at_least(1):
        time.sleep(LISTING_SETTLES_S)
        seen = look_for(target, resource, obj.path, version=version)
    expect(
        not seen.shows_at_least(1),
        "IDEM-6",
        f"a deleted object is still listed in its collection (GET of it got 404; seen {seen.count} times, "
        f"{LISTING_SETTLES_S:g} s after the DELETE)",
        seen.exchange or first,
    )
    if not seen.conclusive:
        record_note(request, "IDEM-6", INCONCLUSIVE, f"whether a deleted object leaves its collection: {seen.reason}")
    second = target.delete(resource, obj.path, version=version)
    expect(
        is_success(second.status),
        "IDEM-6",
        f"DELETE of an already deleted object got HTTP {second.status}; it must succeed and do nothing",
        second,
    )
    assert_error(target.get(resource, obj.path, version=version), "IDEM-6", 404, "not_found", "GET after 2nd DELETE")
    never = target.delete(resource, _fresh(target, resource, version), version=version)
    expect(
        is_success(never.status) or never.status == 404,
        "IDEM-6",
        f"DELETE of an id that never existed got HTTP {never.status} (success or 404 conform)",
        never,
    )


@pytest.mark.IDEM_1
@pytest.mark.IDEM_4
def test_values_at_the_edges_are_stored_or_refused(target, resource):
    """A body the description allows, with values where storage cuts (a VARCHAR(255), an INT column): refused
    with a 4xx is the vendor's own rule; a 5xx violates IDEM-1 (SPEC ambiguity 17); accepted, it reads back."""
    version = target.version_for(resource)
    obj = target.create(resource, version=version)
    parents = list(obj.ids.values())[:-1]
    for what, body in boundary_bodies(resource, version, obj.body):
        path, _ = target.fresh_path(resource, version, parent_ids=parents)
        ex = target.write(resource, path, body, version=version)
        expect(ex.status < 500, "IDEM-1", f"a body the description allows ({what}) got HTTP {ex.status}", ex)
        if is_success(ex.status):
            got = target.get(resource, path, version=version)
            diffs = same_written(resource, version, body, assert_ok(got, "IDEM-4", f"GET after writing {what}"))
            expect(not diffs, "IDEM-4", f"{what} does not read back: " + "; ".join(diffs), got)


# updated_at has one-second resolution: an identical rewrite is judged at least this long after the create.
STAMP_RESOLUTION = 1.1
_STAMPED = "test_identical_write_keeps_updated_at"


def _stamped_objects(target) -> list:
    """One object per resource, with when it was created, for the identical-rewrite test."""
    objs = []
    for resource in target.model.resources:
        version = target.version_for(resource)
        obj = target.create(resource, version=version)
        objs.append((resource, version, obj.body, obj))
    return [(*o, time.monotonic()) for o in objs]


def _early(request, test: str) -> list | None:
    """When ``test`` is in the run, its objects are created as this module starts, so the second it must wait
    between create and update passes while the other IDEM tests run (it then waits only for what is left of it).
    Anything going wrong here leaves the test to create its own objects."""
    if not any(getattr(item, "originalname", None) == test for item in request.session.items):
        return None
    try:
        return _stamped_objects(request.getfixturevalue("target"))
    except Exception:  # the test itself makes (and reports on) its objects then
        return None


@pytest.fixture(scope="module", autouse=True)
def _early_stamped_objects(request):
    """The identical-rewrite test's objects (:func:`_early`)."""
    return _early(request, _STAMPED)


_UPDATED = "test_update_keeps_created_at"


@pytest.fixture(scope="module", autouse=True)
def _early_updated_objects(request):
    """The created_at test's objects (:func:`_early`): its own, since its updates change them."""
    return _early(request, _UPDATED)


def _wait_a_stamp(objs: list) -> None:
    """Until every object in ``objs`` was created at least ``STAMP_RESOLUTION`` ago."""
    wait = STAMP_RESOLUTION - (time.monotonic() - max(created_at for *_, created_at in objs)) if objs else 0
    if wait > 0:
        time.sleep(wait)


@pytest.mark.IDEM_3
def test_update_keeps_created_at(target, _early_updated_objects):
    """Updates by PUT and by POST, each with other values, at least a second after the create: created_at stays
    (a PUT that deletes and re-inserts the row, or an update that stamps both, shows only in a later second)."""
    objs = _early_updated_objects or _stamped_objects(target)
    _wait_a_stamp(objs)
    for resource, version, body, obj, _created_at in objs:
        name = _stamp(resource, "created")
        if name is None:
            continue
        before = assert_ok(target.get(resource, obj.path, version=version), "IDEM-4", "GET before the updates")
        for method, update in (("PUT", full_body(resource, version)), ("POST", body)):
            try:
                target.write_valid(
                    resource, obj.path, update, "IDEM-3", f"an update by {method}", method=method, version=version
                )
            except NoAcceptedBody:  # other values refused by the vendor's own rule: the body it took at this id
                target.write_valid(resource, obj.path, body, "IDEM-3", f"a rewrite by {method}", method=method)
            read = target.get(resource, obj.path, version=version)
            after = assert_ok(read, "IDEM-4", f"GET after the update by {method}")
            expect(
                after.get(name) == before.get(name),
                "IDEM-3",
                f"an update by {method} a second or more after the create moved {name} "
                f"({before.get(name)} -> {after.get(name)})",
                read,
            )


@pytest.mark.IDEM_7
@pytest.mark.IDEM_3
def test_identical_write_keeps_updated_at(target, _early_stamped_objects):
    """One pause for all resources: updated_at has one-second resolution."""
    objs = _early_stamped_objects or _stamped_objects(target)
    _wait_a_stamp(objs)
    for resource, version, body, obj, _created_at in objs:
        before = assert_ok(target.get(resource, obj.path, version=version), "IDEM-4", "GET before the rewrite")
        target.write_valid(resource, obj.path, body, "IDEM-7", "identical rewrite", version=version)
        read = target.get(resource, obj.path, version=version)
        after = assert_ok(read, "IDEM-4", "GET after the rewrite")
        for role, clause in (("updated", "IDEM-7"), ("created", "IDEM-3")):  # the test's own clause first
            name = _stamp(resource, role)
            if name is None:
                continue
            expect(
                after.get(name) == before.get(name),
                clause,
                f"an identical write moved {name} ({before.get(name)} -> {after.get(name)})",
                read,
            )

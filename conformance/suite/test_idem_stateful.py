"""IDEM-1/2/4/6 as a stateful model: random interleavings of create, update (POST or
PUT), read, identical rewrite and delete on a few of the suite's objects, checked
against what the spec says each step leaves behind.

Hypothesis shrinks a failing sequence to a short one and prints it with the seed.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import seed, settings
from hypothesis import strategies as st
from hypothesis.errors import UnsatisfiedAssumption
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conformance.checks.success import is_success
from conformance.model.strategies import valid_bodies
from conformance.suite._support.asserts import assert_error, assert_ok, diff_states, same_written, writable_state
from conformance.suite._support.examples import sequences, shards
from conformance.verdicts.violation import expect

METHODS = st.sampled_from(["POST", "PUT"])
MAX_OBJECTS = 4
POOL = 3
PICK = st.integers(0, POOL - 1)  # per example: enough for interleavings, few enough to keep a run cheap


def _canonical(body: dict) -> str:
    return json.dumps(body, sort_keys=True)


def _machine(target, resource):
    version = target.version_for(resource)
    bodies = valid_bodies(resource, version)
    parents = target.shared_parents(resource, version)

    class CrudModel(RuleBasedStateMachine):
        objects = Bundle("objects")

        @initialize(pool=st.lists(bodies, min_size=2, max_size=POOL, unique_by=_canonical))
        def start(self, pool) -> None:
            """Writes pick from a few bodies, so the same body meets different histories."""
            self.pool = pool
            self.written: dict[str, dict] = {}  # path -> last body written (absent: deleted or never made)
            self.known: set[str] = set()  # created
            self.tried: set[str] = set()  # created or refused
            self.fresh: dict[str, dict] = {}  # body -> the state a fresh object written with it has

        def taken(self, path, body, clause, what, method="POST"):
            """The target's answer to the write, or None when it did not take it. A body it refuses by a rule
            of its own, as the same body elsewhere (a value kept unique among the objects this
            sequence holds, ambiguity 15), is a step not taken: the object stays as it was, and the sequence
            goes on."""
            try:
                return target.write_valid(resource, path, body, clause, what, method=method, version=version)
            except UnsatisfiedAssumption:
                return None

        def teardown(self) -> None:
            """The next sequence starts among no objects of this one (their names free again)."""
            target.remove_paths(getattr(self, "tried", ()))

        @precondition(lambda self: len(self.known) < MAX_OBJECTS)
        @rule(target=objects, pick=PICK, method=METHODS)
        def create(self, pick, method):
            body = self.pool[pick % len(self.pool)]
            path, _ = target.fresh_path(resource, version, parent_ids=parents)
            clause = "IDEM-1" if method == "POST" else "IDEM-2"
            self.tried.add(path)  # made even if refused, perhaps: deleted at the end either way
            if self.taken(path, body, clause, "create", method) is None:
                return multiple()
            self.known.add(path)
            if _canonical(body) not in self.fresh:  # read, not the write's answer: its data is the vendor's choice
                stored = assert_ok(target.get(resource, path, version=version), "IDEM-4", "GET after a create")
                self.fresh[_canonical(body)] = writable_state(resource, version, stored)
            self.written[path] = body
            return path

        @rule(path=objects, pick=PICK, method=METHODS)
        def write(self, path, pick, method):
            """Create-or-update: also after a delete, the write makes the object again."""
            body = self.pool[pick % len(self.pool)]
            clause = "IDEM-1" if method == "POST" else "IDEM-2"
            if self.taken(path, body, clause, f"{method} to {path}", method) is not None:
                self.written[path] = body

        @rule(path=objects)
        def rewrite_same(self, path):
            if path not in self.written:
                return
            before = target.get(resource, path, version=version)
            state = writable_state(resource, version, assert_ok(before, "IDEM-4", "GET before an identical write"))
            again = self.taken(path, self.written[path], "IDEM-1", "the same POST repeated")
            if again is None:
                return
            after = writable_state(
                resource, version, assert_ok(target.get(resource, path, version=version), "IDEM-1", "GET")
            )
            diffs = diff_states(state, after)
            expect(not diffs, "IDEM-1", "repeating the last POST changed the object: " + "; ".join(diffs), again)

        @rule(path=objects)
        def read(self, path):
            got = target.get(resource, path, version=version)
            if path in self.written:
                stored = assert_ok(got, "IDEM-4", f"GET of {path} after a successful write")
                diffs = same_written(resource, version, self.written[path], stored)
                expect(not diffs, "IDEM-4", "GET does not return the last written values: " + "; ".join(diffs), got)
                fresh = self.fresh.get(_canonical(self.written[path]))
                if fresh is not None:
                    diffs = diff_states(writable_state(resource, version, stored), fresh)
                    expect(
                        not diffs,
                        "IDEM-3",
                        "the object differs from a fresh one written with the same body (history leaks): "
                        + "; ".join(diffs),
                        got,
                    )
            else:
                assert_error(got, "IDEM-6", 404, "not_found", f"GET of {path} after DELETE")

        @rule(path=objects)
        def delete(self, path):
            was = "an existing" if path in self.written else "an already deleted"
            gone = target.delete(resource, path, version=version)
            expect(is_success(gone.status), "IDEM-6", f"DELETE of {was} object got HTTP {gone.status}", gone)
            self.written.pop(path, None)

    return CrudModel


@pytest.mark.IDEM_3
@pytest.mark.IDEM_4
@pytest.mark.IDEM_6
def test_crud_sequences(target, resource, crud_shard, run_seed):
    """Random sequences of creates, updates, reads, rewrites and deletes, each step judged by what the spec
    says it leaves behind. The profile's sequences come in shards (separate tests, so workers run them side by
    side), each with a seed of its own (the first shard the run's), so that they explore different sequences."""
    shard, _count = crud_shard
    machine = _machine(target, resource)
    if shard:
        machine = seed((run_seed + shard * 1_000_003) % 2**32)(machine)
    examples = shards(sequences(target.profile.examples))[shard]
    run_state_machine_as_test(
        machine, settings=settings(max_examples=examples, stateful_step_count=target.profile.stateful_steps)
    )

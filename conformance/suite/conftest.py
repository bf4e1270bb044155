"""The clause tests' fixtures and their parametrization from the target model.

Tests ask for ``target`` (the run's connection to the server under test), ``resource``,
``enum_field``, ``time_field``, ``date_field`` or ``versioned_field`` and get one run per
matching resource or (resource, field) of the target description; with none, one skipped
run that says why (the clause is then ``skip``: not applicable). They live here, not in the
plugin, so that installing the suite never touches a fixture name of anyone else's tests.
"""

from __future__ import annotations

import gc

import pytest

from conformance.checks.context import CheckContext
from conformance.model import TargetModel
from conformance.run.state import STATE
from conformance.spec import facts
from conformance.spec.catalogue import clause_id_from_marker
from conformance.suite._support.examples import sequences, shards
from conformance.suite._support.target import Target


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Target:
    state = request.config.stash.get(STATE, None)
    if state is None or state.target is None:
        pytest.skip("not a conformance run (use `conformance run` or `pytest --pyargs conformance`)")
    if state.fatal:
        pytest.skip(f"target cannot be tested: {state.fatal}")
    return state.target


@pytest.fixture(scope="session")
def model(target: Target) -> TargetModel:
    return target.model


@pytest.fixture(scope="session")
def base_url(target: Target) -> str:
    """pytest-base-url's fixture, where that plugin is installed, names the suite's target in the suite."""
    return target.client.base_url


@pytest.fixture(scope="session")
def _verify_url() -> None:
    """pytest-base-url's autouse check of its URL (``VERIFY_BASE_URL``) is off in the suite: the run's preflight
    checks the target with the run's TLS trust, which that check would not use."""


def _fields(metafunc: pytest.Metafunc, kind: str):
    state = metafunc.config.stash.get(STATE, None)
    resources = state.model.resources if state else []
    wanted = None
    if kind == "enum":
        clauses = {clause_id_from_marker(m.name) for m in metafunc.definition.iter_markers()}
        wanted = {name for name, (_values, clause) in facts.enum_sets().items() if clause in clauses} or None
    out = []
    for res in resources:
        for f in res.fields.values():
            if f.read_only:
                continue
            if kind == "versioned" and f.min_version > 1 or f.kind == kind and (wanted is None or f.enum_set in wanted):
                out.append((res, f))
    return out


@pytest.hookimpl
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "resource" in metafunc.fixturenames:
        _resources(metafunc)
    if "fuzz_op" in metafunc.fixturenames:
        _fuzz_operations(metafunc)
    if "crud_shard" in metafunc.fixturenames:
        _crud_shards(metafunc)
    for kind in ("enum", "time", "date", "versioned"):
        name = f"{kind}_field"
        if name not in metafunc.fixturenames:
            continue
        pairs = _fields(metafunc, kind)
        if pairs:
            metafunc.parametrize(name, pairs, ids=[f"{r.name}.{f.name}" for r, f in pairs])
        else:
            why = f"the target description has no writable {kind} field this clause applies to"
            metafunc.parametrize(name, [pytest.param(None, marks=pytest.mark.skip(reason=why))])


def _resources(metafunc: pytest.Metafunc) -> None:
    state = metafunc.config.stash.get(STATE, None)
    resources = state.model.resources if state else []
    if resources:
        metafunc.parametrize("resource", resources, ids=[r.name for r in resources])
    else:
        why = "no item paths in the description"
        metafunc.parametrize("resource", [pytest.param(None, marks=pytest.mark.skip(reason=why))])


def _crud_shards(metafunc: pytest.Metafunc) -> None:
    """The stateful model's sequences as a few tests per resource (:func:`shards`): across a
    network each sequence is a long chain of dependent requests, and one test holding them all would be the
    run's critical path."""
    state = metafunc.config.stash.get(STATE, None)
    count = len(shards(sequences(state.settings.budget.examples))) if state else 1
    metafunc.parametrize(
        "crud_shard", [(n, count) for n in range(count)], ids=[f"{n + 1}of{count}" for n in range(count)]
    )


@pytest.fixture(scope="session")
def run_seed(request: pytest.FixtureRequest) -> int:
    """The run's hypothesis seed (every report records it)."""
    return int(request.config.stash[STATE].seed)


def _fuzz_operations(metafunc: pytest.Metafunc) -> None:
    from conformance.fuzz.operations import operations

    state = metafunc.config.stash.get(STATE, None)
    ops = operations(state.model) if state else []
    if ops:
        metafunc.parametrize("fuzz_op", ops, ids=[op.label for op in ops])
    else:
        why = "the target description has no operation to fuzz"
        metafunc.parametrize("fuzz_op", [pytest.param(None, marks=pytest.mark.skip(reason=why))])


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """The tests allocate much short-lived data (hypothesis and schemathesis draws, an exchange per
    request) in a process holding a million long-lived objects (its imports). The young generation is
    collected less often, and what start-up left is moved out of the collector's sight, so collections
    stop rescanning it: about a second of a standard run. Garbage is still collected as before."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


@pytest.fixture(scope="session")
def ctx(request: pytest.FixtureRequest, target) -> CheckContext:
    return request.config.stash[STATE].recorder.ctx

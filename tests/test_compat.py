"""Each shim of ``conformance._compat`` against the installed dependency: a release that moves a private API
fails here, by name, instead of somewhere in a run."""

from __future__ import annotations

import sys
import types

import pytest
from hypothesis import find

from conformance import _compat
from conformance.run import interrupts


def test_runtestprotocol_is_pytests():
    from _pytest.runner import runtestprotocol

    assert _compat.runtestprotocol.__doc__ and callable(runtestprotocol)


def test_schema_strategy_generates_valid_values():
    alphabet = _compat.string_alphabet(
        allow_x00=False, codec="ascii", max_codepoint=126, exclude_characters="", allow_surrounding_whitespace=False
    )
    strategy = _compat.schema_strategy(
        {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer", "minimum": 3}}},
        draft=20,
        formats={},
        alphabet=alphabet,
    )
    assert find(strategy, lambda v: True)["n"] >= 3


class _Entry:
    """A traceback entry as CPython 3.11 can leave one when a signal lands: ``tb_lineno`` None."""

    def __init__(self, frame: types.FrameType, lineno: int | None, nxt: object = None) -> None:
        self.tb_frame, self.tb_lasti, self.tb_lineno, self.tb_next = frame, 0, lineno, nxt


def test_an_interrupt_traceback_without_line_numbers_is_repaired():
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        excinfo = pytest.ExceptionInfo.from_current()
    frame = sys._getframe()
    broken = _Entry(frame, 10, _Entry(frame, None))
    excinfo._excinfo = (excinfo.type, excinfo.value, broken)  # what pytest holds after such a signal
    interrupts.repair_traceback(excinfo)
    lines = []
    tb = excinfo.tb
    while tb is not None:
        lines.append(tb.tb_lineno)
        tb = tb.tb_next
    assert isinstance(excinfo.tb, types.TracebackType) and None not in lines and len(lines) == 2
    assert str(excinfo.getrepr(style="short"))  # pytest can print it now


def test_pool_with_checkout_hooks_sees_each_connection_change_hands(reference_server):
    """urllib3's ``_get_conn``/``_put_conn``: the hooks see the connection a request takes and gives back."""
    from urllib3.connection import HTTPSConnection
    from urllib3.connectionpool import HTTPSConnectionPool

    server = reference_server()
    taken, returned = [], []
    pool_cls = _compat.pool_with_checkout_hooks(
        HTTPSConnectionPool, HTTPSConnection, lambda pool, conn: taken.append(conn), returned.append
    )
    host, port = server.base_url.split("//")[1].split("/")[0].rsplit(":", 1)
    pool = pool_cls(host, int(port), ca_certs=server.ca_bundle, maxsize=1)
    for _ in range(2):
        pool.urlopen("GET", "/", headers={"Authorization": "Basic " + server.keys[0]}, retries=False)
    assert len(taken) == 2 and taken[0] is taken[1]  # kept alive: the same connection, taken twice
    assert returned == taken
    pool.close()


def test_xdist_worker_shims_reach_the_nodes_and_tolerate_their_absence():
    """``DSession.sched.nodes`` / ``WorkerController.shutdown`` / ``nodemanager.teardown_nodes`` (xdist 3.x)."""
    from types import SimpleNamespace

    import xdist.dsession
    import xdist.workermanage

    assert hasattr(xdist.workermanage.WorkerController, "shutdown")
    assert hasattr(xdist.workermanage.NodeManager, "teardown_nodes")
    assert "sched" in xdist.dsession.DSession.pytest_runtestloop.__code__.co_names
    calls: list[str] = []
    node = SimpleNamespace(shutdown=lambda: calls.append("shutdown"))
    dsession = SimpleNamespace(
        sched=SimpleNamespace(nodes=[node, node]),
        nodemanager=SimpleNamespace(teardown_nodes=lambda: calls.append("teardown")),
    )
    config = SimpleNamespace(pluginmanager=SimpleNamespace(getplugin=lambda name: dsession))
    _compat.xdist_ask_workers_to_stop(config)
    _compat.xdist_end_workers(config)
    assert calls == ["shutdown", "shutdown", "teardown"]
    nothing = SimpleNamespace(pluginmanager=SimpleNamespace(getplugin=lambda name: None))
    _compat.xdist_ask_workers_to_stop(nothing)  # a run without xdist: nothing to do
    _compat.xdist_end_workers(nothing)


def test_hypothesis_database_key_keeps_one_sources_failures_apart():
    """Two properties of the same source (as ``for_each_example`` defines them for every test) save their
    failures under different keys once each is given its own; without the shim they would share one."""
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.database import InMemoryExampleDatabase

    db = InMemoryExampleDatabase()

    def failing(key: str | None):
        @settings(database=db, max_examples=5)
        @given(st.integers())
        def prop(value: int) -> None:
            raise ValueError(value)

        if key is not None:
            _compat.hypothesis_database_key(prop, key)
        return prop

    def keys_after(*names: str | None) -> set[bytes]:
        db.data.clear()
        for name in names:
            with pytest.raises(ValueError):
                failing(name)()
        return {k for k, v in db.data.items() if v and not k.endswith((b".secondary", b".pareto"))}

    assert len(keys_after(None, None)) == 1
    assert len(keys_after("test_a.py::t", "test_b.py::t")) == 2

"""The one place the suite touches its dependencies' private APIs, each behind a function of its own.

Each shim names the versions it was written against (``pyproject.toml`` pins the lower bounds) and has a test in
``tests/test_compat.py``, so that a dependency's release that moves the API fails there, in one place, rather
than somewhere in a run.
"""

from __future__ import annotations

import contextlib
from typing import Any


def runtestprotocol(item: Any, nextitem: Any = None, log: bool = True) -> list[Any]:
    """pytest's run of one item's set-up, call and teardown (``_pytest.runner``, pytest 8-9): confirmation
    re-runs (``conformance.run.confirm``) run a test again without logging its reports."""
    from _pytest.runner import runtestprotocol as run

    return run(item, nextitem=nextitem, log=log)


def replace_traceback(excinfo: Any, tb: Any) -> None:
    """Point a pytest ``ExceptionInfo`` at another traceback (its ``_excinfo`` and cached ``_traceback``,
    pytest 8-9): pytest offers no public way, and an interrupt's traceback may need repairing
    (:func:`conformance.run.interrupts.repair_traceback`)."""
    excinfo.value.__traceback__ = tb
    excinfo._excinfo = (excinfo.type, excinfo.value, tb)
    excinfo._traceback = None


def schema_strategy(schema: dict[str, Any], **options: Any) -> Any:
    """Schemathesis' JSON Schema data generator (``schemathesis.generation.jsonschema``, schemathesis 4.x): the
    engine its fuzzing uses, which the clause tests' body strategies share."""
    from schemathesis.generation.jsonschema.builder import build

    return build(schema, **options)


def string_alphabet(**options: Any) -> Any:
    """Schemathesis' string alphabet settings for :func:`schema_strategy` (schemathesis 4.x)."""
    from schemathesis.generation.jsonschema.context import Alphabet

    return Alphabet(**options)


def pool_with_checkout_hooks(base: type, connection_cls: type, on_get: Any, on_put: Any) -> type:
    """A subclass of the urllib3 connection pool ``base`` making ``connection_cls`` connections, calling
    ``on_get(pool, conn)`` on each connection taken from the pool and ``on_put(conn)`` on each given back
    (``_get_conn``/``_put_conn``, urllib3 2.x): urllib3 offers no public hook where a connection changes hands,
    and the client needs one to watch each exchange's connection and to learn the server's idle limit."""

    class Pool(base):
        ConnectionCls = connection_cls
        closes_idle_after: float | None = None  # the shortest idle time after which the server had closed one

        def _get_conn(self, timeout: float | None = None) -> Any:
            conn = super()._get_conn(timeout)
            on_get(self, conn)
            return conn

        def _put_conn(self, conn: Any) -> None:
            on_put(conn)
            super()._put_conn(conn)

        def take(self, timeout: float | None = None) -> Any:
            """A connection (or an unconnected one in an empty slot) out of the pool, waiting for a free slot."""
            return self._get_conn(timeout)

        def give(self, conn: Any) -> None:
            self._put_conn(conn)

    Pool.__name__ = Pool.__qualname__ = f"Watched{base.__name__}"
    return Pool


def xdist_ask_workers_to_stop(config: Any) -> None:
    """Send every pytest-xdist worker its ``shutdown`` (``DSession.sched.nodes``, ``WorkerController.shutdown``,
    xdist 3.x): each ends after its current test, through its own session-finish. Best effort."""
    dsession = config.pluginmanager.getplugin("dsession")
    nodes = getattr(getattr(dsession, "sched", None), "nodes", None) or []
    for node in list(nodes):
        with contextlib.suppress(Exception):
            node.shutdown()


def xdist_end_workers(config: Any) -> None:
    """End the pytest-xdist workers and wait for them (``DSession.nodemanager.teardown_nodes``, xdist 3.x), as
    xdist does right after the run's own session-finish. Best effort."""
    dsession = config.pluginmanager.getplugin("dsession")
    manager = getattr(dsession, "nodemanager", None)
    with contextlib.suppress(Exception):
        if manager is not None:
            manager.teardown_nodes()


def hypothesis_database_key(test: Any, key: str) -> None:
    """Give the ``@given`` function ``test`` its own key in hypothesis' example database
    (``inner_test._hypothesis_internal_add_digest``, hypothesis 6.x, as its pytest plugin does for parametrized
    tests): a property defined inside a helper has the same source for every test that uses the helper, and
    its saved failures must replay in the test that found them, not in every other."""
    test.hypothesis.inner_test._hypothesis_internal_add_digest = key.encode()

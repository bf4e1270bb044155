"""The one place the suite touches its dependencies' private APIs, each behind a function of its own.

Each shim names the versions it was written against (``pyproject.toml`` pins the lower bounds) and has a test in
``tests/test_compat.py``, so that a dependency's release that moves the API fails there, in one place, rather
than somewhere in a run.
"""

from __future__ import annotations

from typing import Any


def runtestprotocol(item: Any, nextitem: Any = None, log: bool = True) -> list[Any]:
    """pytest's run of one item's set-up, call and teardown (``_pytest.runner``, pytest 8-9): confirmation
    re-runs (``conformance.confirm``) run a test again without logging its reports."""
    from _pytest.runner import runtestprotocol as run

    return run(item, nextitem=nextitem, log=log)


def replace_traceback(excinfo: Any, tb: Any) -> None:
    """Point a pytest ``ExceptionInfo`` at another traceback (its ``_excinfo`` and cached ``_traceback``,
    pytest 8-9): pytest offers no public way, and an interrupt's traceback may need repairing
    (:func:`conformance.interrupts.repair_traceback`)."""
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

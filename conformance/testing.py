"""Helpers for vendors' own pytest suites.

In a ``conftest.py``::

    pytest_plugins = ["conformance.testing"]

then a test can ask for ``reference_server`` (the bundled server over HTTPS on
loopback, started once per session) and call :func:`assert_conforms` on any
``requests.Response`` to apply the suite's response-check layer (envelope, status
table, times, enumerations, JSON) and get the clause IDs of what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from conformance.checks import CheckContext, run_all
from conformance.http.exchange import exchange_of
from conformance.http.redact import Redactor
from conformance.model import TargetModel, load_model
from conformance.verdicts.violation import ClauseViolation


def assert_conforms(
    response: requests.Response,
    *,
    model: TargetModel | None = None,
    resource: str | None = None,
    zone: ZoneInfo | None = None,
    secrets: tuple[str, ...] = (),
) -> None:
    """Raise :class:`ClauseViolation` naming every clause the response breaks.

    ``model`` (from :func:`conformance.model.load_model`) and ``resource`` let the time,
    date and enumeration checks know the fields; ``zone`` checks TIME-3 exactly;
    ``secrets`` are masked in the message."""
    ctx = CheckContext(model or _reference_model(), zone)
    outcome = run_all(exchange_of(response, resource), ctx)
    if outcome.findings:
        redactor = Redactor(list(secrets))
        lines = "; ".join(f"[{f.clause}] {redactor.text(f.message)}" for f in outcome.findings)
        raise ClauseViolation(outcome.findings[0].clause, lines)


def _reference_model() -> TargetModel:
    from conformance.spec import facts

    return load_model(str(facts.reference_openapi_path()))


@pytest.fixture(scope="session")
def reference_server() -> Iterator[Any]:
    """The bundled reference server (HTTPS on loopback): ``.base_url``, ``.ca_bundle``, ``.keys``."""
    from conformance.reference.server import start_server

    handle = start_server()
    try:
        yield handle
    finally:
        handle.stop()

"""The check layer as schemathesis checks, for anyone driving schemathesis directly
(their own ``@schema.parametrize()`` tests, ``case.validate_response``).

Each adapter turns schemathesis' response into an :class:`Exchange` and runs the one
check function of :mod:`conformance.checks` for its clause; a finding becomes a
schemathesis failure titled with the clause ID. Nothing is re-implemented here.
The suite's own fuzz tests send through the suite's client instead, whose observer
applies the same layer to every response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from conformance.checks import CHECKS, Check, CheckContext
from conformance.http.exchange import exchange_of
from conformance.model import Resource, TargetModel


def spec_checks(model: TargetModel, zone: ZoneInfo | None = None) -> list[Callable[..., bool | None]]:
    """One schemathesis check per clause of the layer, registered with schemathesis."""
    import schemathesis

    ctx = CheckContext(model, zone)
    out = []
    for check in CHECKS:
        fn = _adapter(check, ctx, model)
        schemathesis.check(fn)
        out.append(fn)
    return out


def _adapter(check: Check, ctx: CheckContext, model: TargetModel) -> Callable[..., bool | None]:
    def adapter(st_ctx: Any, response: Any, case: Any) -> bool | None:
        from schemathesis.core.failures import Failure

        resource = _resource_of(model, case.operation.path)
        exchange = exchange_of(response, resource.name if resource else None, model.latest_version)
        findings = check.fn(exchange, ctx)
        if findings:
            raise Failure(
                operation=case.operation.label,
                title=f"[{check.clause}] {findings[0].message}"[:200],
                message="; ".join(f.message for f in findings[:3]),
            )
        return None if findings is None else True

    adapter.__name__ = "spec_" + check.clause.lower().replace("-", "_") + "_" + check.name
    adapter.__doc__ = f"{check.clause}: {check.fn.__doc__ or check.name}"
    return adapter


def _resource_of(model: TargetModel, path: str) -> Resource | None:
    for resource in model.resources:
        if path in (resource.described_path, resource.described_collection_path):
            return resource
    return None

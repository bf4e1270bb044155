"""Rules a description does not state (SPEC ambiguity 15): a vendor may refuse bodies its description
allows; the suite reports them as description gaps and judges only what is conclusive.

The valid variant ``undeclared-rules`` and the faults that make validity depend on the history, the id or
the method are run by tests/test_faults.py; here: what the reports say, and a target that refuses every
body of a resource, whose clauses can then only be ``error``.
"""

from __future__ import annotations

import pytest

from conformance.reference import faults
from conformance.reference.behaviour import ApiError


def test_description_gaps_are_reported_as_a_warning(certify):
    run = certify(variants=("undeclared-rules",), args=("--clause", "IDEM", "--profile", "smoke"))
    assert run.code == 0, run.stdout[-3000:]
    gaps = run.record["run"]["description_gaps"]
    assert gaps and all(g["seen"] >= 1 for g in gaps)
    messages = {g["message"] for g in gaps}
    assert any("must start with a letter" in m or "two options" in m for m in messages), messages
    assert {g["resource"] for g in gaps} <= {"campaigns", "custom_fields"}
    html = (run.report_dir / "report.html").read_text()
    assert 'id="description-gaps"' in html and "Description gaps (warning)" in html
    assert "Description gaps:" in run.stdout
    assert run.verdicts()["IDEM-1"] == "pass"


def _refuse_campaigns(default, ctx, old, values):
    if ctx.route is not None and ctx.route.resource.name == "campaigns":
        raise ApiError(403, "validation_failed", "campaigns are closed for writing")
    return default(ctx, old, values)


@pytest.fixture
def refuses_every_campaign(monkeypatch):
    switch = faults.fault("test-refuses-every-campaign", "IDEM-1", "Refuses every campaign.", compose=_refuse_campaigns)
    monkeypatch.setitem(faults.FAULTS, switch.name, switch)
    return switch.name


def test_a_resource_with_no_accepted_body_is_error_never_pass_or_fail(certify, refuses_every_campaign):
    """Nothing can be judged on a resource whose every body is refused: its tests are ``error`` (the clause
    is then ``error``), no finding is filed, and the gaps name what was refused."""
    run = certify(faults=(refuses_every_campaign,), args=("--clause", "IDEM-1", "--profile", "smoke"))
    assert run.verdicts()["IDEM-1"] == "error", run.stdout[-3000:]
    assert run.code == 1
    tests = {t["nodeid"]: t for t in run.record["tests"]}
    assert tests["test_idem.py::test_repeated_post_changes_nothing[campaigns]"]["outcome"] == "error"
    assert not [t for t in tests.values() if t["outcome"] == "failed"]
    errors = [t for t in tests.values() if t["outcome"] == "error"]
    assert all(
        "campaigns" in t["nodeid"] and ("refuse" in t["message"] or "accepted no" in t["message"]) for t in errors
    )
    idem1 = next(c for c in run.record["clauses"] if c["id"] == "IDEM-1")
    assert idem1["findings"] == [], idem1["findings"]
    assert any(g["resource"] == "campaigns" for g in run.record["run"]["description_gaps"])

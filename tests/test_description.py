"""What the target's description itself shows (SPEC ambiguity 20): an ``enum`` that is a spec set plus
vendor values is that enumeration, and each extra value violates its ENUM clause. The suite reports it from
the description before anything is sent, and a response carrying an extra value confirms it."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from conformance.model import load_model
from conformance.run.record import description_findings
from conformance.spec import facts

SUBSCRIBER_STATUS = ["active", "unsubscribed", "scomp", "bounced", "deactivated"]


def with_extra_status(tmp_path: Path, extras: list[str]) -> Path:
    """The reference description with subscribers' ``status`` as an inline enum: the spec's set plus ``extras``."""
    folder = tmp_path / "extras"
    shutil.copytree(facts.reference_openapi_path().parent, folder)
    path = folder / facts.reference_openapi_path().name
    doc = yaml.safe_load(path.read_text())
    doc["components"]["schemas"]["SubscriberWrite"]["properties"]["status"] = {
        "type": "string",
        "enum": SUBSCRIBER_STATUS + extras,
        "default": "active",
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_the_spec_set_plus_extras_is_that_enumeration(tmp_path):
    model = load_model(str(with_extra_status(tmp_path, ["archived", "pending"])))
    status = model.resource("subscribers").fields["status"]
    assert (status.kind, status.enum_set, status.enum_clause) == ("enum", "subscriber_status", "ENUM-1")
    assert status.enum_extras == ("archived", "pending")
    findings = description_findings(model)
    assert [f.clause for f in findings] == ["ENUM-1"]
    assert "'archived', 'pending'" in findings[0].message and findings[0].test_id.startswith("description::")


def test_a_subset_or_the_set_itself_is_no_finding(tmp_path):
    assert description_findings(load_model(str(facts.reference_openapi_path()))) == []
    subset = load_model(str(with_extra_status(tmp_path, [])))
    assert subset.resource("subscribers").fields["status"].enum_extras == ()


def test_extras_fail_their_clause_from_the_description_and_in_responses(certify, reference_server, tmp_path):
    description = with_extra_status(tmp_path, ["archived"])
    server = reference_server(description=str(description))
    run = certify(server=server, args=("--openapi", str(description), "--clause", "ENUM-1", "--profile", "smoke"))
    assert run.code == 1, run.stdout[-3000:]
    enum1 = next(c for c in run.record["clauses"] if c["id"] == "ENUM-1")
    assert enum1["verdict"] == "fail"
    from_description = [f for f in enum1["findings"] if f["test_id"].startswith("description::")]
    assert from_description and "'archived'" in from_description[0]["message"]
    assert from_description[0]["replay"] is None


def test_a_response_with_an_extra_value_confirms_it(tmp_path):
    import json

    from conformance.checks import CheckContext, run_all
    from conformance.http.exchange import Exchange

    model = load_model(str(with_extra_status(tmp_path, ["archived"])))
    body = {"success": True, "data": {"id": "s1", "email": "a@b", "status": "archived"}}
    body["error_code"] = body["error_message"] = None
    ex = Exchange(
        method="GET",
        url="https://x/ga/api/v1/mailing_lists/l1/subscribers/s1",
        request_headers={},
        request_body=None,
        status=200,
        response_headers={"Content-Type": "application/json"},
        response_body=json.dumps(body).encode(),
        resource="subscribers",
        version=1,
    )
    outcome = run_all(ex, CheckContext(model, None))
    assert any(f.clause == "ENUM-1" and "archived" in f.message for f in outcome.findings), outcome.findings


def test_one_version_says_what_it_could_not_judge(certify, reference_server, tmp_path):
    """A description that states no versions is read as version 1 alone; VER-1, VER-2 and VER-4 then pass on what
    they could judge, and the record says that a server ignoring the version named would answer the same."""
    folder = tmp_path / "one"
    shutil.copytree(facts.reference_openapi_path().parent, folder)
    path = folder / facts.reference_openapi_path().name
    doc = yaml.safe_load(path.read_text())
    del doc["x-spec-versions"]
    doc["components"]["parameters"]["XVersion"]["schema"] = {"type": "integer"}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert load_model(str(path)).versions == [1, 2]  # a field of version 2 says there is a version 2
    for schema in doc["components"]["schemas"].values():
        for prop in (schema.get("properties") or {}).values():
            prop.pop("x-spec-min-version", None)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert load_model(str(path)).versions == [1]
    run = certify(
        server=reference_server(description=str(path)),
        args=("--openapi", str(path), "--clause", "VER", "--profile", "smoke"),
    )
    assert run.code == 0, run.stdout[-3000:]
    noted = {n["clause"] for t in run.record["tests"] for n in t.get("notes", []) if n["kind"] == "untested"}
    assert noted == {"VER-1", "VER-2", "VER-4"}

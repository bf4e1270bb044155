"""STATUS-3 for the bounds a description declares: every run writes each field just past each bound (a range,
an exclusive bound, a length, a number of items) in a body the target accepts otherwise, and demands
``403 validation_failed``. The bundled description declares only ``minLength: 1`` (with a pattern); this
variant of it declares the rest, served by the reference server as it is and with the bounds ignored."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from conformance.model import load_model
from conformance.model.invalid import bound_cases
from conformance.model.schemas import is_valid
from conformance.model.strategies import minimal_body, write_schema
from conformance.spec import facts


def with_bounds(tmp_path: Path) -> Path:
    """The reference description with declared bounds: names of at most 100 characters, addresses of at most
    254, at most 20 options, and two new campaign fields: an integer percentage 0..50 and a number in (0, 1)."""
    folder = tmp_path / "bounds"
    shutil.copytree(facts.reference_openapi_path().parent, folder)
    path = folder / facts.reference_openapi_path().name
    doc = yaml.safe_load(path.read_text())
    schemas = doc["components"]["schemas"]
    schemas["Name"]["maxLength"] = 100
    schemas["SubscriberWrite"]["properties"]["email"]["maxLength"] = 254
    schemas["CustomFieldWrite"]["properties"]["options"]["maxItems"] = 20
    campaign = schemas["CampaignWrite"]["properties"]
    campaign["test_percent"] = {"type": "integer", "minimum": 0, "maximum": 50, "default": 0}
    campaign["weight"] = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "default": 0.5}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_each_declared_bound_is_probed_just_past_it(tmp_path):
    model = load_model(str(with_bounds(tmp_path)))
    version = model.latest_version
    found = {}
    for resource in model.resources:
        base = minimal_body(resource, version)
        for case in bound_cases(resource, version, base):
            assert not is_valid(write_schema(resource, version), case.body), case
            others = {k: v for k, v in base.items() if k != case.field}
            assert {k: v for k, v in case.body.items() if k != case.field} == others  # only the probed field differs
            found[(resource.name, case.kind, case.field)] = case.value
    assert found[("campaigns", "above-maximum", "test_percent")] == 51
    assert found[("campaigns", "below-minimum", "test_percent")] == -1
    assert found[("campaigns", "at-exclusive-maximum", "weight")] == 1
    assert found[("campaigns", "at-exclusive-minimum", "weight")] == 0
    assert len(found[("campaigns", "too-long", "name")]) == 101
    assert found[("campaigns", "too-short", "name")] == ""
    address = found[("subscribers", "too-long", "email")]
    assert len(address) == 255 and "@" in address  # the pattern kept: only the length refuses it
    assert len(found[("custom_fields", "too-many-items", "options")]) == 21
    # the bundled description: only the names' minLength (the empty name, refused by the pattern too)
    bundled = load_model(str(facts.reference_openapi_path()))
    kinds = {
        (r.name, c.kind, c.field)
        for r in bundled.resources
        for c in bound_cases(r, bundled.latest_version, minimal_body(r, bundled.latest_version))
    }
    assert kinds == {(name, "too-short", "name") for name in ("mailing_lists", "campaigns", "custom_fields")}


def test_declared_bounds_kept_pass(certify, reference_server, tmp_path):
    description = with_bounds(tmp_path)
    server = reference_server(description=str(description))
    run = certify(server=server, args=("--openapi", str(description), "--profile", "smoke"))
    assert run.code == 0, run.stdout[-4000:]
    assert run.failing() == set()


def test_declared_bounds_ignored_fail_status_3(certify, reference_server, tmp_path):
    description = with_bounds(tmp_path)
    server = reference_server(faults=("status-bounds-unchecked",), description=str(description))
    args = ("--openapi", str(description), "--profile", "smoke", "--clause", "STATUS-3", "--", "-k", "not fuzz")
    run = certify(server=server, args=args)
    status3 = next(c for c in run.record["clauses"] if c["id"] == "STATUS-3")
    assert status3["verdict"] == "fail", run.stdout[-3000:]
    messages = " ".join(f["message"] for f in status3["findings"])
    labels = ("above-maximum:test_percent", "at-exclusive-maximum:weight", "too-long:email", "too-many-items:options")
    for label in labels:
        assert label in messages, messages[:3000]

"""The scale benchmark's synthetic descriptions (benchmarks/synthetic.py) are sound: they
are deterministic, load into the target model with the intended shape, and the suite
passes a clean reference server serving one (so a failure in the benchmark's scale runs
is the suite's or the server's, not the generator's)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import jsonschema

from conformance.fuzz.judge import judge_body
from conformance.fuzz.operations import operations
from conformance.model import load_model

ROOT = Path(__file__).resolve().parent.parent


def _load_synthetic():
    spec = importlib.util.spec_from_file_location("bench_synthetic", ROOT / "benchmarks" / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


synthetic = _load_synthetic()


def test_generator_is_deterministic(tmp_path):
    assert synthetic.description(40) == synthetic.description(40)
    first = synthetic.write(40, tmp_path / "a").read_bytes()
    second = synthetic.write(40, tmp_path / "b").read_bytes()
    assert first == second
    assert synthetic.dump(4) != synthetic.dump(8)


def _shape(resources):
    """Per resource: parent or not, and the kinds and enum sets of its writable fields."""
    return Counter(
        (
            r.parent is not None,
            tuple(
                sorted((f.kind, f.enum_set, f.min_version, f.nullable) for f in r.fields.values() if not f.read_only)
            ),
        )
        for r in resources
    )


def test_synthetic_description_loads_into_the_model(tmp_path):
    model = load_model(str(synthetic.write(4, tmp_path)))
    by_name = {r.name: r for r in model.resources}
    assert sorted(by_name) == sorted(synthetic.resource_names(4))
    assert model.versions == [1, 2]
    top, first, second, last = (by_name[n] for n in synthetic.resource_names(4))
    assert top.parent is None and last.parent is None
    assert first.parent is top and second.parent is top
    assert first.parent_param == f"{top.name}_id" and first.with_role("parent_id").name == first.parent_param
    for r in model.resources:
        assert r.limit_param == "limit" and r.limit_max and r.limit_default <= r.limit_max
        assert {"created", "updated", "id"} <= {f.role for f in r.fields.values()}
        times = {f.name for f in r.fields.values() if f.kind == "time"}
        assert all(f"{t}_epoch" in r.fields for t in times)
    assert {f.enum_set for r in model.resources for f in r.fields.values()} >= {
        "subscriber_status",
        "custom_field_type",
        "winner_metric",
    }
    kinds = {f.kind for r in model.resources for f in r.fields.values() if not f.read_only}
    assert kinds == {"time", "date", "enum", "other"}
    assert any(f.min_version == 2 for r in model.resources for f in r.fields.values())
    assert len(operations(model)) == synthetic.operation_count(4)
    # Every multiple of four has the same mix per resource: what the scale benchmark compares.
    big = load_model(str(synthetic.write(40, tmp_path)))
    assert _shape(big.resources) == Counter({k: 10 * v for k, v in _shape(model.resources).items()})


def test_suite_passes_a_clean_reference_server_serving_it(tmp_path, certify):
    path = str(synthetic.write(4, tmp_path / "description"))
    run = certify(args=("--profile", "smoke", "--openapi", path), server_kw={"description": path})
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.code == 0, run.stdout[-4000:]
    assert run.failing() == set()
    assert run.record["summary"]["tests"] > 100
    assert run.record["run"]["openapi"]["source"].endswith("synthetic-4.yaml")


def test_integral_float_in_an_integer_field_is_not_demanded_refused(tmp_path):
    model = load_model(str(synthetic.write(4, tmp_path, integers=True)))
    resource = next(r for r in model.resources if "priority" in r.fields)
    body = {"name": "x", "contact": "@", "priority": 1.0}
    assert jsonschema.Draft202012Validator(resource.write_schema_for(2)).is_valid(body)
    verdict = judge_body(resource, 2, json.dumps(body).encode())
    assert verdict is not None and not verdict.refusal  # accepted or refused both conform; never 5xx
    fractional = judge_body(resource, 2, json.dumps({**body, "priority": 1.5}).encode())
    assert fractional is not None and fractional.refusal and fractional.clause == "STATUS-3"

"""Path parameters the client does not choose (``/environments/{environment}/lists/{id}``): a tenant or an
environment segment in front of every path. ``--path-param NAME=VALUE`` gives its value; without it the
description cannot be read as item paths, and the suite says which option fixes that."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conformance.model import DescriptionError, load_model
from conformance.run.config import ConfigError, resolve
from conformance.spec import facts

PREFIX = "/environments/{environment}"
ENVIRONMENT = {"name": "environment", "in": "path", "required": True, "schema": {"type": "string"}}


@pytest.fixture
def prefixed(tmp_path: Path) -> Path:
    """The bundled description with every path under ``/environments/{environment}`` (its $refs beside it)."""
    source = facts.reference_openapi_path()
    for schema in source.parent.glob("*.json"):
        shutil.copy(schema, tmp_path / schema.name)
    doc = yaml.safe_load(source.read_text())
    paths = {}
    for path, item in doc["paths"].items():
        item["parameters"] = [ENVIRONMENT, *item.get("parameters", [])]
        paths[PREFIX + path] = item
    doc["paths"] = paths
    out = tmp_path / "openapi.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def test_a_prefix_parameter_needs_its_value(prefixed: Path) -> None:
    with pytest.raises(DescriptionError, match=r"--path-param environment=VALUE"):
        load_model(str(prefixed))
    model = load_model(str(prefixed), path_params={"environment": "sandbox"})
    lists = model.resource("mailing_lists")
    assert lists.item_path == "/environments/sandbox/mailing_lists/{id}"
    assert lists.described_path == PREFIX + "/mailing_lists/{id}"
    assert lists.collection_path == "/environments/sandbox/mailing_lists"
    assert model.resource("subscribers").parent is lists
    with pytest.raises(DescriptionError, match=r"--path-param tenant: no described path has a \{tenant\}"):
        load_model(str(prefixed), path_params={"environment": "sandbox", "tenant": "t1"})


@pytest.mark.parametrize("entry", ["environment", "=sandbox", "environment=", "environment=a/b"])
def test_a_malformed_path_param_is_a_usage_error(entry: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--path-param"):
        resolve({"path_param": [entry]}, environ={}, cwd=tmp_path)


def test_path_params_from_the_environment(tmp_path: Path) -> None:
    settings = resolve({}, environ={"CONFORMANCE_PATH_PARAM": "environment=sandbox,region=eu"}, cwd=tmp_path)
    assert settings.path_params == {"environment": "sandbox", "region": "eu"}


def test_a_target_under_an_environment_segment_is_certified(certify, reference_server, prefixed: Path) -> None:
    """Every test, fuzzing included, addresses the objects under the given segment; the server answers only
    that one (any other environment is a path the API does not have)."""
    server = reference_server(description=str(prefixed), path_params={"environment": "sandbox"})
    run = certify(server=server, args=("--openapi", str(prefixed), "--profile", "smoke"))
    assert run.code == 2 and "--path-param environment=VALUE" in run.stderr
    args = ("--openapi", str(prefixed), "--profile", "smoke", "--path-param", "environment=sandbox")
    run = certify(server=server, args=args)
    assert run.code == 0, run.stdout[-3000:]
    assert run.failing() == set()
    fuzz = [t for t in run.record["tests"] if "fuzz" in t["nodeid"]]
    assert fuzz and {t["outcome"] for t in fuzz} <= {"passed", "skipped"}  # negative item reads: nothing to mutate
    assert sum(t["outcome"] == "passed" for t in fuzz) >= 10

"""The target model: the bundled and the alternative description load into the
expected resources, and broken descriptions fail with a located DescriptionError."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from conformance.model import DescriptionError, TargetModel, load_model
from conformance.reference.server import start_server
from conformance.spec import facts
from conformance.suite._support.target import Ids, shaped_id

FIXTURES = Path(__file__).parent / "fixtures"
ALT = FIXTURES / "alt-openapi.yaml"


@pytest.fixture(scope="module")
def reference() -> TargetModel:
    return load_model(str(facts.reference_openapi_path()))


@pytest.fixture(scope="module")
def alt() -> TargetModel:
    return load_model(str(ALT))


def _summary(model: TargetModel) -> dict[str, tuple]:
    return {
        r.name: (
            r.item_path,
            r.id_param,
            r.parent.name if r.parent else None,
            r.parent_param,
            r.collection_path,
            r.limit_max,
            r.limit_default,
        )
        for r in model.resources
    }


def test_reference_resources_parents_and_limits(reference: TargetModel) -> None:
    assert _summary(reference) == {
        "mailing_lists": ("/mailing_lists/{id}", "id", None, None, "/mailing_lists", 100, 25),
        "campaigns": ("/campaigns/{id}", "id", None, None, "/campaigns", 100, 25),
        "subscribers": (
            "/mailing_lists/{list_id}/subscribers/{id}",
            "id",
            "mailing_lists",
            "list_id",
            "/mailing_lists/{list_id}/subscribers",
            100,
            25,
        ),
        "custom_fields": (
            "/mailing_lists/{list_id}/custom_fields/{id}",
            "id",
            "mailing_lists",
            "list_id",
            "/mailing_lists/{list_id}/custom_fields",
            100,
            25,
        ),
    }
    assert reference.versions == [1, 2] and reference.latest_version == 2
    assert all(r.methods == {"GET", "PUT", "POST", "DELETE"} for r in reference.resources)
    assert reference.resource("subscribers").id_schema["pattern"] == "^[A-Za-z0-9_-]{1,64}$"
    assert [r.name for r in reference.resource("subscribers").chain()] == ["mailing_lists", "subscribers"]


def test_reference_fields(reference: TargetModel) -> None:
    def fields(name: str) -> dict[str, tuple]:
        return {
            f.name: (f.kind, f.required, f.read_only, f.nullable, f.enum_set, f.min_version, f.role)
            for f in reference.resource(name).fields.values()
        }

    server = {
        "id": ("other", False, True, False, None, 1, "id"),
        "created_at": ("time", False, True, False, None, 1, "created"),
        "created_at_epoch": ("other", False, True, False, None, 1, "epoch"),
        "updated_at": ("time", False, True, False, None, 1, "updated"),
        "updated_at_epoch": ("other", False, True, False, None, 1, "epoch"),
    }
    assert fields("mailing_lists") == {**server, "name": ("other", True, False, False, None, 1, None)}
    assert fields("subscribers") == {
        **server,
        "list_id": ("other", False, True, False, None, 1, "parent_id"),
        "email": ("other", True, False, False, None, 1, None),
        "status": ("enum", False, False, False, "subscriber_status", 1, None),
        "subscribed_at": ("time", False, False, True, None, 1, None),
        "subscribed_at_epoch": ("other", False, True, True, None, 1, "epoch"),
    }
    campaign = fields("campaigns")
    assert campaign["send_on"] == ("date", False, False, True, None, 1, None)
    assert campaign["starts_at"] == ("time", False, False, True, None, 1, None)
    assert campaign["winner_metric"] == ("enum", False, False, True, "winner_metric", 2, None)
    assert reference.resource("campaigns").fields["winner_metric"].enum_clause == "ENUM-3"
    assert fields("custom_fields")["field_type"] == ("enum", True, False, False, "custom_field_type", 1, None)
    assert reference.resource("subscribers").fields["status"].default() == "active"
    assert reference.resource("custom_fields").fields["options"].default() == []


def test_reference_write_schemas_are_self_contained_and_versioned(reference: TargetModel) -> None:
    for r in reference.resources:
        assert "$ref" not in json.dumps(r.write_schema)
        assert set(r.write_schema["properties"]) == {f.name for f in r.fields.values() if not f.read_only}
        jsonschema.Draft202012Validator.check_schema(r.write_schema)
    campaigns = reference.resource("campaigns")
    assert "winner_metric" not in campaigns.write_schema_for(1)["properties"]
    assert "winner_metric" in campaigns.write_schema_for(2)["properties"]
    fields = jsonschema.Draft202012Validator(reference.resource("custom_fields").write_schema)
    assert fields.is_valid({"name": "n", "field_type": "text"})
    assert fields.is_valid({"name": "n", "field_type": "select_single_radio", "options": ["a"]})
    assert not fields.is_valid({"name": "n", "field_type": "select_single_radio"})
    assert not fields.is_valid({"name": "n", "field_type": "select_multiple_checkboxes", "options": []})
    assert not fields.is_valid({"name": "n", "field_type": "number", "options": ["a"]})
    names = jsonschema.Draft202012Validator(reference.resource("mailing_lists").write_schema)
    assert names.is_valid({"name": "x"}) and not names.is_valid({"name": "  "})


def test_sha256_and_source(reference: TargetModel) -> None:
    raw = facts.reference_openapi_path().read_bytes()
    assert reference.sha256 == hashlib.sha256(raw).hexdigest()
    assert reference.source == str(facts.reference_openapi_path())


def test_alternative_description_loads_with_its_own_names(alt: TargetModel) -> None:
    assert _summary(alt) == {
        "lists": ("/lists/{id}", "id", None, None, "/lists", 50, 10),
        "ab_tests": ("/ab_tests/{test_id}", "test_id", None, None, "/ab_tests", 200, None),
        "contacts": ("/lists/{list_id}/contacts/{id}", "id", "lists", "list_id", "/lists/{list_id}/contacts", 50, 10),
    }
    assert alt.versions == [1, 2, 3]
    contacts, tests = alt.resource("contacts"), alt.resource("ab_tests")
    assert contacts.with_role("created").name == "inserted_at"
    assert contacts.with_role("updated").name == "modified_at"
    assert tests.with_role("id").name == "test_id"
    state = contacts.fields["state"]
    assert (state.kind, state.enum_set, state.enum_clause) == ("enum", "subscriber_status", "ENUM-1")
    # x-spec-enum alone: the set is written into the write schema so valid bodies can be generated
    assert set(contacts.write_schema["properties"]["state"]["enum"]) == facts.enum_sets()["subscriber_status"][0]
    metric = tests.fields["metric"]  # an `enum` equal to the winner-metric set, OpenAPI 3.0 nullable
    assert (metric.kind, metric.enum_set, metric.nullable, metric.min_version) == ("enum", "winner_metric", True, 2)
    assert (tests.fields["launch_on"].kind, tests.fields["begins_at"].kind) == ("date", "time")
    assert tests.fields["begins_at"].min_version == 3
    assert [f.name for f in tests.writable(1)] == ["title", "launch_on"]
    assert [f.name for f in tests.writable(3)] == ["title", "metric", "launch_on", "begins_at"]
    validator = jsonschema.Draft202012Validator(contacts.write_schema)
    assert validator.is_valid({"address": "a@b", "joined_at": None, "birthday_on": None})
    assert not validator.is_valid({"address": "a@b", "state": "gone"})
    assert jsonschema.Draft202012Validator(tests.write_schema).is_valid({"title": "t", "metric": None})


def test_load_by_url_resolves_relative_refs_over_https() -> None:
    with start_server() as server:
        by_url = load_model(server.description_url, timeout=5, verify=server.ca_bundle)
    by_file = load_model(str(facts.reference_openapi_path()))
    assert _summary(by_url) == _summary(by_file)
    assert by_url.sha256 == by_file.sha256
    assert by_url.resource("campaigns").write_schema == by_file.resource("campaigns").write_schema


def _write(tmp_path: Path, text: str, name: str = "api.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


MINIMAL = """\
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /things/{id}:
    get:
      responses:
        "200":
          content:
            application/json:
              schema:
                properties:
                  data: {properties: {id: {type: string, readOnly: true}, name: {type: string}}}
    put:
      requestBody:
        content:
          application/json:
            schema: {properties: {name: {type: string}}, required: [name]}
"""


def test_minimal_description_defaults(tmp_path: Path) -> None:
    model = load_model(_write(tmp_path, MINIMAL))
    things = model.resource("things")
    assert model.versions == [1]
    assert things.methods == {"GET", "PUT"} and things.collection_path is None and things.limit_max is None
    assert things.fields["name"].required and things.fields["id"].role == "id"


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("openapi: 3.1.0\npaths:\n  /a: [unclosed\n", "api.yaml", "api.yaml:4: not valid YAML"),
        ('{"openapi": "3.1.0",\n "paths": {,}}', "api.json", "api.json:2: not valid JSON"),
        ("swagger: '2.0'\npaths: {}\n", "api.yaml", "only OpenAPI 3.x"),
        ("- a list\n", "api.yaml", "the top level is not a mapping"),
        ("openapi: 3.1.0\npaths: {}\n", "api.yaml", "has no paths"),
        ("openapi: 3.1.0\npaths:\n  /things:\n    get: {responses: {}}\n", "api.yaml", "no item paths"),
        (MINIMAL + "x-spec-versions: [0]\n", "api.yaml", "x-spec-versions must be"),
        (
            MINIMAL.replace("{type: string}}, required", "{$ref: 'missing.json'}}, required"),
            "api.yaml",
            "paths./things/{id}.put: $ref target",
        ),
        (
            MINIMAL.replace("{type: string}}, required", "{$ref: '#/nowhere'}}, required"),
            "api.yaml",
            "'#/nowhere' points at nothing",
        ),
        (
            MINIMAL.replace("name: {type: string}}}", "name: {type: string, x-spec-enum: colours}}}"),
            "api.yaml",
            "x-spec-enum 'colours'",
        ),
        (
            MINIMAL.replace("/things/{id}", "/shelves/{shelf}/things/{id}"),
            "api.yaml",
            "its parent path /shelves/{shelf} is not an item path",
        ),
        (
            MINIMAL.replace("data: {properties", "other: {properties"),
            "api.yaml",
            "paths./things/{id}.get: the 200 response schema has no envelope 'data'",
        ),
        (
            MINIMAL.replace(
                "schema: {properties: {name: {type: string}}, required: [name]}",
                "schema: {$ref: '#/components/schemas/Loop'}",
            )
            + "components: {schemas: {Loop: {properties: {next: {$ref: '#/components/schemas/Loop'}}}}}\n",
            "api.yaml",
            "recursive $ref",
        ),
    ],
    ids=[
        "yaml-syntax",
        "json-syntax",
        "swagger-2",
        "not-a-mapping",
        "no-paths",
        "no-item-paths",
        "bad-versions",
        "missing-ref-file",
        "dangling-pointer",
        "unknown-enum-set",
        "missing-parent",
        "no-envelope",
        "recursive-ref",
    ],
)
def test_bad_descriptions_say_where(tmp_path: Path, text: str, name: str, expected: str) -> None:
    path = _write(tmp_path, text, name)
    with pytest.raises(DescriptionError) as info:
        load_model(path)
    message = str(info.value)
    assert expected in message and message.startswith(path) and "\n" not in message


def test_unreadable_sources(tmp_path: Path) -> None:
    with pytest.raises(DescriptionError, match="cannot read the description"):
        load_model(str(tmp_path / "absent.yaml"))
    with start_server() as server, pytest.raises(DescriptionError, match="answered HTTP 404"):
        load_model(server.description_url.replace("reference-openapi", "absent"), verify=server.ca_bundle)


def _edited_reference(tmp_path: Path, edit) -> Path:
    import shutil

    import yaml

    folder = tmp_path / "edited"
    shutil.copytree(facts.reference_openapi_path().parent, folder)
    path = folder / facts.reference_openapi_path().name
    doc = yaml.safe_load(path.read_text())
    edit(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_descriptions_a_vendor_may_write(tmp_path: Path) -> None:
    """Legal shapes the model must read: an item GET whose data is an array holding the object (ENV-2), two
    resources of one name under different parents, versions declared only by an X-Version header's enum."""

    def edit(doc: dict) -> None:
        paths = doc["paths"]
        for suffix in ("/{id}", ""):
            paths[f"/campaigns/{{list_id}}/subscribers{suffix}"] = paths[
                f"/mailing_lists/{{list_id}}/subscribers{suffix}"
            ]
        envelope = doc["components"]["schemas"]["CampaignEnvelope"]["allOf"][1]["properties"]
        envelope["data"] = {"type": "array", "items": envelope["data"]}
        doc.pop("x-spec-versions", None)

    model = load_model(str(_edited_reference(tmp_path, edit)))
    names = sorted(r.name for r in model.resources)
    assert "campaigns.subscribers" in names and "mailing_lists.subscribers" in names, names
    assert "starts_at" in model.resource("campaigns").fields
    assert model.versions == [1, 2]


@pytest.mark.parametrize(
    "schema",
    [
        {"pattern": "^lst_[a-z0-9]{12}$"},
        {"pattern": "^id_[a-z0-9]{1,60}$"},
        {"pattern": "^cus\\_[A-Za-z0-9]{14}$"},
        {"pattern": "^id-[0-9]{10}$"},
        {"minLength": 24},
        {"maxLength": 10},
        {"pattern": "^[A-Za-z0-9_-]{1,64}$"},
    ],
)
def test_an_id_takes_the_declared_shape_and_stays_unique(schema):
    """Ambiguity 22: a kind prefix, a fixed length, a minimum or a maximum length; each id fits and differs."""
    ids = Ids("cft1a2b3c", "w1")
    made = [shaped_id(ids.new(), schema) for _ in range(200)]
    validator = jsonschema.Draft202012Validator({"type": "string", **schema})
    assert [m for m in made if not validator.is_valid(m)] == []
    assert len(set(made)) == len(made)


def test_an_id_shape_the_suite_cannot_meet_keeps_the_run_s_id():
    """The write's refusal then says why (a precondition fails); the suite never invents an id outside its own."""
    ids = Ids("cft1a2b3c")
    run_id = ids.new()
    assert shaped_id(run_id, {"pattern": "^[A-Z]{2}-\\d{6}$"}) == run_id

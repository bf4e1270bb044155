"""The clause catalogue is the single source: every clause has a test, every test
names known clauses, and the shipped tests are generic (no reference-API names)."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import conformance.suite
from conformance.checks import CHECKS
from conformance.spec import catalogue

SUITE = Path(conformance.suite.__file__).parent
PACKAGE = SUITE.parent
CLAUSE_MARKER = re.compile(r"^[A-Z]+_[0-9]+$")
REFERENCE_NAMES = (
    "mailing_list",
    "subscribers",
    "campaigns",
    "custom_field",
    "email",
    "list_id",
    "send_on",
    "starts_at",
    "subscribed_at",
    "field_type",
)


def _suite_markers() -> dict[str, set[str]]:
    """test function -> the clause markers it carries."""
    out: dict[str, set[str]] = {}
    for info in pkgutil.iter_modules([str(SUITE)]):
        if not info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"conformance.suite.{info.name}")
        for name, fn in vars(module).items():
            if name.startswith("test_") and callable(fn):
                marks = {m.name for m in [*getattr(fn, "pytestmark", []), *getattr(module, "pytestmark", [])]}
                out[f"{info.name}::{name}"] = {m for m in marks if CLAUSE_MARKER.match(m)}
    return out


def test_catalogue_matches_spec_ids():
    spec_md = PACKAGE.parent.parent / "shared" / "SPEC.md"
    cat = catalogue.load()
    assert len(cat) == 40
    if spec_md.exists():
        in_spec = set(re.findall(r"\*\*([A-Z]+-[0-9]+) (?:MUST|SHOULD)\*\*", spec_md.read_text()))
        assert in_spec == {c.id for c in cat}
        for c in cat:
            assert f"**{c.id} {c.level}**" in spec_md.read_text(), c.id


def test_every_clause_has_a_test():
    marked = {catalogue.clause_id_from_marker(m) for marks in _suite_markers().values() for m in marks}
    missing = [c.id for c in catalogue.load() if c.id not in marked]
    assert not missing, f"clauses with no test: {missing}"


def test_every_test_names_known_clauses():
    for test, marks in _suite_markers().items():
        assert marks, f"{test} carries no clause marker"
        for m in marks:
            assert catalogue.clause_id_from_marker(m), f"{test} names unknown clause marker {m}"


def test_checks_name_known_clauses():
    for check in CHECKS:
        assert check.clause in catalogue.load(), check


def test_shipped_tests_and_checks_are_generic():
    """Nothing the suite ships to judge a target names a resource or field of the reference API."""
    judged = [
        *SUITE.rglob("*.py"),
        *(PACKAGE / "checks").glob("*.py"),
        *(PACKAGE / "fuzz").glob("*.py"),
        *(PACKAGE / n for n in ("model/strategies.py", "run/plugin.py", "http/client.py")),
    ]
    for path in judged:
        text = path.read_text()
        for name in REFERENCE_NAMES:  # as a whole word: `_send_once` does not name `send_on`
            assert not re.search(rf"\b{re.escape(name)}\b", text), f"{path.name} names the reference API's {name!r}"


def test_clause_selection_by_id_group_and_glob():
    cat = catalogue.load()
    assert [c.id for c in cat.select(["ENV-1"])] == ["ENV-1"]
    assert {c.id for c in cat.select(["TIME-*"])} == {f"TIME-{i}" for i in range(1, 6)}
    assert {c.id for c in cat.select(["auth"])} == {f"AUTH-{i}" for i in range(1, 5)}


def test_fault_table_lists_every_fault_and_variant():
    """The fault table (docs/FAULTS.md, linked from the README) is for reviewers; it must not drift from the
    catalogue."""
    from conformance.reference.faults import FAULTS, VARIANTS

    table = (PACKAGE.parent / "docs" / "FAULTS.md").read_text()
    missing = [n for n in [*FAULTS, *VARIANTS] if f"| `{n}` |" not in table]
    assert missing == [], f"add these to docs/FAULTS.md's table: {missing}"


def test_published_catalogue_names_a_decider_for_every_clause_and_is_current():
    from conformance.spec.catalogue_doc import deciders, markdown

    found = deciders()
    assert [c.id for c in catalogue.load() if not found.get(c.id)] == []
    published = PACKAGE.parent / "docs" / "CATALOGUE.md"
    assert published.read_text() == markdown(), "regenerate: conformance clauses --markdown > docs/CATALOGUE.md"

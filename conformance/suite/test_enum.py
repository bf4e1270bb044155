"""ENUM-1..4: enumerated fields take exactly the spec's value sets.

Which fields are enumerations comes from the target description (an ``enum``
equal to a spec set, or ``x-spec-enum``); response values, the values read back
here included, are judged on every response by the check layer, which files what
it finds (:mod:`conformance.checks.enums`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conformance.model import Field, Resource, declared_enum
from conformance.model.invalid import OUT_OF_ENUM
from conformance.model.strategies import full_body
from conformance.spec import facts
from conformance.suite._support.asserts import assert_error, assert_ok, assert_written, diff_states, writable_state
from conformance.suite._support.target import NoAcceptedBody, Target
from conformance.verdicts.violation import expect


def _accepts_every_value(target, enum_field, clause):
    resource, field = enum_field
    version = max(target.version_for(resource), field.min_version)
    values, _ = facts.enum_sets()[field.enum_set]
    accepted = []
    declared = declared_enum(field.schema)
    for value in sorted(values):
        if declared is not None and value not in declared:
            continue  # the description's own enum leaves it out: nothing to ask of the target
        path, _ = target.fresh_path(resource, version, target.shared_parents(resource, version))
        # the first body with this value the target does not refuse by its own rules (SPEC ambiguity 15): a
        # select type may need options the description does not ask for. A value refused in every body is the
        # vendor's rule too ("only the system sets bounced"): a description gap, not a finding
        try:
            _, written = target.accepted_body(resource, path, version=version, **{field.name: value})
        except NoAcceptedBody:
            continue
        assert_written(written, clause, f"write of {field.name}={value!r}")
        accepted.append(value)
        got = target.get(resource, path, version=version)
        stored = assert_ok(got, clause, "GET after the write")
        expect(
            stored.get(field.name) == value,
            clause,
            f"{field.name} written {value!r}, read {stored.get(field.name)!r}",
            got,
        )
    if not accepted:
        raise NoAcceptedBody(f"the target refused every {field.name} value of the set in every body the suite tried")


def _set_values_test(clause: str) -> Callable[[Target, tuple[Resource, Field]], None]:
    """The test, marked with ``clause``, that every value of its set is accepted and read back."""

    def test(target: Target, enum_field: tuple[Resource, Field]) -> None:
        _accepts_every_value(target, enum_field, clause)

    marked: Callable[[Target, tuple[Resource, Field]], None] = getattr(pytest.mark, clause.replace("-", "_"))(test)
    return marked


test_enum1_set_values = _set_values_test("ENUM-1")
test_enum2_set_values = _set_values_test("ENUM-2")
test_enum3_set_values = _set_values_test("ENUM-3")


# Names real mail APIs and the seeds' own descriptions give the spec's values (seed 003: "has unsubscribed",
# "spam complaint", "a bounce event", "deactivated by a user"; its run-together row "number date", Ambiguity 3).
SYNONYMS = {  # by the clause of the set
    "ENUM-1": ("subscribed", "unsubscribe", "spam_complaint", "complaint", "bounce", "inactive", "pending"),
    "ENUM-2": ("string", "textarea", "integer", "bool", "dropdown", "radio", "checkboxes", "number date"),
    "ENUM-3": ("unique_opens", "unique_clicks", "total_opens", "total_clicks", "ctor", "open_rate"),
}


def near_values(enum_set: str, value: str) -> dict[str, str]:
    """Values a step away from the set, around ``value`` (a member): what a comparison that folds case, strips
    whitespace or maps synonyms would take; none is in the set, so each must be refused (ENUM-4)."""
    sets = facts.enum_sets()
    members = sets[enum_set][0]
    others = sorted(v for name, (vals, _) in sets.items() if name != enum_set for v in vals)
    out = {
        f"{value!r} in upper case": value.upper(),
        f"{value!r} capitalized": value.capitalize(),
        f"{value!r} with a leading space": f" {value}",
        f"{value!r} with a trailing space": f"{value} ",
        f"{value!r} with a trailing newline": f"{value}\n",
        f"{value!r} with hyphens": value.replace("_", "-"),
        f"{value!r} with spaces": value.replace("_", " "),
        "another enumeration's value": others[len(value) % len(others)],
    }
    for synonym in SYNONYMS.get(sets[enum_set][1], ()):
        out[f"the synonym {synonym!r}"] = synonym
    return {label: bad for label, bad in out.items() if bad not in members}


@pytest.mark.ENUM_4
def test_out_of_set_value_is_refused(target, enum_field):
    resource, field = enum_field
    version = max(target.version_for(resource), field.min_version)
    obj = target.create(resource, version=version, full=True)
    body = obj.body
    before = writable_state(
        resource, version, assert_ok(target.get(resource, obj.path, version=version), "ENUM-4", "GET before")
    )
    probes = {"a value outside the set": OUT_OF_ENUM, "it in upper case": OUT_OF_ENUM.upper()}
    if isinstance(body.get(field.name), str):
        probes |= near_values(field.enum_set, body[field.name])
    # The refused writes change the other fields too: a server that saves them before it checks the enumeration
    # (field by field, or all but the refused one) shows in the stored object, which must stay as it was.
    others = _other_values(resource, version, body, field)
    changed = ", ".join(sorted(k for k in others if k != field.name and others[k] != body.get(k))) or "nothing else"
    for label, bad in probes.items():
        ex = target.write(resource, obj.path, {**others, field.name: bad}, version=version)
        assert_error(ex, "ENUM-4", 403, "validation_failed", f"{field.name}={bad!r} ({label}; changing {changed})")
    after = target.get(resource, obj.path, version=version)
    now = writable_state(resource, version, assert_ok(after, "ENUM-4", "GET after"))
    expect(
        now == before,
        "ENUM-4",
        "a refused out-of-set write changed the stored object: " + "; ".join(diff_states(before, now)),
        after,
    )


def _other_values(resource: Resource, version: int, body: dict[str, Any], field: Field) -> dict[str, Any]:
    """A body like ``body`` (every field set) whose other fields hold other values where the description offers
    any: fresh words for free text (the enumerated field is then set to the value under test)."""
    other = full_body(resource, version)
    if not any(other.get(k) != v for k, v in body.items() if k != field.name):
        return body
    return other

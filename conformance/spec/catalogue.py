"""The clause catalogue, read from ``clauses.toml``: the product's vocabulary.

Everything that names a clause (markers, ``--clause``, verdicts, reports, the
project's self-checks) goes through here, so an ID exists in exactly one place.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

LEVELS = ("MUST", "SHOULD")


@dataclass(frozen=True)
class Clause:
    id: str
    level: str
    group: str
    title: str
    seed: str
    requirement: str = ""  # the clause's text in SPEC.md, in full (Markdown)
    ambiguities: tuple[int, ...] = ()  # numbers of the spec's "Ambiguities resolved" that bear on it
    readings: tuple[str, ...] = ()  # how the suite judges it, where the text leaves a choice

    @property
    def marker(self) -> str:
        """The pytest marker name for this clause (``ENV-1`` -> ``ENV_1``)."""
        return marker_name(self.id)


@dataclass(frozen=True)
class Ambiguity:
    """One of the spec's "Ambiguities resolved": its number, a short title and its text (Markdown)."""

    number: int
    title: str
    text: str


@dataclass(frozen=True)
class Term:
    name: str
    text: str


@dataclass(frozen=True)
class Catalogue:
    spec_revision: str
    groups: dict[str, str]
    clauses: tuple[Clause, ...]
    terms: tuple[Term, ...] = ()
    group_notes: dict[str, str] = field(default_factory=dict)  # the spec's notes that hold for a whole group
    ambiguities: tuple[Ambiguity, ...] = ()
    reference_api: str = ""  # the spec's description of the bundled reference API (Markdown)

    def __iter__(self):
        return iter(self.clauses)

    def __len__(self) -> int:
        return len(self.clauses)

    def __contains__(self, clause_id: object) -> bool:
        return clause_id in self.by_id

    @property
    def by_id(self) -> dict[str, Clause]:
        return {c.id: c for c in self.clauses}

    def get(self, clause_id: str) -> Clause:
        return self.by_id[clause_id]

    def select(self, patterns: list[str]) -> list[Clause]:
        """Clauses matching any of ``patterns``: an ID, a group name or a glob.

        Raises ``KeyError`` naming the first pattern that matches nothing.
        """
        chosen: dict[str, Clause] = {}
        for raw in patterns:
            pattern = raw.strip().upper()
            hits = [
                c for c in self.clauses if c.id == pattern or c.group == pattern or fnmatch.fnmatchcase(c.id, pattern)
            ]
            if not hits:
                raise KeyError(raw)
            chosen.update((c.id, c) for c in hits)
        return [c for c in self.clauses if c.id in chosen]


def marker_name(clause_id: str) -> str:
    return clause_id.replace("-", "_")


def clause_id_from_marker(name: str) -> str | None:
    """``ENV_1`` -> ``ENV-1`` if that is a catalogue clause, else None."""
    candidate = name.replace("_", "-")
    return candidate if candidate in load() else None


@cache
def load() -> Catalogue:
    text = resources.files("conformance.spec").joinpath("clauses.toml").read_text("utf-8")
    data = tomllib.loads(text)
    ambiguities = tuple(Ambiguity(a["number"], a["title"], a["text"]) for a in data.get("ambiguity", []))
    numbers = {a.number for a in ambiguities}
    clauses = []
    for entry in data["clause"]:
        group = entry["id"].split("-")[0]
        refs = tuple(entry.get("ambiguities", ()))
        if entry["level"] not in LEVELS or group not in data["groups"] or not numbers.issuperset(refs):
            raise ValueError(f"bad catalogue entry {entry!r}")
        clauses.append(
            Clause(
                entry["id"],
                entry["level"],
                group,
                entry["title"],
                entry["seed"],
                entry.get("requirement", "").strip(),
                refs,
                tuple(entry.get("readings", ())),
            )
        )
    notes = dict(data.get("group_notes", {}))
    if not set(notes) <= set(data["groups"]):
        raise ValueError(f"group_notes for unknown groups: {sorted(set(notes) - set(data['groups']))}")
    return Catalogue(
        data["spec_revision"],
        dict(data["groups"]),
        tuple(clauses),
        tuple(Term(t["name"], t["text"]) for t in data.get("term", [])),
        notes,
        ambiguities,
        data.get("reference_api", {}).get("text", "").strip(),
    )

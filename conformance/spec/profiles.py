"""Run budgets. A profile sets how hard the property tests and fuzzing push."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    examples: int  # hypothesis examples per property test
    stateful_steps: int  # steps per run of the stateful model
    fuzz_examples: int  # schemathesis examples per operation
    description: str
    confirm: int = 0  # re-runs of each failing test, to tell deterministic findings from intermittent ones


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("smoke", 4, 6, 5, "seconds; for every push"),
        Profile("standard", 15, 12, 20, "the default; a thorough pass in under a minute locally"),
        Profile("certification", 60, 30, 100, "thorough; what a certificate rests on", confirm=2),
    )
}
DEFAULT_PROFILE = "standard"

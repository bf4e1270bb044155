"""Certified mode: what keeps a run from backing a certificate, whatever its verdicts.

A certificate rests on the whole suite at the certification budget over verified TLS.
Anything that narrows the run (which tests ran), weakens it (smaller budgets, TLS
verification off, plain HTTP) or belongs to another profile is recorded here as a
reason; :func:`conformance.verdicts.certifiability` adds the verdict-based ones.
"""

from __future__ import annotations

from typing import Any

from conformance.run.config import Settings
from conformance.spec.profiles import PROFILES

CERTIFICATION_PROFILE = "certification"


def settings_weakenings(s: Settings) -> list[str]:
    """Reasons that follow from the settings alone."""
    reasons = []
    if s.profile != CERTIFICATION_PROFILE:
        reasons.append(f"profile {s.profile!r}: only `--profile {CERTIFICATION_PROFILE}` runs can certify")
    base = PROFILES.get(s.profile)
    if base is not None:
        for name, given, budget in (
            ("--examples", s.examples, base.examples),
            ("--fuzz-examples", s.fuzz_examples, base.fuzz_examples),
        ):
            if given is not None and given < budget:
                reasons.append(f"budget lowered: {name} {given} (the {s.profile} profile uses {budget})")
    if s.clause:
        reasons.append("narrowed with --clause " + " ".join(s.clause))
    if s.insecure:
        reasons.append("TLS verification was turned off (--insecure)")
    if s.base_url and s.base_url.startswith("http://"):
        reasons.append("plain HTTP was allowed (--allow-http)")
    return reasons


def selection_weakenings(option: Any, args: list[str], whole_suite: bool, deselected: int) -> list[str]:
    """Reasons that follow from how pytest was asked to select and stop tests.

    ``option`` is pytest's ``config.option``; ``args`` the test paths it was given;
    ``whole_suite`` whether those paths cover every clause test; ``deselected`` how
    many collected tests were dropped (by -k, -m, --deselect, --lf or any plugin).
    """
    reasons = []
    if getattr(option, "keyword", ""):
        reasons.append(f"narrowed with -k {option.keyword!r}")
    if getattr(option, "markexpr", ""):
        reasons.append(f"narrowed with -m {option.markexpr!r}")
    if getattr(option, "deselect", None):
        reasons.append("narrowed with --deselect " + " ".join(option.deselect))
    if getattr(option, "lf", False):
        reasons.append("narrowed with --lf (only the last run's failures)")
    if getattr(option, "maxfail", 0):
        reasons.append(f"stopped early with -x/--maxfail {option.maxfail}")
    if not whole_suite:
        reasons.append("only part of the suite was collected: " + " ".join(args))
    if deselected and not any(r.startswith("narrowed with -") for r in reasons):
        reasons.append(f"{deselected} tests were deselected")
    return reasons

"""The end of a run: the record built from every test's result (verdicts, certifiability, the run's identity)
and the reports written from it."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__
from conformance.checks import times
from conformance.http.exchange import Finding
from conformance.model import TargetModel
from conformance.run.config import OPTIONS, Settings, connections_per_worker
from conformance.run.options import TERMINAL_DEFAULTS
from conformance.run.state import GAPS_CAP, PACKAGE_DIR, SUITE_DIR, RunState
from conformance.verdicts.certifiability import selection_weakenings, settings_weakenings
from conformance.verdicts.decide import ClauseVerdict, RunRecord, TestRecord, certifiability, decide, exit_code

EXIT_UNREACHABLE = 3

EXIT_INTERRUPTED = 130


def description_findings(model: TargetModel) -> list[Finding]:
    """What the description itself shows before anything is sent: an ``enum`` that is a spec set plus vendor
    values (SPEC ambiguity 20) violates that set's ENUM clause; a response carrying an extra value confirms it
    (the check layer judges every response against the spec's set)."""
    out = []
    for resource in model.resources:
        for f in resource.fields.values():
            if f.enum_extras and f.enum_clause:
                extras = ", ".join(repr(v) for v in f.enum_extras)
                out.append(
                    Finding(
                        f.enum_clause,
                        f"the description's {resource.name}.{f.name} enumerates the spec's {f.enum_set} values and "
                        f"{extras}: values outside the spec's set",
                        None,
                        f"description::{resource.name}.{f.name}",
                        {"extra_values": list(f.enum_extras)},
                    )
                )
    return out


def write_unreachable(s: Settings, model: TargetModel, reason: str) -> dict[str, Path]:
    """The reports of a run stopped before any test (all clauses ``error``; ``reason`` says why, e.g. "target
    unreachable: ..."), ``report.html`` included; returns their paths."""
    state = RunState(None, s, model)
    state.record = build_record(state, stopped=reason)
    write_reports(state)
    state.paths["html"] = write_page(state)
    return state.paths


def write_page(state: RunState) -> Path:
    """``report.html`` without pytest-html (a run that never started pytest): the same conformance block."""
    from conformance.report import certification
    from conformance.report.html import render_block
    from conformance.report.html_redact import redact_report

    assert state.record is not None
    data = certification.to_json(state.record, state.redactor)
    path = Path(state.settings.report_dir) / "report.html"
    title = f"Conformance report: {data['run'].get('target') or 'unknown target'}"
    page = (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
        f"<body>{render_block(data)}</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    redact_report(path, state.redactor)
    return path


def _zone_consistency(state: RunState) -> TestRecord | None:
    """TIME-3 across the run when no zone was given: one IANA zone must fit every (instant, offset) the first
    key's responses showed, in every test (each test alone may be consistent: a server can use one zone for
    one resource and another for the next). The zones that fit are recorded as ``run.zone_candidates``."""
    if state.settings.zone is not None:
        return None
    state.zone_candidates = times.candidate_zones(state.observations) if state.observations else []
    if not state.observations:
        return None
    rec = TestRecord("run::time-zone-consistency", [], checked={"TIME-3": len(state.observations)})
    if not state.zone_candidates:
        closest = times.closest_zones(state.observations)
        near = "; ".join(f"{times.name_zones(zones)} fit {fits} of {of}" for zones, fits, of in closest)
        message = f"no single IANA zone fits the {len(state.observations)} (instant, offset) pairs of this run"
        if closest:
            best = closest[0][0][0]
            misses = [pair for pair in sorted(state.observations) if not times.fits(best, *pair)]
            strays = ", ".join(times.describe_pair(*pair) for pair in misses[:6])
            message += f"; closest: {near}; {best} does not fit {len(misses)} of them, e.g. {strays}"
        rec.findings.append(Finding("TIME-3", message, None, rec.nodeid, {"closest_zones": near}))
    return rec


def build_record(state: RunState, stopped: str | None = None) -> RunRecord:
    """The record; ``stopped``: why the run stopped before any test ("target unreachable: ..."), every clause
    then ``error``."""
    s = state.settings
    tests = list(state.tests.values())
    zone_rec = _zone_consistency(state) if stopped is None else None
    if zone_rec is not None:
        tests.append(zone_rec)
    if state.outside_errors:
        tests.append(TestRecord("run::set-up-and-cleanup", [], check_errors=dict(state.outside_errors)))
    selected = s.selected_clauses
    verdicts = decide(state.catalogue, tests, state.run_findings, selected=selected)
    weakenings = [*state.weakenings, *settings_weakenings(s), *_selection_weakenings(state)]
    waived = _apply_waivers(state, verdicts) if not stopped else []
    if stopped:
        for cv in verdicts:
            cv.verdict, cv.reason = "error", stopped
        weakenings.append(stopped)
    elif state.fatal:
        _not_judged(verdicts, state.fatal)
    ok, reasons = certifiability(verdicts, weakenings)
    code = EXIT_UNREACHABLE if stopped else exit_code(verdicts)
    if state.interrupted:
        code = EXIT_INTERRUPTED
    leftover = [item for c in state.cleanups for item in c.get("leftover", [])]
    identity = {
        "target": s.base_url,
        "reference_server": state.server is not None,
        "cannot_test": stopped or state.fatal,
        "suite_version": __version__,
        "spec_revision": state.catalogue.spec_revision,
        "profile": s.profile,
        "seed": state.seed,
        "started_at": datetime.fromtimestamp(state.started, UTC).isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - state.started, 2),
        "openapi": {"source": state.model.source, "sha256": state.model.sha256, "documents": state.documents},
        "org_timezone": s.org_timezone,
        "second_org_timezone": s.second_org_timezone,
        "zone_candidates": state.zone_candidates,
        "description_gaps": sorted(state.gaps.values(), key=lambda g: (g["resource"], g["method"], g["body"]))[
            :GAPS_CAP
        ],
        "id_prefix": state.prefix,
        "throttled": {"retries": len(state.throttled), "sample": state.throttled[:10]},
        "hints": _hints(state),
        "settings": s.public(),
        "pytest_args": state.redactor.obj(passthrough_args(state.config)),
        "workers": _worker_count(state.config),
        "requests": state.requests,
        "rtt_ms": state.rtt_ms,
        "concurrency": {
            "workers": state.workers,
            "connections_per_worker": connections_per_worker(s.max_connections, state.workers),
            "max_connections": s.max_connections,
        },
        "python": sys.version.split()[0],
        "platform": sys.platform,
        "tzdata": times.tzdata_version(),
    }
    return RunRecord(
        identity=identity,
        clauses=verdicts,
        tests=tests,
        certifiable=ok,
        reasons=reasons,
        cleanup={
            "prefix": state.prefix,
            "attempted": sum(c.get("attempted", 0) for c in state.cleanups),
            "deleted": sum(c.get("deleted", 0) for c in state.cleanups),
            "during_run": sum(c.get("during_run", 0) for c in state.cleanups),  # by finished tests, in the background
            "leftover": leftover,
        },
        exit_code=code,
        waivers=waived,
    )


def _not_judged(verdicts: list[ClauseVerdict], fatal: str) -> None:
    """A target that cannot be tested at all (its certificate does not validate): the clauses its tests skipped
    were not judged, which is not ``skip`` (that says "does not apply")."""
    for cv in verdicts:
        if cv.verdict == "skip" or (cv.verdict == "not_verified" and not cv.reason.startswith("not selected")):
            cv.verdict, cv.reason = "not_verified", f"not judged: the target cannot be tested: {fatal}"


def _hints(state: RunState) -> list[str]:
    """What the user most likely has to fix, when the record shows a telltale pattern."""
    hints = []
    sent, refused = state.keyed.get("sent", 0), state.keyed.get("401", 0)
    if sent >= 5 and refused == sent:
        hints.append(
            f"all {sent} requests sent with the API key got 401: check CONFORMANCE_API_KEY "
            "(the organization's key exactly as its page shows it; the suite sends `Authorization: Basic <key>`)"
        )
    return hints


def _apply_waivers(state: RunState, verdicts: list) -> list[dict[str, Any]]:
    if not state.settings.waivers:
        return []
    from conformance.verdicts import waivers

    return waivers.apply(verdicts, waivers.load(state.settings.waivers), datetime.now(UTC).date())


def _selection_weakenings(state: RunState) -> list[str]:
    config = state.config
    option = getattr(config, "option", None)
    args = [str(a) for a in getattr(config, "args", [])]
    if option is None or not hasattr(config, "invocation_params"):
        return []  # the record of a run that never started pytest (target unreachable)
    whole = any(_covers_suite(a, bool(getattr(option, "pyargs", False))) for a in args)
    return selection_weakenings(option, args, whole, state.deselected - state.clause_deselected)


def _covers_suite(arg: str, pyargs: bool) -> bool:
    if "::" in arg:
        return False
    if pyargs and arg in ("conformance", "conformance.suite"):
        return True
    return Path(arg).resolve() in (SUITE_DIR, PACKAGE_DIR)


def write_reports(state: RunState) -> None:
    from conformance.report import write_all

    assert state.record is not None
    state.paths = write_all(state.record, Path(state.settings.report_dir), state.redactor)
    html = getattr(getattr(state.config, "option", None), "htmlpath", None)
    if html:
        state.paths["html"] = Path(html)


def write_bundle(state: RunState) -> None:
    """A certified run's submission bundle; written last, once report.html is final."""
    from conformance.report import certification
    from conformance.report.bundle import BundleError, write_bundle

    assert state.record is not None
    try:
        path = write_bundle(
            Path(state.settings.report_dir), certification.to_json(state.record, state.redactor), state.redactor
        )
    except BundleError as exc:
        print(f"conformance: no bundle.zip: {exc}", file=sys.stderr)
        return
    print(f"conformance: submission bundle {path}")


def _worker_count(config: pytest.Config | None) -> int:
    """The xdist workers that ran the tests (1: this process alone)."""
    return max(1, int(getattr(getattr(config, "option", None), "numprocesses", None) or 1))


def passthrough_args(config: pytest.Config | None) -> list[str]:
    """The pytest options the user added (after ``--``): everything but what ``conformance run`` itself passes
    (its own options, and the quiet terminal's ``--tb=no -rN``, which change nothing but the terminal)."""
    own = {opt.plugin_flag: opt.kind for opt in OPTIONS}
    params = getattr(config, "invocation_params", None)  # absent when the run never reached pytest
    args, out, i = list(params.args if params else ()), [], 0
    while i < len(args):
        arg = str(args[i])
        if arg in ("--pyargs", "conformance.suite") or arg in TERMINAL_DEFAULTS:
            i += 1
        elif arg in ("-c", "-o") and i + 1 < len(args) and (arg == "-c" or str(args[i + 1]).startswith("cache_dir=")):
            i += 2
        elif arg in own:
            i += 1 if own[arg] == "flag" else 2
        else:
            out.append(arg)
            i += 1
    return out

"""The end-of-run terminal summary: the clause matrix in a hundred columns.

It answers "is this server certifiable, and if not, which clauses and why"
without opening a file, then points at the files that hold the evidence.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from conformance.http.redact import Redactor
from conformance.report.certification import scrub_text, to_json
from conformance.spec import catalogue
from conformance.verdicts.certifiability import CERTIFICATION_PROFILE
from conformance.verdicts.decide import RunRecord

MAX_REASONS = 12
MAX_FAILING = 40  # one line per failing clause (at most one per clause of the catalogue)
_CUT = re.compile(r"^(?P<total>\d+) findings; the first \d+ are kept$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_REASON = re.compile(r"^(?P<id>[A-Z]+-\d+) (?P<verdict>fail|error|skip|not_verified|waived)(?:: (?P<why>.*))?$", re.S)
_PHRASE = {"fail": "failed", "error": "in error", "skip": "skipped", "not_verified": "not verified", "waived": "waived"}
_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "warning": "yellow",
    "error": "bold magenta",
    "skip": "dim",
    "not_verified": "dim",
    "waived": "cyan",
}


def verdict_label(clause: Mapping[str, Any]) -> str:
    """The verdict as shown to people: a failed SHOULD reads ``warning``, not ``fail``."""
    verdict = clause["verdict"]
    if verdict == "fail" and clause.get("level") != "MUST":
        return "warning"
    return verdict


def one_line(text: Any) -> str:
    """Whitespace folded and control characters shown as ``\\xNN``, so a hostile message cannot
    repaint the terminal or break a table row."""
    folded = " ".join(str(text or "").split())
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", folded)


def first_note(clause: Mapping[str, Any]) -> str:
    """The first finding, else the reason (why skipped, not verified or in error)."""
    if clause.get("findings"):
        return one_line(clause["findings"][0]["message"])
    return one_line(clause.get("reason"))


def condense_reasons(reasons: list[str]) -> list[str]:
    """``certifiability`` reasons with the per-clause ones grouped by verdict and cause.

    Thirty "not_verified: nothing exercised it" lines say one thing; this says it once
    with the clause IDs.
    """
    grouped: dict[tuple[str, str], list[str]] = {}
    out: list[str] = []
    for reason in reasons:
        m = _REASON.match(reason)
        if not m:
            out.append(one_line(reason))
            continue
        grouped.setdefault((m["verdict"], one_line(m["why"])), []).append(m["id"])
    for (verdict, why), ids in grouped.items():
        line = f"MUST {_PHRASE[verdict]} ({len(ids)}): {', '.join(ids)}"
        out.append(f"{line} — {why}" if why else line)
    return out


def _tables(data: dict[str, Any], width: int) -> list[Text | Table]:
    """One titled table per clause group, with fixed column widths so the groups line up."""
    names = catalogue.load().groups
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in data["clauses"]:
        groups.setdefault(c["group"], []).append(c)
    out: list[Text | Table] = []
    for n, (group, clauses) in enumerate(groups.items()):
        out.append(Text(f"{group} · {names.get(group, '')}", style="bold"))
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold", show_header=n == 0)
        table.add_column("Clause", no_wrap=True, width=9)
        table.add_column("Level", no_wrap=True, width=6)
        table.add_column("Verdict", no_wrap=True, width=12)
        table.add_column("Tests", justify="right", no_wrap=True, width=5)
        table.add_column("First finding / reason", no_wrap=True, overflow="ellipsis", width=max(width - 42, 20))
        for c in clauses:
            label = verdict_label(c)
            table.add_row(
                c["id"], c["level"], Text(label, style=_STYLE.get(label, "")), str(len(c["tests"])), first_note(c)
            )
        out.append(table)
    return out


def _failing(data: dict[str, Any], width: int) -> list[Text]:
    """One line per failed (or warned, or in error) clause: clause, level, verdict, how many findings or tests
    in error, and its first finding or reason, cut to the width (the report holds them all)."""
    out = []
    for c in data["clauses"]:
        label = verdict_label(c)
        if label not in ("fail", "warning", "error"):
            continue
        if label == "error":
            n = max(1, (c.get("counts") or {}).get("error", 0))
            count = f"{n} test{'s' if n != 1 else ''} in error"
        else:
            cut = _CUT.match(c.get("reason") or "")
            n = int(cut["total"]) if cut else len(c.get("findings") or [])
            count = f"{n} finding{'s' if n != 1 else ''}"
        line = f"  {c['id']:<9} {c['level']:<6} {label:<7} {count}: {first_note(c)}"
        if len(line) > width:
            line = line[: width - 1] + "…"
        out.append(Text(line, style=_STYLE.get(label, "")))
    return out


def why_not(data: dict[str, Any]) -> str:
    """Why the run cannot certify, in a few words for the ``Certifiable: NO`` line itself: what failed or was
    not judged, a narrowed run, and a profile that never certifies (the full reasons follow the line)."""
    must = [c for c in data["clauses"] if c["level"] == "MUST"]
    unselected = [c for c in must if c["verdict"] == "not_verified" and _not_selected(c)]
    counts = [
        (sum(1 for c in must if c["verdict"] == "fail"), "failed"),
        (sum(1 for c in must if c["verdict"] == "error"), "in error"),
        (sum(1 for c in must if c["verdict"] in ("skip", "not_verified")) - len(unselected), "not judged"),
    ]
    parts: list[str] = []
    for n, what in counts:
        if n:
            parts.append(f"{n} {what}" if parts else f"{n} MUST clause{'s' if n != 1 else ''} {what}")
    if unselected:
        parts.append("narrowed with --clause")
    found = ", ".join(parts)
    profile = data["run"].get("profile")
    if profile and profile != CERTIFICATION_PROFILE:
        advice = f"{profile} profile: use --profile {CERTIFICATION_PROFILE} to certify"
        return f"{found}; {advice}" if found else advice
    if found:
        return found
    reasons = condense_reasons(data.get("not_certifiable_reasons") or [])
    return reasons[0] if reasons else ""


def _not_selected(clause: Mapping[str, Any]) -> bool:
    return str(clause.get("reason") or "").startswith("not selected")


def _totals(data: dict[str, Any]) -> str:
    counts = dict(data["summary"]["verdicts"])
    warnings = len(data["summary"].get("warnings", []))
    parts = [f"{counts.get('pass', 0)} pass", f"{counts.get('fail', 0) - warnings} fail"]
    parts += [f"{warnings} warning", f"{counts.get('error', 0)} error", f"{counts.get('skip', 0)} skip"]
    parts.append(f"{counts.get('not_verified', 0)} not verified")
    if counts.get("waived"):
        parts.append(f"{counts['waived']} waived")
    return f"{data['summary']['clauses']} clauses: " + ", ".join(parts)


def render(
    record: RunRecord,
    paths: Mapping[str, Path],
    *,
    redactor: Redactor | None = None,
    color: bool = False,
    width: int = 100,
    tracebacks_hidden: bool = False,
) -> str:
    """The summary as one string; ``color=True`` adds ANSI styles (pass ``terminalreporter.hasmarkup``);
    ``tracebacks_hidden``: pytest printed no traceback (``conformance run``'s quiet terminal), so say where
    they are."""
    data = to_json(record, redactor or Redactor())
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
        soft_wrap=False,
    )
    run = data["run"]
    target = run.get("target") or "(unknown target)"
    if run.get("reference_server"):
        target = f"the bundled reference server ({target})"
    console.print(Text(one_line(f"Conformance of {target} to {run.get('spec_revision')}")), style="bold")
    for part in _tables(data, width):
        console.print(part)
    console.print(_totals(data))
    failing = _failing(data, width)
    if failing:
        console.print(Text("Failing clauses (the first finding of each; report.html holds every one):"))
        for line in failing[:MAX_FAILING]:
            console.print(line)
    if run.get("requests"):
        rtt = run.get("rtt_ms")
        where = f" over a {rtt:g} ms round trip" if isinstance(rtt, int | float) else ""
        workers = (run.get("concurrency") or {}).get("workers", run.get("workers"))
        console.print(f"{run['requests']:,} requests in {run.get('duration_s')} s{where}, {workers} worker(s)")
    if data["certifiable"]:
        console.print(Text("Certifiable: yes", style="bold green"))
    else:
        why = why_not(data)
        headline = f"Certifiable: NO ({why})" if why else "Certifiable: NO"
        console.print(Text(textwrap.fill(one_line(headline), width, subsequent_indent="  "), style="bold red"))
        reasons = condense_reasons(data["not_certifiable_reasons"])
        for reason in reasons[:MAX_REASONS]:
            console.print(Text(textwrap.fill(reason, width, initial_indent="  - ", subsequent_indent="    ")))
        if len(reasons) > MAX_REASONS:
            console.print(f"  … and {len(reasons) - MAX_REASONS} more (see certification.json)")
    if run.get("reference_server"):
        console.print(
            Text(
                textwrap.fill(
                    "This run tested the bundled reference server, not your API: give --base-url URL (and your key in "
                    "CONFORMANCE_API_KEY) to test yours.",
                    width,
                ),
                style="bold",
            )
        )
    for hint in run.get("hints") or []:
        console.print(Text(textwrap.fill(f"Hint: {hint}", width), style="bold yellow"))
    gaps = run.get("description_gaps") or []
    if gaps:
        first = gaps[0]
        note = (
            f"Description gaps: the target refused {len(gaps)} body/bodies its description allows, e.g. "
            f"{first['method']} {first['resource']} {first['body']}: {first['message']} (a warning: see the report)"
        )
        console.print(Text(textwrap.fill(one_line(note), width), style="yellow"))
    for w in data.get("waivers", []):
        if w.get("status") == "stale":
            console.print(Text(one_line(f"Stale waiver {w['clause']}: {w['note']}"), style="yellow"))
    for c in data["clauses"]:
        confirmation = c.get("confirmation") or {}
        if confirmation.get("status") in ("unconfirmed", "partly"):
            console.print(
                Text(
                    f"{c['id']} {confirmation['status']}: its findings reproduced {confirmation['reproduced']} "
                    f"of {confirmation['attempts']} re-runs (--confirm)",
                    style="yellow",
                )
            )
    if data["summary"].get("must_failed") or data["summary"].get("warnings"):
        console.print(Text(f"Replay these examples: add --seed {run.get('seed')} to the same command"))
    if tracebacks_hidden and any(t.get("outcome") in ("failed", "error") for t in data.get("tests") or []):
        console.print(Text("Each failure's traceback is in report.html (add `-- --tb=short` to print them here)"))
    for name, path in paths.items():
        console.print(Text(f"{name} report: {path}"), soft_wrap=True)
    text = "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"
    return scrub_text(text, redactor) if redactor else text

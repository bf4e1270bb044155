"""``conformance report compare A.json B.json …``: one clause × implementation matrix of several runs.

Implementations certified against the same spec (or one implementation across releases) are best read side by
side: on which clauses do they disagree? The page answers that, each cell linked to its run's evidence. It is
not a verdict, so the exit code is 0 whatever the verdicts; 2 only when an input cannot be compared.

Both outputs come from one data structure, :func:`matrix`, built only from what the certification.json files
hold: the page and the JSON cannot disagree, and neither can hold what a record redacted.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from conformance.report.certification import SCHEMA_VERSION, write_bytes
from conformance.report.compare_page import render_html
from conformance.report.terminal import one_line, verdict_label
from conformance.spec import catalogue

PROG = "conformance report compare"
DEFAULT_OUT = "reports/compare.html"
MATRIX_VERSION = 1
FIRST_SCHEMA = 1  # every certification.json ever written carries schema_version, from 1 on
NOTE_CHARS = 200
_ANCHOR = re.compile(r'\bid="((?:findings|clause)-[A-Z]+-[0-9]+)"')


class CompareError(ValueError):
    """An input this command cannot compare (or an output it cannot write): one line, exit 2."""


@dataclass(frozen=True)
class Run:
    """One column: a certification record and where its evidence (report.html) lies."""

    name: str
    source: Path
    record: dict[str, Any]
    report: Path | None
    anchors: frozenset[str]


# ---- reading ---------------------------------------------------------------------------


def read_record(path: Path) -> dict[str, Any]:
    """The record at ``path``, checked to be a certification.json of a schema this suite reads."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CompareError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise CompareError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or "schema_version" not in data or not isinstance(data.get("clauses"), list):
        raise CompareError(f"{path} is not a certification.json (no schema_version and clauses list)")
    version = data["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool) or not FIRST_SCHEMA <= version <= SCHEMA_VERSION:
        raise CompareError(
            f"{path} has schema_version {version!r}; this suite reads {FIRST_SCHEMA} to {SCHEMA_VERSION}: "
            "compare it with the suite version that wrote it"
        )
    if not isinstance(data.get("run"), dict) or not isinstance(data.get("certifiable"), bool):
        raise CompareError(f"{path} is not a certification.json (no run object or certifiable flag)")
    for c in data["clauses"]:
        if not (isinstance(c, dict) and isinstance(c.get("id"), str) and isinstance(c.get("verdict"), str)):
            raise CompareError(f"{path}: a clause entry lacks a string 'id' or 'verdict'")
        if not isinstance(c.get("findings", []), list):
            raise CompareError(f"{path}: clause {c['id']}'s findings are not a list")
    return data


def report_beside(source: Path) -> tuple[Path | None, frozenset[str]]:
    """The run's report.html next to its certification.json and the clause anchors it holds (``clause-ID``
    on every matrix row, ``findings-ID`` on each failing clause's evidence)."""
    report = source.parent / "report.html"
    try:
        text = report.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None, frozenset()
    return report, frozenset(_ANCHOR.findall(text))


def default_name(record: dict[str, Any]) -> str:
    """``host[:port]/path (profile)`` of the run's target."""
    run = record.get("run") or {}
    target = run.get("target")
    where = "unknown target"
    if isinstance(target, str) and target:
        parts = urlsplit(target)
        where = (parts.netloc + parts.path).rstrip("/") if parts.netloc else target
    profile = run.get("profile")
    return f"{where} ({profile})" if profile else where


def disambiguate(names: list[str], records: list[dict[str, Any]]) -> list[str]:
    """Equal names told apart by the runs' start times when those differ, else by ``#1``, ``#2`` …; a name
    still taken after that gets its column number."""
    out = list(names)
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(name, []).append(i)
    for indexes in (ix for ix in groups.values() if len(ix) > 1):
        times = [(records[i].get("run") or {}).get("started_at") for i in indexes]
        by_time = all(isinstance(t, str) and t for t in times) and len(set(times)) == len(times)
        for k, (i, started) in enumerate(zip(indexes, times, strict=True), 1):
            out[i] = f"{names[i]} @ {started}" if by_time else f"{names[i]} #{k}"
    return [f"{name} [column {i}]" if out.count(name) > 1 else name for i, name in enumerate(out, 1)]


def load_runs(paths: list[str], names: list[str]) -> list[Run]:
    """The columns, in the order given; ``names`` empty (derived names) or one per path."""
    if names and len(names) != len(paths):
        raise CompareError(f"--name given {len(names)} times for {len(paths)} files: give one per file or none")
    sources = [Path(p) for p in paths]
    records = [read_record(p) for p in sources]
    chosen = disambiguate(names or [default_name(r) for r in records], records)
    runs = []
    for name, source, record in zip(chosen, sources, records, strict=True):
        report, anchors = report_beside(source)
        runs.append(Run(name, source, record, report, anchors))
    return runs


# ---- the matrix as data ----------------------------------------------------------------


def _column(run: Run) -> dict[str, Any]:
    info, reasons = run.record["run"], run.record.get("not_certifiable_reasons")
    counts: dict[str, int] = {}
    for c in run.record["clauses"]:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    return {
        "name": run.name,
        "certification": str(run.source.resolve()),
        "report": str(run.report.resolve()) if run.report else None,
        "target": info.get("target"),
        "profile": info.get("profile"),
        "started_at": info.get("started_at"),
        "suite_version": info.get("suite_version"),
        "schema_version": run.record["schema_version"],
        "certifiable": run.record["certifiable"],
        "not_certifiable_reasons": [str(r) for r in reasons] if isinstance(reasons, list) else [],
        "verdicts": counts,
    }


def _note(clause: dict[str, Any]) -> str:
    """The first finding's message, else the reason (why skipped, not verified or in error), on one line."""
    findings = clause.get("findings") or []
    first = findings[0] if findings else None
    note = one_line(first.get("message") if isinstance(first, dict) else clause.get("reason"))
    return note if len(note) <= NOTE_CHARS else note[: NOTE_CHARS - 1] + "…"


def _cell(run: Run, clause: dict[str, Any] | None, cid: str) -> dict[str, Any]:
    if clause is None:
        return {"verdict": None, "label": None, "findings": 0, "note": "", "anchor": None}
    note = _note(clause)
    anchor = next((a for a in (f"findings-{cid}", f"clause-{cid}") if a in run.anchors), None)
    return {
        "verdict": clause["verdict"],
        "label": verdict_label(clause),
        "findings": len(clause.get("findings") or []),
        "note": note,
        "anchor": anchor,
    }


def matrix(runs: list[Run]) -> dict[str, Any]:
    """Rows: the catalogue's clauses in its order, then any clause only a record knows (another suite
    version); one cell per run, ``verdict`` null where the run's record lacks the clause. A row ``differs``
    when its cells do not all hold the same verdict."""
    by_run = [{c["id"]: c for c in run.record["clauses"]} for run in runs]
    cat = catalogue.load()
    rows: list[dict[str, Any]] = [
        {"id": c.id, "level": c.level, "group": c.group, "title": c.title, "in_catalogue": True} for c in cat
    ]
    for clauses in by_run:
        for cid, c in clauses.items():
            if cid not in cat and all(r["id"] != cid for r in rows):
                rows.append(
                    {
                        "id": cid,
                        "level": str(c.get("level") or ""),
                        "group": str(c.get("group") or ""),
                        "title": str(c.get("title") or ""),
                        "in_catalogue": False,
                    }
                )
    for row in rows:
        row["cells"] = [
            _cell(run, clauses.get(row["id"]), row["id"]) for run, clauses in zip(runs, by_run, strict=True)
        ]
        row["differs"] = len({cell["verdict"] for cell in row["cells"]}) > 1
    return {
        "kind": "conformance-compare",
        "version": MATRIX_VERSION,
        "spec_revision": cat.spec_revision,
        "columns": [_column(run) for run in runs],
        "rows": rows,
        "differing": [row["id"] for row in rows if row["differs"]],
    }


# ---- the page --------------------------------------------------------------------------


def _utf8(text: str) -> bytes:
    """UTF-8, a lone surrogate (a ``\\ud800`` escape in a hand-made record) replaced rather than fatal."""
    return text.encode("utf-8", errors="replace")


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit 2, like every other bad input of this command."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: {message} (see `{PROG} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="One HTML matrix, clause × run, of two or more certification.json files: each cell is the "
        "run's verdict linked to its evidence in the report.html beside the file; rows whose verdicts differ "
        "are highlighted.",
        epilog="Exit: 0 when the comparison was written (whatever the verdicts: it is no verdict), 2 when an "
        "input cannot be compared or an output cannot be written.",
    )
    p.add_argument("records", nargs="+", metavar="CERTIFICATION.json", help="two or more certification.json files")
    p.add_argument("--out", metavar="FILE", default=DEFAULT_OUT, help=f"the HTML page (default {DEFAULT_OUT})")
    p.add_argument(
        "--json",
        metavar="FILE",
        help="also write the matrix as JSON to FILE (- for standard output): columns (the runs), rows (clause, "
        "level, one cell per run: verdict, label, findings, note, anchor in the run's report.html), differing",
    )
    p.add_argument(
        "--name",
        action="append",
        default=[],
        metavar="NAME",
        help="a column's name, once per file in order (default: the target's host/path and the profile)",
    )
    return p


def _write(path: Path, text: str) -> None:
    try:
        write_bytes(path, _utf8(text))
    except OSError as exc:
        raise CompareError(f"cannot write {path}: {exc.strerror or exc}") from None


def main_compare(argv: list[str]) -> int:
    """Write the page (and the JSON); exit 0, or 2 with one line on stderr when an input is unusable."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if len(args.records) < 2:
            raise CompareError("give two or more certification.json files")
        runs = load_runs(args.records, args.name)
        data = matrix(runs)
        out = Path(args.out)
        _write(out, render_html(data, out.parent))
        if args.json == "-":
            sys.stdout.write(_utf8(json.dumps(data, indent=2, ensure_ascii=False) + "\n").decode("utf-8"))
        elif args.json:
            _write(Path(args.json), json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    except CompareError as exc:
        print(f"{PROG}: {one_line(exc)}", file=sys.stderr)
        return 2
    status = sys.stderr if args.json == "-" else sys.stdout  # standard output may be the JSON
    differing = ", ".join(data["differing"]) or "none"
    print(f"{len(runs)} runs, {len(data['rows'])} clauses; differing: {differing}", file=status)
    print(f"comparison: {out}", file=status)
    return 0

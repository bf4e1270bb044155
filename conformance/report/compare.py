"""``conformance report compare A.json B.json …``: one clause × implementation matrix of several runs.

Implementations certified against the same spec (or one implementation across releases) are best read side by
side: on which clauses do they disagree? The page answers that, each cell linked to its run's evidence. It is
not a verdict, so the exit code is 0 whatever the verdicts; 2 only when an input cannot be compared.

Both outputs come from one data structure, :func:`matrix`, built only from what the certification.json files
hold: the page and the JSON cannot disagree, and neither can hold what a record redacted.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

from conformance.report.certification import SCHEMA_VERSION, write_bytes
from conformance.report.html import LABELS, e
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

CSS = """
body{font:13px/1.4 system-ui,sans-serif;color:#222;margin:16px}
h1{font-size:20px;margin:0 0 8px}
table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
thead th{background:#f5f5f5;font-weight:normal}
thead th.run b{display:block;font-size:14px}
.group-row th{background:#eceff1}
a{color:#1565c0}
.badge{display:inline-block;min-width:64px;text-align:center;border-radius:3px;padding:1px 6px;font-weight:bold;
color:#fff}
.badge-pass{background:#2e7d32}.badge-fail{background:#c62828}.badge-warning{background:#ef8f00}
.badge-error{background:#6a1b9a}.badge-skip{background:#78909c}.badge-not_verified{background:#b0bec5;color:#222}
.badge-waived{background:#00838f}.badge-absent{background:#fff;color:#777;border:1px dashed #999}
.certifiable-yes{color:#2e7d32;font-weight:bold}.certifiable-no{color:#c62828;font-weight:bold}
tr.differs td,tr.differs th{background:#fff3e0}
tr.differs th.clause-id{border-left:4px solid #ef6c00}
#compare-matrix.only-differences tr.clause-row:not(.differs){display:none}
#compare-matrix.only-differences tbody[data-differs="false"]{display:none}
.note{color:#555}
"""

SCRIPT = """
(function(){
var box=document.getElementById('only-differences'),table=document.getElementById('compare-matrix');
function apply(){table.classList.toggle('only-differences',box.checked);}
if(location.hash==='#only-differences'){box.checked=true;}
box.addEventListener('change',apply);apply();
})();
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# Nothing but the page's own style and script may run or load: a message a target put in a record is text.
CSP = (
    f"default-src 'none'; style-src {_csp_hash(CSS)}; script-src {_csp_hash(SCRIPT)}; "
    "base-uri 'none'; form-action 'none'"
)


def href(target: Path, page_dir: Path, anchor: str | None = None) -> str:
    """A link from the page to ``target``: relative (the files can move together), else a file: URI."""
    try:
        rel = os.path.relpath(target.resolve(), page_dir.resolve())
        url = "/".join(quote(part) for part in Path(rel).parts)
    except ValueError:  # another drive (Windows): no relative path exists
        url = target.resolve().as_uri()
    return url + (f"#{quote(anchor)}" if anchor else "")


def _header(col: dict[str, Any], page_dir: Path) -> str:
    cert = (
        '<span class="certifiable-yes" data-certifiable="true">certifiable: yes</span>'
        if col["certifiable"]
        else '<span class="certifiable-no" data-certifiable="false">certifiable: no</span>'
    )
    reasons = "\n".join(col["not_certifiable_reasons"])
    if col["report"]:
        evidence = f'<a href="{e(href(Path(col["report"]), page_dir))}">report.html</a>'
    else:
        evidence = "no report.html beside it: cells link certification.json"
    record = f'<a href="{e(href(Path(col["certification"]), page_dir))}">certification.json</a>'
    return (
        f'<th class="run" title="{e(reasons)}"><b>{e(col["name"])}</b>{e(col["target"] or "unknown target")}<br>'
        f"profile {e(col['profile'] or '?')}<br>{e(col['started_at'] or 'start unknown')}<br>{cert}<br>"
        f"{evidence} · {record}</th>"
    )


def _badge(label: str | None, text: str | None = None) -> str:
    shown = text or (label or "absent").replace("_", " ")
    return f'<span class="badge badge-{e(label or "absent")}">{e(shown)}</span>'


def _cell_html(cell: dict[str, Any], col: dict[str, Any], page_dir: Path) -> str:
    if cell["verdict"] is None:
        return '<td class="cell absent" data-verdict="" title="not in this run\'s record">' + _badge(None) + "</td>"
    label = cell["label"]
    text = label.replace("_", " ") + (f" ({cell['findings']})" if cell["findings"] else "")
    target = Path(col["report"] or col["certification"])
    link = e(href(target, page_dir, cell["anchor"] if col["report"] else None))
    return (
        f'<td class="cell verdict-{e(cell["verdict"])}" data-verdict="{e(cell["verdict"])}" title="{e(cell["note"])}">'
        f'<a href="{link}">{_badge(label, text)}</a></td>'
    )


def _body(data: dict[str, Any], page_dir: Path) -> str:
    names = catalogue.load().groups
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in data["rows"]:
        groups.setdefault(row["group"] if row["in_catalogue"] else "", []).append(row)
    width = 3 + len(data["columns"])
    out = []
    for group, rows in groups.items():
        title = f"{group} — {names.get(group, '')}" if group else "Clauses not in this suite's catalogue"
        differs = "true" if any(r["differs"] for r in rows) else "false"
        out.append(
            f'<tbody class="clause-group" data-group="{e(group)}" data-differs="{differs}">'
            f'<tr class="group-row"><th colspan="{width}">{e(title)}</th></tr>'
        )
        for row in rows:
            cid = e(row["id"])
            cls = "clause-row differs" if row["differs"] else "clause-row"
            cells = "".join(_cell_html(c, col, page_dir) for c, col in zip(row["cells"], data["columns"], strict=True))
            out.append(
                f'<tr id="row-{cid}" class="{cls}" data-clause="{cid}" data-differs="{str(row["differs"]).lower()}">'
                f'<th class="clause-id">{cid}</th><td class="level">{e(row["level"])}</td>'
                f'<td class="title">{e(row["title"])}</td>{cells}</tr>'
            )
        out.append("</tbody>")
    return "".join(out)


def _counts(data: dict[str, Any]) -> str:
    cells = "".join(
        "<td>" + " ".join(_badge(v, f"{v.replace('_', ' ')} {col['verdicts'][v]}") for v in _order(col)) + "</td>"
        for col in data["columns"]
    )
    return f'<tfoot><tr><th colspan="3">Verdicts</th>{cells}</tr></tfoot>'


def _order(col: dict[str, Any]) -> list[str]:
    known = [v for v in LABELS if v in col["verdicts"]]
    return known + sorted(v for v in col["verdicts"] if v not in known)


def render_html(data: dict[str, Any], page_dir: Path) -> str:
    """The self-contained page (inline style and script only) for :func:`matrix`'s ``data``, its links
    relative to ``page_dir``, where it will be written."""
    differing = data["differing"]
    if differing:
        links = ", ".join(f'<a href="#row-{e(cid)}">{e(cid)}</a>' for cid in differing)
        summary = f"{len(differing)} of {len(data['rows'])} clauses differ: {links}"
    else:
        summary = f"All {len(data['rows'])} clauses have the same verdict in every run."
    head = "".join(_header(col, page_dir) for col in data["columns"])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">'
        f"<title>Conformance comparison of {len(data['columns'])} runs</title><style>{CSS}</style></head><body>"
        f"<h1>Conformance comparison: {len(data['columns'])} runs</h1>"
        f"<p>Spec: {e(data['spec_revision'])}. A comparison, not a verdict: each run's certificate rests on its "
        "own certification.json. Each cell links to that run's evidence for the clause; the title of a cell "
        "holds its first finding or reason.</p>"
        f'<p id="summary" data-differing="{len(differing)}">{summary}</p>'
        '<p><label><input type="checkbox" id="only-differences"> differences only</label></p>'
        f'<table id="compare-matrix"><thead><tr><th>Clause</th><th>Level</th><th>Title</th>{head}</tr></thead>'
        f"{_body(data, page_dir)}{_counts(data)}</table>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )


# ---- the command -----------------------------------------------------------------------


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

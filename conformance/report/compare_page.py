"""The page of ``conformance report compare``: the matrix of :func:`conformance.report.compare.matrix` as one
self-contained HTML file (inline style and script under a hash-pinned Content-Security-Policy), each cell
linking to the finding in its run's own report when that report lies beside its certification.json."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from conformance.report.html import LABELS, e
from conformance.spec import catalogue

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

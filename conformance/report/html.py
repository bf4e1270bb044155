"""``report.html``: the clause matrix and its evidence on top of pytest-html's page.

pytest-html 4 renders the page once, in its own ``trylast`` ``pytest_sessionfinish``;
its ``pytest_html_results_summary`` hook is the only place to add markup to the
file, and it lands inside a 550px summary box under the environment table. So
:class:`HtmlMatrixPlugin` renders the block there and, once pytest-html has written
the file, moves it to the top of ``<body>`` and redacts the file (see
:func:`redact_report` for why a plain-text pass is not enough).
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.http.redact import Redactor
from conformance.report import chart, grouping
from conformance.report.certification import to_json, write_bytes
from conformance.report.html_redact import redact_report
from conformance.report.terminal import condense_reasons, first_note, verdict_label, why_not
from conformance.spec import catalogue
from conformance.verdicts.decide import RunRecord

START, END = "<!-- conformance-report:start -->", "<!-- conformance-report:end -->"
LABELS = ("pass", "fail", "warning", "error", "skip", "not_verified", "waived")
NOTE_CHARS = 200
_BLOCK = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
_BODY = re.compile(r"<body[^>]*>")

CSS = """
#conformance-report{color:#222;font-size:13px;margin:0 0 24px}
#conformance-report h2{font-size:18px;margin:16px 0 8px}
#conformance-report h3{font-size:15px;color:#222;margin:14px 0 6px}
#conformance-report h4{font-size:13px;color:#222;margin:8px 0 2px}
#conformance-report table{border-collapse:collapse;margin:6px 0}
#conformance-report th,#conformance-report td{border:1px solid #ddd;padding:3px 6px;text-align:left;
vertical-align:top;color:#222}
#conformance-report a{color:#1565c0}
#conformance-report pre{background:#f6f6f6;border:1px solid #e0e0e0;padding:6px;white-space:pre-wrap;
word-break:break-all;color:#222;max-height:400px;overflow:auto}
#conformance-report .group-row th{background:#eceff1}
#conformance-report .badge{display:inline-block;min-width:64px;text-align:center;border-radius:3px;
padding:1px 6px;font-weight:bold;color:#fff}
#conformance-report .badge-pass{background:#2e7d32}
#conformance-report .badge-fail{background:#c62828}
#conformance-report .badge-warning{background:#ef8f00}
#conformance-report .badge-error{background:#6a1b9a}
#conformance-report .badge-skip{background:#78909c}
#conformance-report .badge-not_verified{background:#b0bec5;color:#222}
#conformance-report .badge-waived{background:#00838f}
#conformance-report tr.verdict-fail td{background:#ffebee}
#conformance-report tr.severity-warning td{background:#fff8e1}
#conformance-report tr.verdict-error td{background:#f3e5f5}
#conformance-report .certifiable-yes{color:#2e7d32;font-weight:bold;font-size:15px}
#conformance-report .hints{color:#b26a00;font-weight:bold}
#conformance-report .waiver-stale{color:#b26a00;font-weight:bold}
#conformance-report .finding-confirmation[data-confirmed="false"]{color:#b26a00;font-weight:bold}
#conformance-report .certifiable-no{color:#c62828;font-weight:bold;font-size:15px}
#conformance-report .banner{background:#fff8e1;border-left:4px solid #f9a825;padding:6px 10px;margin:6px 0}
#conformance-report .finding{border-left:3px solid #c62828;padding-left:10px;margin:10px 0 18px}
#conformance-report .clause-findings.severity-warning .finding{border-left-color:#ef8f00}
#verdict-counts .badge{margin-right:6px}
#conformance-report{max-width:1400px}
#conformance-report #clause-matrix{width:100%}
#conformance-report #clause-matrix td.clause-id,#conformance-report #clause-matrix td.level,
#conformance-report #clause-matrix td.verdict,#conformance-report #clause-matrix td.tests{white-space:nowrap;width:1%}
#conformance-report #clause-matrix td.title{min-width:280px}
#conformance-report #clause-matrix td.first-finding{word-break:break-word}
#conformance-report [hidden]{display:none !important}
#conformance-report #finding-filters{position:sticky;top:0;background:#fff;padding:6px 0;border-bottom:1px solid #ddd;
z-index:2}
#conformance-report #finding-filters label{margin-right:14px}
#conformance-report details.finding-group{border-left:3px solid #c62828;padding:2px 0 2px 10px;margin:8px 0}
#conformance-report .clause-findings.severity-warning details.finding-group{border-left-color:#ef8f00}
#conformance-report details.finding-group>summary{cursor:pointer;font-weight:bold}
#conformance-report .group-count{display:inline-block;min-width:36px;text-align:center;background:#455a64;color:#fff;
border-radius:9px;padding:0 6px;margin-right:6px;font-size:12px}
#conformance-report .group-tests,#conformance-report .finding-test{color:#555;font-size:12px}
#conformance-report button.copy{font-size:12px;margin-left:8px;cursor:pointer}
#conformance-report .offset-chart{display:block;margin:6px 0 10px;border:1px solid #eee;background:#fff}
"""

SCRIPT = """
(function () {
  var root = document.getElementById("conformance-report");
  if (!root) { return; }
  var picks = {clause: "", verdict: "", level: ""};
  function matches(el) {
    var d = el.dataset;
    return (!picks.clause || d.clause === picks.clause || d.group === picks.clause) &&
      (!picks.verdict || d.label === picks.verdict) && (!picks.level || d.level === picks.level);
  }
  function apply() {
    var shown = 0, groups = 0;
    root.querySelectorAll("[data-filterable]").forEach(function (el) {
      el.hidden = !matches(el);
      if (!el.hidden && el.classList.contains("clause-findings")) {
        shown += 1;
        groups += el.querySelectorAll("details.finding-group").length;
      }
    });
    root.querySelectorAll("tbody.clause-group").forEach(function (body) {
      body.hidden = !body.querySelector("tr.clause-row:not([hidden])");
    });
    root.dataset.shownClauses = String(shown);
    root.dataset.shownGroups = String(groups);
    var count = document.getElementById("filter-count");
    if (count) { count.textContent = shown + " clause(s), " + groups + " finding group(s) shown"; }
  }
  var query = new URLSearchParams(window.location.search);
  Object.keys(picks).forEach(function (name) {
    var select = document.getElementById("filter-" + name);
    if (!select) { return; }
    var wanted = query.get(name);
    if (wanted !== null) { select.value = wanted; }
    picks[name] = select.value;
    select.addEventListener("change", function () { picks[name] = select.value; apply(); });
  });
  root.querySelectorAll("button.copy").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      var text = source ? source.textContent : "";
      function done() { button.textContent = "Copied"; }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, fallback);
      } else { fallback(); }
      function fallback() {
        var area = document.createElement("textarea");
        area.value = text; document.body.appendChild(area); area.select();
        try { document.execCommand("copy"); done(); } finally { document.body.removeChild(area); }
      }
    });
  });
  apply();
  var wrapped = 0;
  root.querySelectorAll("#clause-matrix td.clause-id").forEach(function (cell) {
    var range = document.createRange();
    range.selectNodeContents(cell);
    var lines = {};
    Array.prototype.forEach.call(range.getClientRects(), function (r) { lines[Math.round(r.top)] = 1; });
    if (Object.keys(lines).length > 1) { wrapped += 1; }
  });
  var matrix = document.getElementById("clause-matrix");
  if (matrix) {
    matrix.dataset.wrappedClauseCells = String(wrapped);
    matrix.dataset.width = String(matrix.offsetWidth);
  }
  root.dataset.ready = "true";
})();
"""


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def e(value: Any) -> str:
    """HTML-escaped text, control characters shown as ``\\xNN`` (a NUL or ESC is not markup)."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", "" if value is None else str(value))
    return html.escape(text, quote=True)


def _short(text: str, limit: int = NOTE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _badge(label: str) -> str:
    return f'<span class="badge badge-{e(label)}">{e(label.replace("_", " "))}</span>'


def _identity(data: dict[str, Any]) -> str:
    run = data["run"]
    openapi = run.get("openapi") or {}
    duration = run.get("duration_s")
    rows = [
        ("Target", run.get("target")),
        ("Suite version", run.get("suite_version")),
        ("Spec revision", run.get("spec_revision")),
        ("Profile", run.get("profile")),
        ("Seed", run.get("seed")),
        ("Started", run.get("started_at")),
        ("Finished", run.get("finished_at")),
        ("Duration", f"{float(duration):.1f} s" if isinstance(duration, int | float) else duration),
        ("Workers", run.get("workers")),
        ("Requests", _requests(run)),
        ("OpenAPI description", openapi.get("source")),
        ("OpenAPI sha256", openapi.get("sha256")),
        ("Organization time zone", run.get("org_timezone")),
        ("Python", run.get("python")),
        ("Platform", run.get("platform")),
        ("Time zone data", run.get("tzdata")),
    ]
    cells = "".join(
        f'<tr data-key="{e(k.lower().replace(" ", "-"))}"><th>{e(k)}</th><td>{e("—" if v is None else v)}</td></tr>'
        for k, v in rows
    )
    settings = run.get("settings") or {}
    if settings:
        items = "".join(
            f"<tr><th>{e(k)}</th><td>{e(json.dumps(v, default=str))}</td></tr>" for k, v in settings.items()
        )
        cells += f'<tr data-key="settings"><th>Settings</th><td><details><summary>{len(settings)} settings'
        cells += f"</summary><table>{items}</table></details></td></tr>"
    return f'<table id="run-identity">{cells}</table>'


def _requests(run: dict[str, Any]) -> str | None:
    """How many requests, over what round trip, with how much in flight at once."""
    if run.get("requests") is None:
        return None
    rtt, conc = run.get("rtt_ms"), run.get("concurrency") or {}
    text = f"{run['requests']:,}"
    if isinstance(rtt, int | float):
        text += f", round trip {rtt:g} ms"
    if conc:
        text += f", at most {conc.get('max_connections')} connections ({conc.get('connections_per_worker')} per worker)"
    return text


def _certifiable(data: dict[str, Any]) -> str:
    if data["certifiable"]:
        return '<p id="certifiable" class="certifiable-yes" data-certifiable="true">Certifiable</p>'
    reasons = "".join(f"<li>{e(r)}</li>" for r in condense_reasons(data["not_certifiable_reasons"]))
    why = why_not(data)
    return (
        '<p id="certifiable" class="certifiable-no" data-certifiable="false">NOT certifiable'
        f"{f' ({e(why)})' if why else ''}</p>"
        f'<ul id="not-certifiable-reasons">{reasons}</ul>'
    )


def _target_note(data: dict[str, Any]) -> str:
    """What was tested, said plainly where it is not a vendor's API, or could not be tested at all."""
    run = data["run"]
    notes = []
    if run.get("cannot_test"):
        notes.append(f'<p id="cannot-test" class="banner">The target could not be tested: {e(run["cannot_test"])}</p>')
    if run.get("reference_server"):
        notes.append(
            f'<p id="reference-target" class="banner">This run tested the bundled reference server '
            f"({e(run.get('target'))}), not your API: give <code>--base-url URL</code> to test yours.</p>"
        )
    return "".join(notes)


def _gaps(data: dict[str, Any]) -> str:
    """Bodies the description allows that the target refused: what the vendor should add to its description
    (or stop refusing). A warning: no verdict rests on it."""
    gaps = data["run"].get("description_gaps") or []
    if not gaps:
        return ""
    rows = "".join(
        f"<tr><td>{e(g['resource'])}</td><td>{e(g['method'])} v{e(g['version'])}</td>"
        f"<td><code>{e(g['body'])}</code></td><td>{e(g['message'])}</td><td>{e(g['seen'])}</td></tr>"
        for g in gaps
    )
    return (
        '<section id="description-gaps"><h2>Description gaps (warning)</h2>'
        "<p>The target refused these bodies with 403 validation_failed at two fresh ids, though its description "
        "allows them: rules the description does not state. They are no finding; state them in the description "
        "so that clients (and this suite) can know them.</p>"
        "<table><tr><th>Resource</th><th>Write</th><th>Body</th><th>Target's message</th><th>Seen</th></tr>"
        f"{rows}</table></section>"
    )


def _hints(data: dict[str, Any]) -> str:
    hints = data["run"].get("hints") or []
    items = "".join(f"<li>{e(h)}</li>" for h in hints)
    return f'<ul id="hints" class="hints">{items}</ul>' if hints else ""


def _waivers(data: dict[str, Any]) -> str:
    entries = data.get("waivers") or []
    if not entries:
        return ""
    rows = "".join(
        f'<li class="waiver waiver-{e(w["status"])}" data-clause="{e(w["clause"])}" data-status="{e(w["status"])}">'
        f"<b>{e(w['clause'])}</b> {e(w['status'])}: {e(w['note'])} — {e(w['reason'])}"
        + (f" (expires {e(w['expires'])})" if w.get("expires") else "")
        + "</li>"
        for w in entries
    )
    stale = sum(1 for w in entries if w["status"] == "stale")
    head = f"<h3>Waivers ({len(entries)}, {stale} stale)</h3>"
    return f'<div id="waivers" data-stale="{stale}">{head}<ul>{rows}</ul></div>'


def _has_findings_section(c: dict[str, Any]) -> bool:
    return c["verdict"] in ("fail", "error", "waived")


def _what(c: dict[str, Any]) -> str:
    if c["findings"]:
        n = len(grouping.group(c["id"], c["findings"]))
        return f"{len(c['findings'])} finding(s) in {n} group(s)"
    return e(_short(c.get("reason", ""), 160))


def _failing(data: dict[str, Any]) -> str:
    # MUST failures and errors first: they are what stands between the target and a certificate.
    bad = sorted(
        (c for c in data["clauses"] if _has_findings_section(c)),
        key=lambda c: (c["verdict"] == "waived", verdict_label(c) == "warning"),
    )
    if not bad:
        return '<div id="failing-clauses" data-count="0"><p>No clause failed.</p></div>'
    items = "".join(
        f'<li data-clause="{e(c["id"])}" {_filter_attrs(c)}>{_badge(verdict_label(c))} '
        f'<a href="#findings-{e(c["id"])}">'
        f"{e(c['id'])}</a> ({e(c['level'])}) {e(c['title'])} — {_what(c)}</li>"
        for c in bad
    )
    return (
        f'<div id="failing-clauses" data-count="{len(bad)}"><h3>Failing clauses ({len(bad)})</h3><ul>{items}</ul></div>'
    )


def counts(data: dict[str, Any]) -> dict[str, int]:
    """Clauses per verdict; ``warning`` counts the failed SHOULDs, which are also in ``fail``."""
    out = dict.fromkeys(LABELS, 0)
    for c in data["clauses"]:
        out[c["verdict"]] = out.get(c["verdict"], 0) + 1
        if verdict_label(c) == "warning":
            out["warning"] += 1
    return out


def _counts(data: dict[str, Any]) -> str:
    n = counts(data)
    attrs = " ".join(f'data-{e(k)}="{v}"' for k, v in n.items())
    chips = "".join(f"{_badge(k)}{v} " for k, v in n.items() if v)
    return f'<div id="verdict-counts" data-total="{len(data["clauses"])}" {attrs}>{chips}</div>'


def _row(c: dict[str, Any]) -> str:
    cid, label = e(c["id"]), verdict_label(c)
    classes = f"clause-row verdict-{e(c['verdict'])}" + (" severity-warning" if label == "warning" else "")
    ident = f'<a href="#findings-{cid}">{cid}</a>' if _has_findings_section(c) else cid
    tests = c["tests"]
    title = "\n".join(tests[:20]) + (f"\n… {len(tests) - 20} more" if len(tests) > 20 else "")
    return (
        f'<tr id="clause-{cid}" class="{classes}" data-clause="{cid}" data-verdict="{e(c["verdict"])}" '
        f'data-level="{e(c["level"])}" data-severity="{e(c.get("severity", ""))}" data-tests="{len(tests)}" '
        f'data-label="{e(label)}" data-group="{e(c["group"])}" data-filterable="">'
        f'<td class="clause-id">{ident}</td><td class="level">{e(c["level"])}</td>'
        f'<td class="title">{e(c["title"])}</td><td class="verdict">{_badge(label)}</td>'
        f'<td class="tests" title="{e(title)}">{len(tests)}</td>'
        f'<td class="first-finding">{e(_short(first_note(c)))}</td></tr>'
    )


def _matrix(data: dict[str, Any]) -> str:
    names = catalogue.load().groups
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in data["clauses"]:
        groups.setdefault(c["group"], []).append(c)
    bodies = "".join(
        f'<tbody class="clause-group" data-group="{e(g)}"><tr class="group-row">'
        f'<th colspan="6">{e(g)} — {e(names.get(g, ""))}</th></tr>{"".join(_row(c) for c in rows)}</tbody>'
        for g, rows in groups.items()
    )
    head = "".join(f"<th>{h}</th>" for h in ("Clause", "Level", "Title", "Verdict", "Tests", "First finding"))
    return f'<table id="clause-matrix"><thead><tr>{head}</tr></thead>{bodies}</table>'


def _exchange(part: dict[str, Any] | None, first_line: str) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in (part or {}).get("headers", {}).items())
    body = (part or {}).get("body")
    text = first_line + ("\n" + headers if headers else "") + ("\n\n" + body if body else "")
    return e(text)


def _filter_attrs(c: dict[str, Any]) -> str:
    return (
        f'data-label="{e(verdict_label(c))}" data-level="{e(c["level"])}" data-group="{e(c.get("group", ""))}" '
        'data-filterable=""'
    )


def _reproduction(c: dict[str, Any], i: int, f: dict[str, Any]) -> str:
    repro = f.get("reproduction")
    if not isinstance(repro, dict) or not repro.get("script"):
        return ""
    anchor = f"repro-{c['id']}-{i}"
    return (
        f"<h4>Reproduce ({e(repro.get('requests'))} request(s), fresh ids, cleans up after itself) "
        f'<button type="button" class="copy" data-copy="{e(anchor)}">Copy script</button> '
        f'<a class="repro-file" href="{e(repro["file"])}">{e(repro["file"])}</a></h4>'
        f'<pre class="finding-repro" id="{e(anchor)}">{e(repro["script"])}</pre>'
    )


def _finding(c: dict[str, Any], i: int, f: dict[str, Any]) -> str:
    """One finding's evidence: its request and response, the reproduction script, the curl line, the replay."""
    out = [f'<div class="finding" data-clause="{e(c["id"])}" data-index="{i}">']
    out.append(f'<p class="finding-message"><b>{i}.</b> {e(f["message"])}</p>')
    if f.get("test_id"):
        out.append(f'<p class="finding-test">Test: <code>{e(f["test_id"])}</code></p>')
    again = f.get("reproduced")
    if again:
        state = "confirmed" if again["confirmed"] else "unconfirmed"
        out.append(
            f'<p class="finding-confirmation" data-confirmed="{str(again["confirmed"]).lower()}">'
            f"{'Reproduced' if again['confirmed'] else 'UNCONFIRMED: not reproduced'} in "
            f"{again['reproduced']} of {again['attempts']} re-runs ({state})</p>"
        )
    req, resp = f.get("request"), f.get("response")
    if req:
        line = f"{req.get('method', '')} {req.get('url', '')}"
        out.append(f'<h4>Request</h4><pre class="finding-request">{_exchange(req, line)}</pre>')
    if resp:
        line = f"HTTP {resp.get('status', '')}"
        out.append(f'<h4>Response</h4><pre class="finding-response">{_exchange(resp, line)}</pre>')
    out.append(_reproduction(c, i, f))
    if f.get("curl"):
        out.append(
            "<h4>The violating request alone (its object is deleted by the run's cleanup)</h4>"
            f'<pre class="finding-curl">{e(f["curl"])}</pre>'
        )
    if f.get("replay"):
        out.append(f'<h4>Replay the test</h4><pre class="finding-replay">{e(f["replay"])}</pre>')
    out.append("</div>")
    return "".join(out)


def _group(c: dict[str, Any], g: grouping.Group, total: int) -> str:
    """One card per fault: its message, how often it was seen, by which tests; expands to the first finding's
    evidence and the others' messages."""
    i, first = g.members[0]
    tests = g.tests
    shown = ", ".join(f"<code>{e(t)}</code>" for t in tests[:8]) + (
        f" … {len(tests) - 8} more" if len(tests) > 8 else ""
    )
    more = ""
    if g.count > 1:
        rows = "".join(
            f'<li data-index="{j}">{e(f["message"])}'
            + (f' <span class="finding-test">({e(f["test_id"])})</span>' if f.get("test_id") else "")
            + (
                f' <a class="repro-file" href="{e(f["reproduction"]["file"])}">{e(f["reproduction"]["file"])}</a>'
                if isinstance(f.get("reproduction"), dict)
                else ""
            )
            + "</li>"
            for j, f in g.members[1:]
        )
        more = f'<details class="group-members"><summary>{g.count - 1} more like it</summary><ul>{rows}</ul></details>'
    if total > g.count:
        more += f'<p class="group-dropped">{total - g.count} more like it not kept in the record (see the reason)</p>'
    return (
        f'<details class="finding-group" data-clause="{e(c["id"])}" data-count="{g.count}" data-total="{total}" '
        f'data-key="{e(g.key)}"><summary><span class="group-count" title="{g.count} kept in the record">×{total}</span>'
        f'<span class="group-message">{e(first["message"])}'
        f"</span></summary>"
        f'<p class="group-tests" data-tests="{len(tests)}">Seen by {len(tests)} test(s): {shown}</p>'
        f"{_finding(c, i, first)}{more}</details>"
    )


def _filters(data: dict[str, Any]) -> str:
    bad = [c for c in data["clauses"] if _has_findings_section(c)]
    clauses = "".join(f'<option value="{e(c["id"])}">{e(c["id"])}</option>' for c in bad)
    groups = "".join(f'<option value="{e(g)}">{e(g)} (group)</option>' for g in dict.fromkeys(c["group"] for c in bad))
    verdicts = "".join(
        f'<option value="{e(v)}">{e(v.replace("_", " "))}</option>'
        for v in dict.fromkeys(verdict_label(c) for c in data["clauses"])
    )
    return (
        '<div id="finding-filters">'
        f'<label>Clause <select id="filter-clause"><option value="">all</option>{groups}{clauses}</select></label>'
        f'<label>Verdict <select id="filter-verdict"><option value="">all</option>{verdicts}</select></label>'
        '<label>Level <select id="filter-level"><option value="">all</option><option value="MUST">MUST</option>'
        '<option value="SHOULD">SHOULD</option></select></label><span id="filter-count"></span></div>'
    )


def _findings(data: dict[str, Any]) -> str:
    sections = []
    zone = data["run"].get("org_timezone") or (data["run"].get("zone_candidates") or [None])[0]
    for c in data["clauses"]:
        if not _has_findings_section(c):
            continue
        cid, label = e(c["id"]), verdict_label(c)
        groups = grouping.group(c["id"], c["findings"])
        cls = "clause-findings" + (" severity-warning" if label == "warning" else "")
        parts = [
            f'<div id="findings-{cid}" class="{cls}" data-clause="{cid}" data-verdict="{e(c["verdict"])}" '
            f'data-groups="{len(groups)}" data-findings="{len(c["findings"])}" {_filter_attrs(c)}>',
            f"<h3>{_badge(label)} {cid} ({e(c['level'])}) {e(c['title'])} — {len(c['findings'])} finding(s) "
            f"in {len(groups)} group(s)</h3>",
        ]
        if c.get("reason"):
            parts.append(f'<p class="reason">{e(c["reason"])}</p>')
        if c["id"] in chart.CLAUSES and c["findings"]:
            parts.append(chart.render(c["id"], c["findings"], zone))
        totals = {t["group"]: t["count"] for t in c.get("finding_groups") or []}
        sized = sorted(((max(totals.get(g.key, 0), g.count), g) for g in groups), key=lambda tg: -tg[0])
        parts += [_group(c, g, total) for total, g in sized]
        parts.append(f'<p><a href="#clause-{cid}">back to the matrix</a></p></div>')
        sections.append("".join(parts))
    body = "".join(sections) or "<p>No findings.</p>"
    return f'<section id="clause-findings"><h2>Findings</h2>{body}</section>'


def render_block(data: dict[str, Any] | None) -> str:
    """The whole conformance block from a redacted certification dict (None: no verdicts)."""
    if data is None:
        inner = (
            '<h2>Conformance certification</h2><p id="certifiable" class="certifiable-no" '
            'data-certifiable="false">No clause verdicts: the run stopped before they were decided.</p>'
        )
    else:
        inner = (
            f"<h2>Conformance certification: {e(data['run'].get('target') or 'unknown target')}</h2>"
            f"{_target_note(data)}{_certifiable(data)}{_hints(data)}{_identity(data)}{_waivers(data)}{_failing(data)}"
            f"<h2>Clause matrix</h2>{_filters(data)}{_counts(data)}{_matrix(data)}{_gaps(data)}{_findings(data)}"
        )
    script = f"<script>{SCRIPT}</script>" if data is not None else ""
    return f'{START}<section id="conformance-report"><style>{CSS}</style>{inner}{script}</section>{END}'


def place_on_top(text: str) -> str:
    """Move the rendered block from pytest-html's summary box to the start of ``<body>``."""
    block = _BLOCK.search(text)
    body = _BODY.search(text)
    if not block or not body or block.start() < body.end():
        return text
    text = text[: block.start()] + text[block.end() :]
    at = body.end()
    return text[:at] + block.group() + text[at:]


# ---- the pytest-html plugin --------------------------------------------------------


def _clause_ids(report: Any) -> list[str]:
    ids = []
    for name in getattr(report, "keywords", {}) or {}:
        cid = catalogue.clause_id_from_marker(str(name))
        if cid and cid not in ids:
            ids.append(cid)
    return ids


class HtmlMatrixPlugin:
    """pytest-html 4 hooks that put the clause matrix and findings on top of ``report.html``.

    Register it (``config.pluginmanager.register(HtmlMatrixPlugin(get_record, redactor))``)
    when ``--html`` is given. ``get_record`` must return the run record by the time
    pytest-html renders, i.e. from a ``tryfirst`` ``pytest_sessionfinish``. With a
    ``redactor`` the written file is also redacted with :func:`redact_report`.
    """

    def __init__(self, get_record: Callable[[], RunRecord | None], redactor: Redactor | None = None) -> None:
        self._get_record = get_record
        self._redactor = redactor or Redactor()
        self._report: Any = None
        self._path: Path | None = None

    def _resolve(self, config: pytest.Config) -> Path | None:
        option = config.getoption("htmlpath", None)
        if not option or hasattr(config, "workerinput"):
            return None
        # Resolved as pytest-html resolves it, at configure time (a test may chdir later).
        return Path.cwd() / Path(os.path.expandvars(option)).expanduser()

    def pytest_configure(self, config: pytest.Config) -> None:
        self._path = self._resolve(config)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        self._report = report
        report.title = "Conformance report"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(2, '<th class="sortable" data-column-type="clauses">Clauses</th>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        if cells:
            cells.insert(2, f'<td class="col-clauses">{e(" ".join(_clause_ids(report)))}</td>')

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        record = self._get_record()
        data = to_json(record, self._redactor) if record is not None else None
        prefix.append(render_block(data))
        if data is not None and self._report is not None:
            self._report.title = f"Conformance report: {data['run'].get('target') or 'unknown target'}"

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Iterator[None]:
        result = yield
        path = self._path or self._resolve(session.config)
        if path is not None and path.is_file():
            self.finalize(path)
        return result

    def finalize(self, path: Path) -> None:
        """After pytest-html wrote ``path``: block on top, then every secret form masked."""
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        moved = place_on_top(text)
        if moved != text:
            write_bytes(path, moved.encode("utf-8", errors="surrogateescape"))
        redact_report(path, self._redactor)

"""``junit.xml``: clause verdicts in the shape CI dashboards already understand.

Written by hand (not pytest's ``--junitxml``) because the unit a CI user cares
about is the clause, not the test function: suite ``clauses`` has one case per
clause, suite ``tests`` one case per test, both tagged with clause IDs.
A failed SHOULD is a passing case with a warning in ``system-out`` so that it
never turns a build red on its own.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from conformance.http.redact import Redactor
from conformance.report.certification import to_json, write_bytes
from conformance.verdicts.decide import RunRecord

# Characters XML 1.0 cannot carry at all, even escaped.
_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_RUN_PROPERTIES = ("target", "suite_version", "spec_revision", "profile", "seed", "org_timezone", "started_at")


def _clean(value: Any) -> str:
    """Text safe for XML: illegal control characters shown as ``\\xNN`` instead of breaking the file."""
    return _ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", "" if value is None else str(value))


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: Any) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items() if v is not None})
    if text:
        el.text = _clean(text)
    return el


def _properties(parent: ET.Element, pairs: list[tuple[str, Any]]) -> None:
    props = _el(parent, "properties")
    for name, value in pairs:
        _el(props, "property", name=name, value="" if value is None else value)


def format_findings(findings: list[dict[str, Any]]) -> str:
    """Findings as plain text: message, test, exchange line and the curl to replay it."""
    lines = []
    for i, f in enumerate(findings, 1):
        lines.append(f"{i}. {f['message']}")
        if f.get("test_id"):
            lines.append(f"   test: {f['test_id']}")
        req, resp = f.get("request"), f.get("response")
        if req:
            lines.append(f"   request: {req.get('method', '')} {req.get('url', '')}")
        if resp:
            lines.append(f"   response: HTTP {resp.get('status', '')}")
        if f.get("curl"):
            lines.append(f"   curl: {f['curl']}")
        if isinstance(f.get("reproduction"), dict):
            lines.append(f"   reproduce: bash {f['reproduction']['file']} (in the report directory)")
        if f.get("replay"):
            lines.append(f"   replay the test: {f['replay']}")
    return "\n".join(lines)


def _clause_case(suite: ET.Element, c: dict[str, Any], time: float) -> dict[str, int]:
    case = _el(
        suite,
        "testcase",
        name=f"{c['id']} {c['title']}",
        classname=f"conformance.clauses.{c['group']}",
        time=f"{time:.3f}",
    )
    _properties(
        case,
        [
            ("clause", c["id"]),
            ("level", c["level"]),
            ("group", c["group"]),
            ("verdict", c["verdict"]),
            ("severity", c.get("severity", "none")),
            ("tests", len(c["tests"])),
            ("responses_checked", c.get("responses_checked", 0)),
        ],
    )
    verdict, findings = c["verdict"], c["findings"]
    first = findings[0]["message"] if findings else c.get("reason", "")
    summary = f"{len(findings)} finding(s): {first}" if findings else first
    text = format_findings(findings)
    if c.get("reason"):
        text = f"{c['reason']}\n{text}".strip()
    if verdict == "fail" and c["level"] == "MUST":
        _el(case, "failure", text, message=summary, type=f"{c['level']} {c['id']}")
        return {"failures": 1}
    if verdict == "fail":
        _el(case, "system-out", f"WARNING: {c['level']} clause {c['id']} failed (not a build failure)\n{text}")
        return {}
    if verdict == "error":
        _el(case, "error", text, message=summary or "the suite could not judge this clause", type="error")
        return {"errors": 1}
    if verdict in ("skip", "not_verified", "waived"):
        reason = c.get("reason", "")
        _el(case, "skipped", text or None, message=f"{verdict}: {reason}" if reason else verdict, type=verdict)
        return {"skipped": 1}
    return {}


def _test_case(suite: ET.Element, t: dict[str, Any], messages: list[str], waived: bool = False) -> dict[str, int]:
    path, _, rest = t["nodeid"].partition("::")
    parts = rest.split("::") if rest else [path]
    module = re.sub(r"\.py$", "", path).replace("/", ".").replace("\\", ".")
    classname = ".".join([module, *parts[:-1]]) if rest else module
    case = _el(suite, "testcase", name=parts[-1], classname=classname, time=f"{t.get('duration', 0):.3f}")
    _properties(case, [("clause", cid) for cid in t["clauses"]] + [("findings", t.get("findings", 0))])
    outcome, message = t["outcome"], t.get("message", "")
    if messages:
        _el(case, "system-out", "findings:\n" + "\n".join(messages))
    if outcome == "failed" and waived:  # every clause it charged is waived: not a build failure
        _el(case, "skipped", message, message="waived: " + (message.splitlines()[0] if message else ""), type="waived")
        return {"skipped": 1}
    if outcome == "failed":
        _el(case, "failure", message, message=message.splitlines()[0] if message else "failed")
        return {"failures": 1}
    if outcome == "error":
        _el(case, "error", message, message=message.splitlines()[0] if message else "error")
        return {"errors": 1}
    if outcome == "skipped":
        _el(case, "skipped", None, message=message)
        return {"skipped": 1}
    return {}


def _finish_suite(suite: ET.Element, counts: list[dict[str, int]], time: float) -> dict[str, int]:
    total = {"tests": len(counts), "failures": 0, "errors": 0, "skipped": 0}
    for c in counts:
        for k, v in c.items():
            total[k] += v
    for k, v in total.items():
        suite.set(k, str(v))
    suite.set("time", f"{time:.3f}")
    return total


def build(data: dict[str, Any]) -> ET.Element:
    """The XML tree from a redacted certification dict (see :func:`to_json`)."""
    run = data["run"]
    tests = data.get("tests", [])
    durations = {t["nodeid"]: float(t.get("duration") or 0) for t in tests}
    total_time = float(run.get("duration_s") or sum(durations.values()))
    root = ET.Element("testsuites", {"name": "conformance"})

    clauses = _el(root, "testsuite", name="clauses", timestamp=run.get("started_at"))
    _properties(
        clauses,
        [(k, run.get(k)) for k in _RUN_PROPERTIES]
        + [("openapi_sha256", (run.get("openapi") or {}).get("sha256")), ("certifiable", data["certifiable"])]
        + [("not_certifiable_reason", r) for r in data.get("not_certifiable_reasons", [])],
    )
    clause_counts = [_clause_case(clauses, c, sum(durations.get(n, 0.0) for n in c["tests"])) for c in data["clauses"]]
    totals = [_finish_suite(clauses, clause_counts, total_time)]

    by_test: dict[str, list[str]] = {}
    charged: dict[str, set[str]] = {}  # test -> verdicts of the clauses its findings were charged to
    for c in data["clauses"]:
        for f in c["findings"]:
            if f.get("test_id"):
                by_test.setdefault(f["test_id"], []).append(f"{c['id']}: {f['message']}")
                charged.setdefault(f["test_id"], set()).add(c["verdict"])
    suite = _el(root, "testsuite", name="tests", timestamp=run.get("started_at"))
    test_counts = [
        _test_case(suite, t, by_test.get(t["nodeid"], []), charged.get(t["nodeid"]) == {"waived"}) for t in tests
    ]
    totals.append(_finish_suite(suite, test_counts, sum(durations.values())))

    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(t[key] for t in totals)))
    root.set("time", f"{total_time:.3f}")
    return root


def write(record: RunRecord, path: Path, redactor: Redactor) -> Path:
    root = build(to_json(record, redactor))
    ET.indent(root)
    write_bytes(path, redactor.bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)))
    return path

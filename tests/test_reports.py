"""The report writers, on a run record built from real catalogue clauses.

The record holds every verdict (pass, MUST fail, SHOULD warning, skip,
not verified, error) and evidence with a planted API key in headers and bodies,
in plain and base64-decoded form. The HTML tests run a real pytest with
pytest-html in a subprocess, so they prove the hooks render into the written file.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote, unquote

import jsonschema
import pytest
from pages import Tags

from conformance.http.exchange import Exchange, Finding
from conformance.http.redact import Redactor
from conformance.report import certification, chart, diff, terminal, write_all
from conformance.report import html as html_report
from conformance.report.grouping import group
from conformance.report.repro import build
from conformance.spec import catalogue
from conformance.verdicts.decide import RunRecord, certifiability, decide, exit_code
from conformance.verdicts.decide import TestRecord as _TestRecord
from conformance.verdicts.messages import clean, shape

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "schemas" / "certification.schema.json").read_text())

# A Basic key whose decoded form needs HTML, JSON and XML escaping: a plain-text
# pass over an escaped file would not find it.
DECODED = 'o1:Sup3r&Secret<"é>x'
KEY = base64.b64encode(DECODED.encode()).decode()
PASSWORD = DECODED.split(":", 1)[1]
FORMS = [KEY, DECODED, PASSWORD, base64.b64encode(KEY.encode()).decode()]


def redactor() -> Redactor:
    return Redactor([KEY])


def _exchange() -> Exchange:
    return Exchange(
        method="POST",
        url="https://api.example.test/v2/mailing_lists/run1-a",
        request_headers={"Authorization": f"Basic {KEY}", "Content-Type": "application/json"},
        request_body=json.dumps({"name": f"list for {DECODED}"}).encode(),
        status=405,
        response_headers={
            "Content-Type": "text/html",
            "X-Echo-Auth": f"Basic {KEY}",
            "Location": f"https://api.example.test/login?user={quote(DECODED, safe='')}",
        },
        response_body=f"<h1>Method not allowed</h1><p>user {DECODED}</p>".encode(),
        curl=f"curl -X POST -H 'Authorization: Basic {KEY}' https://api.example.test/v2/mailing_lists/run1-a",
    )


def build_record(*, identity: dict | None = None) -> RunRecord:
    """One record with every verdict, as ``verdicts.decide`` produces it."""
    evidence = _exchange().evidence()
    env_test = "conformance/suite/test_env.py::test_envelope_keys[mailing_lists]"
    tests = [
        _TestRecord(
            env_test,
            ["ENV-1"],
            "failed",
            message=f"body has extra key 'token' = {PASSWORD}\x1b[31m\x00",
            duration=0.25,
            findings=[Finding("ENV-1", f"extra key 'auth' echoes {KEY} <script>alert(1)</script>", evidence, env_test)],
            checked={"ENV-1": 3},
        ),
        _TestRecord(
            "conformance/suite/test_env.py::test_success_shape", ["ENV-2"], "passed", duration=0.1, checked={"ENV-2": 4}
        ),
        _TestRecord(
            "conformance/suite/test_json.py::test_compact",
            ["JSON-3"],
            "passed",
            duration=0.05,
            findings=[
                Finding(
                    "JSON-3",
                    "response JSON is pretty-printed",
                    evidence,
                    "conformance/suite/test_json.py::test_compact",
                )
            ],
        ),
        _TestRecord(
            "conformance/suite/test_auth.py::TestIsolation::test_other_org",
            ["AUTH-4"],
            "skipped",
            message="no second API key given (--api-key-2)",
        ),
        _TestRecord(
            "conformance/suite/test_time.py::test_zone",
            ["TIME-3"],
            "error",
            message=f"fixture org_zone failed: ConnectionError for {DECODED}",
        ),
        _TestRecord("conformance/suite/test_tls.py::test_https_only", ["TLS-1"], "passed", duration=0.3),
    ]
    run_findings = [Finding("STATUS-1", "405 is outside the status table", evidence, "fuzz::POST /mailing_lists")]
    verdicts = decide(catalogue.load(), tests, run_findings)
    ok, reasons = certifiability(verdicts, ["TLS verification disabled (--insecure)"])
    if identity is None:
        identity = {
            "target": "https://api.example.test",
            "suite_version": "0.1.0",
            "spec_revision": catalogue.load().spec_revision,
            "profile": "full",
            "seed": 1234,
            "started_at": "2026-11-02T10:00:00+00:00",
            "finished_at": "2026-11-02T10:01:30+00:00",
            "duration_s": 90.0,
            "openapi": {"source": "bundled", "sha256": "a" * 64},
            "org_timezone": "America/Chicago",
            "settings": {"workers": 2, "api_key": KEY},
            "python": "3.11.9",
            "platform": "Linux",
        }
    return RunRecord(
        identity, verdicts, tests, ok, reasons, {"created": 3, "deleted": 3, "leftover": []}, exit_code(verdicts)
    )


def by_id(data: dict) -> dict[str, dict]:
    return {c["id"]: c for c in data["clauses"]}


def _json_unescape(text: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text).replace('\\"', '"').replace("\\/", "/")


def leaks(text: str) -> list[str]:
    """Secret forms visible in ``text`` after undoing HTML, JSON and base64 ``data:`` encodings."""
    views = [text, html.unescape(text), html.unescape(html.unescape(text))]
    for m in re.finditer(r'data-jsonblob="([^"]*)"', text):
        blob = json.dumps(json.loads(html.unescape(m.group(1))), ensure_ascii=False)
        views += [blob, html.unescape(blob), html.unescape(html.unescape(blob))]
    for view in list(views):
        for m in re.finditer(r"data:[^,\"'&]*;base64,([A-Za-z0-9+/=]+)", view):
            views.append(base64.b64decode(m.group(1)).decode("utf-8", "replace"))
    for _ in range(2):
        views += [_json_unescape(v) for v in views] + [unquote(v) for v in views]
    return sorted({f for f in FORMS for v in views if f in v})


# ---- certification.json ------------------------------------------------------------


@pytest.fixture
def written(tmp_path: Path) -> dict[str, Path]:
    return write_all(build_record(), tmp_path / "reports" / "run1", redactor())


def test_write_all_writes_both_files_creating_the_directory(written: dict[str, Path]) -> None:
    assert set(written) == {"json", "junit"}
    assert written["json"].name == "certification.json" and written["json"].is_file()
    assert written["junit"].name == "junit.xml" and written["junit"].is_file()
    assert not list(written["json"].parent.glob(".*.tmp"))


def test_certification_json_validates_and_carries_every_verdict(written: dict[str, Path]) -> None:
    data = json.loads(written["json"].read_text("utf-8"))
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
    clauses = by_id(data)
    assert len(clauses) == len(catalogue.load())
    assert clauses["ENV-1"]["verdict"] == "fail" and clauses["ENV-1"]["severity"] == "failure"
    assert clauses["JSON-3"]["verdict"] == "fail" and clauses["JSON-3"]["severity"] == "warning"
    assert clauses["ENV-2"]["verdict"] == "pass"
    assert clauses["AUTH-4"]["verdict"] == "skip" and "second API key" in clauses["AUTH-4"]["reason"]
    assert clauses["TIME-3"]["verdict"] == "error"
    assert clauses["TLS-2"]["verdict"] == "not_verified"
    assert data["certifiable"] is False
    assert "TLS verification disabled (--insecure)" in data["not_certifiable_reasons"]
    assert data["summary"]["warnings"] == ["JSON-3"]
    finding = clauses["STATUS-1"]["findings"][0]
    assert finding["test_id"] == "fuzz::POST /mailing_lists"
    assert finding["request"]["method"] == "POST" and finding["response"]["status"] == 405
    assert finding["curl"].startswith("curl -X POST")
    # A finding without recorded steps replays its one request; the script reads the key from the environment.
    assert finding["reproduction"]["file"] == "repro/STATUS-1-1.sh" and finding["reproduction"]["requests"] == 1
    assert '"Authorization: Basic ${CONFORMANCE_API_KEY}"' in finding["reproduction"]["script"]
    assert data["run"]["target"] == "https://api.example.test" and data["run"]["seed"] == 1234


def test_identity_missing_keys_become_null(tmp_path: Path) -> None:
    data = certification.to_json(
        build_record(identity={"target": "https://x.test", "settings": {"ca_bundle": Path("/etc/ca.pem")}}), redactor()
    )
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
    run = data["run"]
    assert run["target"] == "https://x.test" and run["seed"] is None
    assert run["openapi"] == {"source": None, "sha256": None} and run["settings"] == {"ca_bundle": "/etc/ca.pem"}
    assert run["spec_revision"] == catalogue.load().spec_revision and run["python"]


def test_schema_allows_waived_and_reproduced_and_rejects_unknown_verdicts() -> None:
    data = certification.to_json(build_record(), redactor())
    clauses = by_id(data)
    clauses["ENV-2"]["verdict"] = "waived"
    clauses["ENV-1"]["findings"][0]["reproduced"] = {"attempts": 2, "reproduced": 0, "confirmed": False}
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
    clauses["ENV-2"]["verdict"] = "passed"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_json_holds_no_secret_in_any_form(written: dict[str, Path]) -> None:
    text = written["json"].read_text("utf-8")
    assert leaks(text) == []
    assert leaks(json.dumps(json.loads(text), ensure_ascii=False)) == []
    assert "***REDACTED***" in text


def test_reproduction_scripts_are_written_executable_valid_and_hold_no_secret(written: dict[str, Path]) -> None:
    data = json.loads(written["json"].read_text("utf-8"))
    files = {f["reproduction"]["file"]: f for c in data["clauses"] for f in c["findings"] if f["reproduction"]}
    folder = written["json"].parent / "repro"
    assert {f"repro/{p.name}" for p in folder.iterdir()} == set(files) and "repro/ENV-1-2.sh" in files
    for name, f in files.items():
        path = written["json"].parent / name
        assert os.access(path, os.X_OK) and path.read_text("utf-8") == f["reproduction"]["script"]
        assert leaks(path.read_text("utf-8")) == []
        syntax = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert syntax.returncode == 0, syntax.stderr
    # A second run into the same directory leaves no script of the first behind.
    (folder / "OLD-1-9.sh").write_text("stale")
    write_all(build_record(), written["json"].parent, redactor())
    assert not (folder / "OLD-1-9.sh").exists()


def _step(method: str, url: str, status: int, body: dict | None = None, key: str = "CONFORMANCE_API_KEY", **kw):
    headers = {"Authorization": f"Basic ${key}"} | ({"Content-Type": "application/json"} if body else {})
    step = {"method": method, "url": url, "headers": headers, "status": status}
    step["body"] = json.dumps(body) if body is not None else None
    return step | kw


def test_reproduction_rewrites_the_runs_ids_and_deletes_children_first() -> None:
    base = "https://api.example.test/ga/api"
    parent, child = "cft1a2b3c00012f3a", "CFT1A2B3C0002BEEF"
    uuid_id = "123e4567-e89b-42d3-a456-426614174000"
    steps = [
        _step("POST", f"{base}/v2/lists/{parent}", 201, {"name": "x"}, item=f"/lists/{parent}", ids=[parent]),
        _step(
            "PUT",
            f"{base}/v2/lists/{parent}/members/{child}",
            201,
            {"list": parent, "note": "it's $HOME `id`"},
            key="CONFORMANCE_SECOND_API_KEY",
            item=f"/lists/{parent}/members/{child}",
            ids=[parent, child],
        ),
        _step("POST", f"{base}/v2/tags/{uuid_id}", 201, {"n": 1}, item=f"/tags/{uuid_id}", ids=[uuid_id]),
        _step("GET", f"{base}/v2/lists/{parent}/members?limit=100", 200),
    ]
    finding = {"message": "after two POSTs the list shows the member twice", "test_id": "t::x"}
    run = {"target": base + "/", "id_prefix": "cft1a2b3c", "settings": {}}
    repro = build(finding, {"steps": steps}, run, "IDEM-1", 3)
    assert repro is not None and repro["file"] == "repro/IDEM-1-3.sh" and repro["requests"] == 4 and repro["ids"] == 3
    script = repro["script"]
    commands = [line for line in script.splitlines() if not line.startswith("#") and "$(fresh " not in line]
    assert not any(v in line for line in commands for v in (parent, child, uuid_id))
    assert f"ID1=$(fresh {parent})" in script and f"ID3=$(fresh {uuid_id} uuid)" in script
    assert '"${BASE}"/v2/lists/"${ID1}"/members/"${ID2}"' in script
    assert (
        '"Authorization: Basic ${CONFORMANCE_SECOND_API_KEY}"' in script
        and ': "${CONFORMANCE_SECOND_API_KEY:?' in script
    )
    cleanup = script[script.index("cleanup() {") : script.index("trap cleanup EXIT")]
    deletes = re.findall(r"-X DELETE (\S+)", cleanup)
    assert deletes == [
        '"${BASE}"/v2/lists/"${ID1}"/members/"${ID2}"',
        '"${BASE}"/v2/tags/"${ID3}"',
        '"${BASE}"/v2/lists/"${ID1}"',
    ]

    # The script as bash runs it: fresh ids of the same shape, bodies sent byte for byte, the key never expanded
    # into the file. curl is a stub that prints its arguments.
    stub = Path(os.environ.get("TMPDIR", "/tmp")) / f"curl-stub-{os.getpid()}"
    stub.mkdir(exist_ok=True)
    (stub / "curl").write_text('#!/bin/sh\nprintf "ARGS"; for a in "$@"; do printf " [%s]" "$a"; done; echo\n')
    (stub / "curl").chmod(0o755)
    env = {"PATH": f"{stub}:{os.environ['PATH']}", "CONFORMANCE_API_KEY": "k1", "CONFORMANCE_SECOND_API_KEY": "k2"}
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=30)
    assert out.returncode == 0, out.stderr
    sent = [line for line in out.stdout.splitlines() if line.startswith("ARGS")]
    assert len(sent) == 4 + 3
    first = re.search(r"/v2/lists/(\w+)\]", sent[0]).group(1)
    assert first != parent and re.fullmatch(r"[a-f][a-f]t[0-9a-f]{6}[0-9]{4}[0-9a-f]{4}", first)  # the same shape
    member = re.search(r"\[\{\"list\": \"(\w+)\", \"note\": \"it's \$HOME `id`\"\}\]", sent[1])
    assert member and member.group(1) == first  # a parent's id inside a body is the same fresh id
    assert "[Authorization: Basic k2]" in sent[1] and "[Authorization: Basic k1]" in sent[0]
    tag = re.search(r"/v2/tags/([\w-]+)\]", sent[2]).group(1)
    assert tag != uuid_id and re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}", tag)
    missing = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env={"PATH": env["PATH"]})
    assert missing.returncode != 0 and "CONFORMANCE_API_KEY" in missing.stderr and "ARGS" not in missing.stdout


def test_reproduction_of_an_altered_or_verbatim_key_reads_the_key_from_the_environment() -> None:
    url = "https://api.example.test/v2/campaigns"
    altered = {"method": "GET", "url": url, "headers": {"Authorization": "Basic ***REDACTED(altered key)***"}}
    verbatim = {"method": "GET", "url": url, "headers": {"Authorization": "Bearer ***REDACTED***"}}
    script = build({"message": "m"}, {"steps": [verbatim, altered]}, {"target": url}, "AUTH-2", 1)["script"]
    assert '"Authorization: Basic ${ALTERED_KEY}"' in script and 'ALTERED_KEY="${CONFORMANCE_API_KEY%?}"' in script
    assert '"Authorization: Bearer ${CONFORMANCE_API_KEY}"' in script and "REDACTED" not in script


def test_messages_speak_the_suites_language() -> None:
    raw = (
        "[TIME-5] offset sent timedelta(days=-1, seconds=50400) read back as "
        "datetime.datetime(2020, 6, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=68400)))"
        " in ZoneInfo(key='America/Chicago')\nFalsifying example: test_x(\n    data=data(...),\n)\n"
        "Failing test case: x\n@reproduce_failure('6.1', b'AAA')"
    )
    assert clean(raw) == "offset sent -10:00 read back as 2020-06-01T12:00:00-05:00 in America/Chicago"
    plain_text = "name is 'x' (3 chars); expected 403 validation_failed"
    assert clean(plain_text) == plain_text  # nothing to clean: unchanged
    assert clean("pairs 2020-01-01T00:00:00Z at -21600s") == "pairs 2020-01-01T00:00:00Z at -06:00"
    assert clean("[TIME-5] sent in -1 day, 14:00:00") == "sent in -10:00"
    assert clean("body {'a': None, 'b': [True, 'x']} vs [1, 2]") == 'body {"a": null, "b": [true, "x"]} vs [1, 2]'
    assert clean("set {x} and [unclosed 'q'") == "set {x} and [unclosed 'q'"


def test_repeated_findings_group_by_what_went_wrong() -> None:
    msgs = [
        "starts_at 2001-09-09T06:31:40-06:00 has offset -06:00; America/Chicago is at -05:00 at that instant",
        "starts_at 2014-07-14T21:00:36-06:00 has offset -06:00; America/Chicago is at -05:00 at that instant",
        "subscribed_at 2014-07-14T21:00:36-06:00 has offset -06:00; America/Chicago is at -05:00 at that instant",
        "starts_at 2014-03-14T21:00:36+00:00 has offset +00:00; America/Chicago is at -05:00 at that instant",
        "starts_at 2014-07-15T21:00:36-06:00 has offset -06:00; America/Chicago is at -05:00 at that instant",
    ]
    findings = [{"message": m, "test_id": f"t::{i % 2}"} for i, m in enumerate(msgs)]
    groups = group("TIME-3", findings)
    assert [(g.count, [i for i, _ in g.members]) for g in groups] == [(3, [1, 2, 5]), (1, [3]), (1, [4])]
    assert groups[0].tests == ["t::0", "t::1"] and groups[0].first["message"] == msgs[0]
    assert shape(clean("[IDEM-1] after 2 POSTs the list shows cft1a2b3c00012f3a 3 times")) == (
        "after <n> POSTs the list shows <id> <n> times"
    )


def test_capped_findings_keep_every_group_and_count_all_of_them(tmp_path: Path) -> None:
    many = [
        Finding("TIME-3", f"[TIME-3] starts_at 2024-07-{1 + i % 28:02d}T12:00:00-06:00 has offset -06:00", None, "t::a")
        for i in range(60)
    ]
    rare = Finding("TIME-3", "[TIME-3] starts_at 2024-01-10T12:00:00+00:00 has offset +00:00", None, "t::b")
    tests = [_TestRecord("t::a", ["TIME-3"], "passed", findings=[*many, rare], checked={"TIME-3": 61})]
    cv = next(v for v in decide(catalogue.load(), tests, [], max_findings=50) if v.clause.id == "TIME-3")
    assert len(cv.findings) == 50 and cv.findings[-1] is rare  # the last of 61 kept: the first of its group
    assert cv.findings[:49] == many[:49] and "61 findings in 2 group(s)" in cv.reason
    assert cv.groups == {"starts_at <time> has offset -06:00": 60, "starts_at <time> has offset +00:00": 1}
    # The broken case: without the cap nothing is dropped, and the counts are the same.
    whole = next(v for v in decide(catalogue.load(), tests, [], max_findings=100) if v.clause.id == "TIME-3")
    assert len(whole.findings) == 61 and whole.groups == cv.groups and not whole.reason
    record = build_record()
    record.clauses = [cv if v.clause.id == "TIME-3" else v for v in record.clauses]
    data = certification.to_json(record, redactor())
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
    cards = Tags(html_report.render_block(data)).find("details")
    cards = [c for c in cards if c.get("data-clause") == "TIME-3" and "finding-group" in c.get("class", "")]
    assert [(c["data-count"], c["data-total"]) for c in cards] == [("49", "60"), ("1", "1")]


def test_offset_chart_plots_the_zone_against_what_was_seen() -> None:
    summer = [
        {"message": f"starts_at 2024-0{m}-10T12:00:00-06:00 has offset -06:00; America/Chicago is at -05:00"}
        for m in (6, 7, 8)
    ]
    winter = [{"message": "starts_at 2024-01-10T12:00:00-06:00 has offset -06:00; America/Chicago is at -06:00"}]
    svg = chart.render("TIME-3", summer + winter, "America/Chicago")
    tags = Tags(svg)
    root = tags.find("svg")[0]
    assert root["data-points"] == "4" and root["data-off-zone"] == "3"
    assert root["data-zone-offsets"] == "-05:00 -06:00" and root["data-seen-offsets"] == "-06:00"
    assert len(tags.find("polyline")) == 1 and "<script" not in svg and "href" not in svg
    # The broken case: offsets that follow the zone are all on its line.
    right = [{"message": "starts_at 2024-07-10T12:00:00-05:00 has offset"}, *winter]
    assert Tags(chart.render("TIME-3", right, "America/Chicago")).find("svg")[0]["data-off-zone"] == "0"
    assert chart.render("TIME-3", [{"message": "no time here"}], "America/Chicago") == ""
    # TIME-5: the value read back is what the target rendered (the one written had an offset of the suite's choice).
    time5 = [{"message": "starts_at written as 2024-07-01T14:00:00-10:00 reads back as 2024-07-01T14:00:00-06:00"}]
    svg5 = Tags(chart.render("TIME-5", time5, "America/Chicago")).find("svg")[0]
    assert svg5["data-seen-offsets"] == "-06:00" and svg5["data-off-zone"] == "1"


# ---- junit.xml ---------------------------------------------------------------------


def _props(case: ET.Element) -> list[tuple[str, str]]:
    return [(p.get("name"), p.get("value")) for p in case.findall("properties/property")]


def test_junit_has_one_case_per_clause_with_properties_and_counts(written: dict[str, Path]) -> None:
    root = ET.parse(written["junit"]).getroot()
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"clauses", "tests"}
    clauses = suites["clauses"]
    cases = {dict(_props(c))["clause"]: c for c in clauses.findall("testcase")}
    assert len(cases) == len(catalogue.load())
    env1 = cases["ENV-1"]
    assert env1.get("name").startswith("ENV-1 Every body") and env1.get("classname") == "conformance.clauses.ENV"
    assert ("level", "MUST") in _props(env1) and env1.find("failure") is not None
    json3 = cases["JSON-3"]
    assert json3.find("failure") is None and json3.find("skipped") is None
    assert "WARNING" in json3.find("system-out").text
    assert cases["TIME-3"].find("error") is not None
    assert "second API key" in cases["AUTH-4"].find("skipped").get("message")
    assert cases["TLS-2"].find("skipped").get("message").startswith("not_verified")
    n = len(catalogue.load())
    # failures: ENV-1 and STATUS-1 (JSON-3 is a warning); skipped: AUTH-4 and every not_verified
    expected = {"tests": n, "failures": 2, "errors": 1, "skipped": n - 2 - 1 - 1 - 2}
    assert {k: int(clauses.get(k)) for k in expected} == expected


def test_junit_tests_suite_tags_clauses_and_survives_control_characters(written: dict[str, Path]) -> None:
    raw = written["junit"].read_bytes()
    assert b"\x00" not in raw and b"\x1b" not in raw and b"\\x1b" in raw
    suite = next(s for s in ET.fromstring(raw).findall("testsuite") if s.get("name") == "tests")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    env = cases["test_envelope_keys[mailing_lists]"]
    assert env.get("classname") == "conformance.suite.test_env"
    assert ("clause", "ENV-1") in _props(env) and env.find("failure") is not None
    assert cases["test_other_org"].get("classname") == "conformance.suite.test_auth.TestIsolation"
    assert cases["test_other_org"].find("skipped") is not None
    assert cases["test_zone"].find("error") is not None
    assert (int(suite.get("failures")), int(suite.get("errors")), int(suite.get("skipped"))) == (1, 1, 1)


def test_junit_holds_no_secret_in_any_form(written: dict[str, Path]) -> None:
    raw = written["junit"].read_text("utf-8")
    root = ET.fromstring(raw.encode())
    parsed = " ".join([t for el in root.iter() for t in (el.text, *el.attrib.values()) if t])
    assert leaks(raw) == [] and leaks(parsed) == []


# ---- terminal ----------------------------------------------------------------------


def test_terminal_summary_fits_and_names_verdicts_reasons_and_paths(written: dict[str, Path]) -> None:
    out = terminal.render(build_record(), written, redactor=redactor())
    lines = out.splitlines()
    assert max(len(line) for line in lines if " report: " not in line) <= 100  # paths are never wrapped
    assert "\x1b[" not in out
    row = {line.split()[0]: line for line in lines if line and line.split()[0] in catalogue.load()}
    assert len(row) == len(catalogue.load())
    assert "fail" in row["ENV-1"] and "warning" in row["JSON-3"] and "skip" in row["AUTH-4"]
    assert "not_verified" in row["TLS-2"] and "error" in row["TIME-3"]
    assert "Certifiable: NO" in out and "TLS verification disabled" in out
    assert str(written["json"]) in out and str(written["junit"]) in out
    assert leaks(out) == []
    coloured = terminal.render(build_record(), written, redactor=redactor(), color=True)
    assert "\x1b[" in coloured


# ---- diff --------------------------------------------------------------------------


def _verdicts(**verdicts: str) -> dict:
    return {"clauses": [{"id": k.replace("_", "-"), "level": "MUST", "verdict": v} for k, v in verdicts.items()]}


def test_diff_categorises_every_change() -> None:
    old = _verdicts(ENV_1="pass", ENV_2="fail", ENV_3="skip", ENV_4="pass", AUTH_1="pass", TIME_1="error")
    new = _verdicts(ENV_1="fail", ENV_2="pass", ENV_3="error", ENV_4="not_verified", VER_1="pass", TIME_1="pass")
    result = diff.diff(old, new)
    ids = {k: [e["id"] for e in v] for k, v in result.items()}
    assert ids == {
        "regressed": ["ENV-1", "ENV-3"],
        "fixed": ["ENV-2", "TIME-1"],
        "new": ["VER-1"],
        "removed": ["AUTH-1"],
        "changed": ["ENV-4"],
    }
    assert result["regressed"][0] == {"id": "ENV-1", "old": "pass", "new": "fail", "level": "MUST"}


def test_report_diff_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = certification.to_json(build_record(), redactor())
    new = json.loads(json.dumps(old))
    by_id(new)["ENV-2"]["verdict"] = "fail"
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    assert diff.main_diff([str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 1
    out = capsys.readouterr().out
    assert "ENV-2" in out and "regressed" in out and "REGRESSION" in out
    assert diff.main_diff([str(tmp_path / "new.json"), str(tmp_path / "old.json")]) == 0
    assert "1 fixed" in capsys.readouterr().out

    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    for bad in ("bad.json", "list.json", "missing.json"):
        assert diff.main_diff([str(tmp_path / "old.json"), str(tmp_path / bad)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and bad in err and "Traceback" not in err


# ---- report.html -------------------------------------------------------------------


def test_render_block_escapes_and_marks_rows() -> None:
    block = html_report.render_block(certification.to_json(build_record(), redactor()))
    assert "<script>alert(1)</script>" not in block and "&lt;script&gt;alert(1)&lt;/script&gt;" in block
    tags = Tags(block)
    rows = [a for a in tags.find("tr") if "clause-row" in a.get("class", "").split()]
    assert [r["data-clause"] for r in rows] == [c.id for c in catalogue.load()]
    assert tags.find("tr", **{"data-clause": "JSON-3"})[0]["class"] == "clause-row verdict-fail severity-warning"
    assert "\x00" not in block and "\x1b" not in block and "\\x1b[31m" in block
    failing = [a["data-clause"] for a in Tags(block[block.index('id="failing-clauses"') :]).find("li")]
    assert failing[:3] == ["ENV-1", "STATUS-1", "TIME-3"] and failing[-1] == "JSON-3"  # warnings last
    assert html_report.render_block(None).count('data-certifiable="false"') == 1


def _run_pytest_html(tmp_path: Path, *, redact: bool) -> str:
    """A real pytest run with pytest-html and the plugin registered the way conformance.run.plugin does."""
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(f"""
        import os, sys
        import pytest
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_reports import build_record, redactor
        from conformance.report.html import HtmlMatrixPlugin

        _state = {{}}

        def pytest_configure(config):
            config.addinivalue_line("markers", "ENV_1: clause ENV-1")
            if config.getoption("htmlpath"):
                plugin = HtmlMatrixPlugin(lambda: _state.get("record"), redactor() if {redact!r} else None)
                config.pluginmanager.register(plugin, "conformance-html")

        @pytest.hookimpl(tryfirst=True)
        def pytest_sessionfinish(session):
            _state["record"] = build_record()
    """)
    )
    (tmp_path / "test_inline.py").write_text(
        textwrap.dedent(f"""
        import pytest
        from pytest_html import extras as html_extras

        SECRET = {DECODED!r}
        KEY = {KEY!r}

        @pytest.mark.ENV_1
        def test_envelope(extras):
            print("Authorization: Basic", KEY, SECRET)
            extras.append(html_extras.text("echoed " + SECRET, name="echo"))
            extras.append(html_extras.json({{"auth": SECRET}}, name="json"))
            assert SECRET == "something else"

        def test_passes():
            pass
    """)
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:conformance",
            "-p",
            "no:xdist",
            "-p",
            "no:randomly",
            "--html=out/report.html",
            "--self-contained-html",
            "-q",
            "test_inline.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = tmp_path / "out" / "report.html"
    assert proc.returncode == 1 and report.is_file(), proc.stdout + proc.stderr
    return report.read_text("utf-8")


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _run_pytest_html(tmp_path_factory.mktemp("html"), redact=True)


def test_report_html_has_identity_and_matrix_on_top(report_html: str) -> None:
    body = report_html.index("<body>") + len("<body>")
    assert report_html.index(html_report.START) == body
    assert report_html.index('id="clause-matrix"') < report_html.index('id="environment"')
    assert report_html.index('id="failing-clauses"') < report_html.index('id="clause-matrix"')
    tags = Tags(report_html)
    assert tags.find("p", id="certifiable")[0]["data-certifiable"] == "false"
    identity = report_html[report_html.index('id="run-identity"') : report_html.index('id="failing-clauses"')]
    for value in ("https://api.example.test", "0.1.0", "full", "1234", "2026-11-02T10:00:00+00:00", "90.0 s"):
        assert value in identity
    assert "TLS verification disabled (--insecure)" in report_html
    assert '<title id="head-title">Conformance report: https://api.example.test</title>' in report_html


def test_report_html_matrix_rows_counts_and_findings(report_html: str) -> None:
    tags = Tags(report_html)
    rows = {a["data-clause"]: a for a in tags.find("tr") if "clause-row" in a.get("class", "").split()}
    assert list(rows) == [c.id for c in catalogue.load()]
    assert rows["ENV-1"]["class"] == "clause-row verdict-fail" and rows["ENV-1"]["data-verdict"] == "fail"
    assert rows["JSON-3"]["data-severity"] == "warning" and "severity-warning" in rows["JSON-3"]["class"]
    assert rows["TLS-2"]["data-verdict"] == "not_verified" and rows["TIME-3"]["data-verdict"] == "error"
    assert rows["ENV-1"]["data-tests"] == "1"
    groups = [a["data-group"] for a in tags.find("tbody") if "clause-group" in a.get("class", "")]
    assert groups == list(catalogue.load().groups)
    counts = tags.find("div", id="verdict-counts")[0]
    n = len(catalogue.load())
    assert (counts["data-total"], counts["data-pass"], counts["data-fail"], counts["data-warning"]) == (
        str(n),
        "2",
        "3",
        "1",
    )
    assert counts["data-error"] == "1" and counts["data-skip"] == "1" and counts["data-not_verified"] == str(n - 7)
    failing = [a["href"] for a in tags.find("a") if a.get("href", "").startswith("#findings-")]
    assert {"#findings-ENV-1", "#findings-STATUS-1", "#findings-JSON-3", "#findings-TIME-3"} <= set(failing)
    for target in failing:
        assert tags.find("div", id=target[1:]), target
    section = report_html[report_html.index('id="findings-STATUS-1"') :]
    assert "POST https://api.example.test/v2/mailing_lists/run1-a" in section
    assert "HTTP 405" in section and "X-Echo-Auth: Basic ***REDACTED***" in section
    assert 'class="finding-curl">curl -X POST' in section


def test_report_html_per_test_table_has_clause_column(report_html: str) -> None:
    blob = json.loads(html.unescape(re.search(r'data-jsonblob="([^"]*)"', report_html).group(1)))
    rows = {nodeid.split("::")[-1]: runs[0] for nodeid, runs in blob["tests"].items()}
    assert '<td class="col-clauses">ENV-1</td>' in rows["test_envelope"]["resultsTableRow"]
    assert '<th class="sortable" data-column-type="clauses">Clauses</th>' in report_html


def test_report_html_holds_no_secret_in_any_form(report_html: str) -> None:
    assert leaks(report_html) == []


def test_plain_redaction_misses_escaped_keys_and_redact_report_catches_them(tmp_path: Path) -> None:
    text = _run_pytest_html(tmp_path, redact=False)
    assert DECODED in html.unescape(html.unescape(text))  # the failing test leaked it on purpose
    path = tmp_path / "out" / "report.html"
    redactor().file(path)
    assert leaks(path.read_text("utf-8")) != []  # escaped in the JSON blob and base64 in attachments
    assert html_report.redact_report(path, redactor()) is True
    assert leaks(path.read_text("utf-8")) == []
    assert html_report.redact_report(path, redactor()) is False

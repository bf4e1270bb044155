"""A finding's reproduction script, run after the run against the target, shows the violation again.

One run certifies a reference server with two faults (``idem-post-duplicates``: a repeated POST inserts a row;
``time-dst-ignored``: times keep the zone's standard offset all year) for IDEM-1, TIME-3 and TIME-5. The run's
cleanup has deleted every object by then; each clause's first script makes its own (fresh ids), sends the set-up
writes and the violating request, and deletes what it made. Run against the faulty server, its output shows the
violation; run against a correct server (the broken case the check must tell apart), it does not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from connect_proxy import ConnectProxy

from conformance.http.exchange import Exchange
from conformance.model import load_model
from conformance.spec import facts
from conformance.verdicts.steps import StepLog

BASH = shutil.which("bash")
CURL = shutil.which("curl")
NO_SHELL = pytest.mark.skipif(BASH is None or CURL is None, reason="the reproduction scripts need bash and curl")

ZONE = "America/Chicago"
CLAUSES = ("IDEM-1", "TIME-3", "TIME-5")
_TIME = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d)"')


def run_script(script: Path, handle, *, key_index: int = 0, proxy: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    if proxy:
        env["CONFORMANCE_PROXY"] = proxy
    env.update(
        CONFORMANCE_API_KEY=handle.keys[key_index],
        CONFORMANCE_SECOND_API_KEY=handle.keys[1],
        CONFORMANCE_BASE_URL=handle.base_url,
    )
    if handle.ca_bundle:
        env["CONFORMANCE_CA_BUNDLE"] = str(handle.ca_bundle)
    proc = subprocess.run([str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def blocks(output: str) -> dict[str, tuple[str, str, int | None]]:
    """Each ``### what`` block of a script's output: (request line, body, status)."""
    out = {}
    for chunk in output.split("\n### ")[1:]:
        head, _, rest = chunk.partition("\n")
        lines = rest.splitlines()
        request = lines[0] if lines and lines[0].startswith("> ") else ""
        status = next((int(m.group(1)) for line in lines if (m := re.match(r"< HTTP (\d+)", line))), None)
        body = "\n".join(line for line in lines[1:] if not line.startswith("< HTTP "))
        out[head] = (request, body, status)
    return out


def violation(output: str) -> tuple[str, str, int | None]:
    return next(v for k, v in blocks(output).items() if "the violation" in k)


def off_zone(body: str) -> list[str]:
    """Time values whose offset is not the zone's at their instant."""
    zone = ZoneInfo(ZONE)
    bad = []
    for value in _TIME.findall(body):
        t = datetime.fromisoformat(value)
        if t.utcoffset() != t.astimezone(zone).utcoffset():
            bad.append(value)
    return bad


def listed_twice(request: str, body: str) -> list[str]:
    ids = [item["id"] for item in json.loads(body)["data"]]
    return sorted({i for i in ids if ids.count(i) > 1})


@NO_SHELL
def test_reproduction_scripts_show_the_violation_after_the_run_and_only_on_the_faulty_server(certify, reference_server):
    faulty = reference_server(("idem-post-duplicates", "time-dst-ignored"))
    args = ["--profile", "smoke", "--org-timezone", ZONE, "--seed", "20261205"]
    for clause in CLAUSES:
        args += ["--clause", clause]
    run = certify(server=faulty, args=tuple(args))
    assert run.failing() == set(CLAUSES), run.stdout[-3000:]
    record = run.record
    clean = reference_server()

    for clause in CLAUSES:
        entry = next(c for c in record["clauses"] if c["id"] == clause)
        finding = entry["findings"][0]
        repro = finding["reproduction"]
        script = run.report_dir / repro["file"]
        assert repro["file"] == f"repro/{clause}-1.sh" and script.is_file() and os.access(script, os.X_OK)
        text = script.read_text()
        assert text == repro["script"] and text.startswith("#!/usr/bin/env bash")
        # Keys only from the environment, never written; the run's ids only as the shape of the fresh ones.
        assert all(key not in text for key in faulty.keys)
        assert '"Authorization: Basic ${CONFORMANCE_API_KEY}"' in text
        prefix = record["run"]["id_prefix"]
        commands = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        assert all(prefix not in line.split("#")[0] or re.match(r"ID\d+=\$\(fresh ", line) for line in commands)
        assert re.search(r"^ID1=\$\(fresh " + prefix, text, re.M), clause

        seen = run_script(script, faulty)
        request, body, status = violation(seen)
        assert status in (200, 201), seen
        assert prefix not in request  # fresh ids
        if clause == "IDEM-1":
            assert listed_twice(request, body), seen
        else:
            assert off_zone(body), seen
        # It cleaned up after itself: every object it made is gone.
        cleanup = [line for line in seen.splitlines() if line.startswith("DELETE ")]
        assert cleanup and all(line.endswith(("HTTP 200", "HTTP 204", "HTTP 404")) for line in cleanup), seen
        for line in cleanup:
            url = line.split()[1]
            after = subprocess.run(
                [
                    CURL,
                    "-sS",
                    "--cacert",
                    str(faulty.ca_bundle),
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    url,
                    "-H",
                    f"Authorization: Basic {faulty.keys[0]}",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout
            assert after == "404", (url, after)

        # The broken case: the same script against a correct server shows no violation.
        fine = run_script(script, clean)
        request, body, status = violation(fine)
        assert status in (200, 201), fine
        if clause == "IDEM-1":
            assert listed_twice(request, body) == [], fine
        else:
            assert off_zone(body) == [] and _TIME.search(body), fine

    # Through a proxy (a CI that reaches its target only through one): CONFORMANCE_PROXY, every request tunnelled.
    script = run.report_dir / "repro/IDEM-1-1.sh"
    with ConnectProxy(credentials=("ci", "proxy-pass")) as proxy:
        seen = run_script(script, faulty, proxy=proxy.url("ci", "proxy-pass"))
        tunnels = len(proxy.tunnels)
    request, body, _ = violation(seen)
    assert listed_twice(request, body), seen
    assert tunnels >= seen.count("\n> ") >= 2, seen  # each request's curl opened its own tunnel


# ---- which requests a finding replays (no server needed) --------------------------------------------------------


def _ex(method: str, path: str, status: int = 200, body: dict | None = None) -> Exchange:
    return Exchange(
        method=method,
        url=f"https://api.example.test/ga/api/v2{path}",
        request_headers={"Authorization": "Basic $CONFORMANCE_API_KEY"},
        request_body=json.dumps(body).encode() if body is not None else None,
        status=status,
        response_headers={},
        response_body=b"{}",
    )


def test_a_finding_replays_its_objects_writes_and_its_parents_creates_only() -> None:
    log = StepLog(load_model(str(facts.reference_openapi_path())))
    log.begin()  # an earlier test creates the shared parent list
    parent = _ex("POST", "/mailing_lists/cftaaaaaa0001abcd", 201, {"name": "p"})
    log.add(parent)
    log.begin()  # the finding's test
    steps = [
        _ex("POST", "/campaigns/cftaaaaaa0002abcd", 201, {"name": "other"}),  # another object: left out
        _ex("PUT", "/mailing_lists/cftaaaaaa0001abcd/subscribers/cftaaaaaa0003abcd", 201, {"email": "a@b.c"}),
        _ex("GET", "/mailing_lists/cftaaaaaa0001abcd/subscribers/cftaaaaaa0003abcd"),  # a read before: left out
        _ex("PUT", "/mailing_lists/cftaaaaaa0001abcd/subscribers/cftaaaaaa0003abcd", 200, {"email": "x@b.c"}),
        _ex("PUT", "/mailing_lists/cftaaaaaa0001abcd/subscribers/cftaaaaaa0004abcd", 201, {"email": "d@b.c"}),
        _ex("GET", "/mailing_lists/cftaaaaaa0001abcd/subscribers/cftaaaaaa0003abcd"),  # the violation
        _ex("GET", "/mailing_lists/cftaaaaaa0001abcd/subscribers?limit=100"),  # a listing violation
    ]
    for ex in steps:
        log.add(ex)
    picked = log.steps_for(steps[5])
    assert [(s["method"], s["url"].split("/v2")[1], s["status"]) for s in picked] == [
        ("POST", "/mailing_lists/cftaaaaaa0001abcd", 201),  # from the run-wide creates: made by another test
        ("PUT", "/mailing_lists/cftaaaaaa0001abcd/subscribers/cftaaaaaa0003abcd", 201),
        ("PUT", "/mailing_lists/cftaaaaaa0001abcd/subscribers/cftaaaaaa0003abcd", 200),
        ("GET", "/mailing_lists/cftaaaaaa0001abcd/subscribers/cftaaaaaa0003abcd", 200),
    ]
    assert picked[1]["ids"] == ["cftaaaaaa0001abcd", "cftaaaaaa0003abcd"] and picked[1]["body"] == '{"email": "a@b.c"}'
    # A listing replays the object last written in it.
    listing = log.steps_for(steps[6])
    assert [s["url"].split("/v2")[1] for s in listing] == [
        "/mailing_lists/cftaaaaaa0001abcd",
        "/mailing_lists/cftaaaaaa0001abcd/subscribers/cftaaaaaa0004abcd",
        "/mailing_lists/cftaaaaaa0001abcd/subscribers?limit=100",
    ]
    # The broken case: an exchange this test never sent is replayed alone (nothing else is known of it).
    stray = _ex("GET", "/campaigns/cftaaaaaa0009abcd")
    assert [s["url"] for s in log.steps_for(stray)] == [stray.url]

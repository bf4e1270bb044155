"""Hygiene on a vendor's server: the suite touches only the objects it created (per-run
id prefix), deletes them all at the end, also when the run is interrupted with Ctrl-C,
and still writes its reports then."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from conformance.model import load_model
from conformance.model.strategies import minimal_body

PREFIX = "cft"


def _objects(handle) -> list[tuple]:
    """Every stored object's key, in every organization (reads the reference store directly)."""
    store = handle.app.services.store
    with store._lock:
        return [key for objs in store._objects.values() for key in objs]


def _seed_vendor_objects(handle) -> dict[str, dict]:
    """Objects the vendor already has (ids without the run prefix): the suite must not touch them."""
    model = load_model(handle.description)
    seeded = {}
    for resource in model.resources:
        if resource.parent is not None:
            continue
        path = resource.path_for({resource.id_param: f"vendor-own-{resource.name}"})
        url = f"{handle.base_url}/v{model.latest_version}{path}"
        body = minimal_body(resource, model.latest_version)
        resp = requests.post(
            url, json=body, headers={"Authorization": f"Basic {handle.keys[0]}"}, verify=handle.ca_bundle, timeout=10
        )
        assert resp.status_code in (200, 201), resp.text
        seeded[url] = resp.json()["data"]
    handle.app.journal.clear()
    return seeded


def _untouched(handle, seeded: dict[str, dict]) -> None:
    touched = [(m, p) for m, p in handle.app.journal if "vendor-own-" in p]
    assert touched == [], touched
    for url, before in seeded.items():
        resp = requests.get(
            url, headers={"Authorization": f"Basic {handle.keys[0]}"}, verify=handle.ca_bundle, timeout=10
        )
        assert resp.status_code == 200 and resp.json()["data"] == before, url


def _suite_ids(handle) -> list[str]:
    return [key[-1][1] for key in _objects(handle) if not key[-1][1].startswith("vendor-own-")]


def test_full_run_touches_only_its_own_objects_and_removes_them(certify, reference_server):
    """Also the clean reference server's full run in the certification profile (nothing narrowed, confirmation
    re-runs and the stateful model's length as certified, on two xdist workers as on a 2-CPU machine by
    default): every clause passes. The examples are the standard profile's, to keep the project's tests in
    time, so the only reason the record gives against a certificate is that lowered budget."""
    handle = reference_server()
    seeded = _seed_vendor_objects(handle)
    budget = ("--examples", "15", "--fuzz-examples", "20")
    run = certify(args=("--profile", "certification", *budget, "--workers", "2"), server=handle)
    assert run.code == 0, run.stdout[-3000:]
    assert run.record["run"]["workers"] == 2
    assert run.failing() == set(), run.stdout[-3000:]
    assert all(v == "pass" for v in run.verdicts().values()), run.verdicts()
    reasons = run.record["not_certifiable_reasons"]
    assert run.record["certifiable"] is False and reasons and all(r.startswith("budget lowered") for r in reasons)
    prefix = run.record["cleanup"]["prefix"]
    assert prefix.startswith(PREFIX) and run.record["cleanup"]["attempted"] > 0
    assert run.record["cleanup"]["leftover"] == []
    assert _suite_ids(handle) == []
    foreign = [(m, p) for m, p in handle.app.journal if any(not i.startswith(prefix) for i in _item_ids(handle, p))]
    assert foreign == [], foreign[:5]
    _untouched(handle, seeded)


def test_failing_run_cleans_up_too(certify, reference_server):
    """Failures stop tests midway; what they created is still deleted, and only that."""
    handle = reference_server(faults=("idem-merge",))
    seeded = _seed_vendor_objects(handle)
    run = certify(args=("--profile", "smoke", "--no-shrink", "--clause", "IDEM"), server=handle)
    assert run.code == 1 and "IDEM-3" in run.failing(), run.stdout[-3000:]
    assert run.record["cleanup"]["attempted"] > 0 and run.record["cleanup"]["leftover"] == []
    assert _suite_ids(handle) == []
    _untouched(handle, seeded)


def _item_ids(handle, path: str) -> list[str]:
    """The ids in ``path`` when it addresses an item of the model (any version form)."""
    for pattern in _item_patterns(handle.description, urlsplit(handle.base_url).path):
        m = pattern.fullmatch(path)
        if m:
            return list(m.groups())
    return []


@functools.cache
def _item_patterns(description: str, base_path: str) -> list[re.Pattern[str]]:
    return [
        re.compile(re.escape(base_path) + r"(?:/v[^/]+)?" + re.sub(r"\\{[^}]+\\}", "([^/]+)", re.escape(r.item_path)))
        for r in load_model(description).resources
    ]


@pytest.mark.parametrize("workers", ["1", "2"], ids=["one-process", "two-workers"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "ci-cancel"])
def test_ctrl_c_still_cleans_up_and_reports(tmp_path, reference_server, signum, workers):
    """Also when the parent left SIGINT ignored (xdist workers do): the CLI re-arms it. With workers, Ctrl-C
    reaches them all (one process group) while a cancelled CI job signals only the run: either way each
    worker deletes what it created and its account reaches the report, though xdist never delivers it."""
    handle = reference_server()
    record = _interrupted_run(tmp_path, handle, signum, ("--workers", workers))
    assert record["run"]["workers"] == int(workers)


def test_ctrl_c_during_background_deletes_still_cleans_up(tmp_path, reference_server):
    """A far target (20 ms away, through the latency proxy) has each test's objects deleted in the background as
    the test ends: Ctrl-C while that thread is at work still leaves nothing behind, and the report counts what
    it deleted."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from latency import LatencyProxy

    handle = reference_server()
    port = int(handle.base_url.rsplit(":", 1)[1].split("/")[0])
    with LatencyProxy("127.0.0.1", port, rtt_ms=20) as proxy:
        deletes = lambda: sum(1 for m, p in handle.app.journal if m == "DELETE" and "/" + PREFIX in p)  # noqa: E731
        record = _interrupted_run(
            tmp_path,
            handle,
            signal.SIGINT,
            ("--workers", "1"),
            base_url=proxy.url(handle.base_url),
            ready=lambda: deletes() >= 40,  # tests delete some themselves; by then the background has too
        )
    assert record["cleanup"]["during_run"] > 0


def _interrupted_run(tmp_path, handle, signum, args, *, base_url=None, ready=None) -> dict:
    """A standard run of ``handle`` signalled once it created objects (and ``ready()``): its record, after
    checking that it reported the interruption and left nothing of its own behind."""
    seeded = _seed_vendor_objects(handle)
    report_dir = tmp_path / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    env["CONFORMANCE_API_KEY"] = handle.keys[0]
    cmd = [
        sys.executable,
        "-m",
        "conformance",
        "run",
        "--base-url",
        base_url or handle.base_url,
        "--ca-bundle",
        handle.ca_bundle,
        "--profile",
        "standard",  # long enough to be cut short; a worker asked to stop ends its current test first
        "--report-dir",
        str(report_dir),
        *args,
    ]
    kw = {"start_new_session": True} if signum == signal.SIGINT else {}  # Ctrl-C: the terminal signals the group
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path, **kw)
    try:
        deadline = time.monotonic() + 120
        while len(_suite_ids(handle)) < 10 or (ready is not None and not ready()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never created objects"
            time.sleep(0.05)
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (proc.returncode, out[-2000:], err[-2000:])
    assert "Traceback" not in err, err
    record = json.loads((report_dir / "certification.json").read_text())
    assert record["certifiable"] is False
    assert any("interrupted" in r for r in record["not_certifiable_reasons"])
    assert record["cleanup"]["attempted"] > 0 and record["cleanup"]["leftover"] == []
    assert record["cleanup"]["deleted"] == record["cleanup"]["attempted"]
    assert _suite_ids(handle) == [], _suite_ids(handle)[:5]
    assert not (report_dir / ".conformance-workers").exists()
    _untouched(handle, seeded)
    return record


class _Interrupted(Exception):
    """Stands for Ctrl-C arriving while a write is on its way."""


def test_a_write_cut_short_is_still_cleaned_up(reference_server):
    """The object a write may have created is remembered before the write is sent: Ctrl-C or a timeout
    between the server storing it and the suite reading the answer must not leave it behind unknown.
    Only the server's own answer that nothing was created lets the suite forget a path."""
    from conformance.http.client import Client, Credential, Ledger
    from conformance.run.config import Settings
    from conformance.suite._support.target import Ids, Target, new_run_prefix

    handle = reference_server()
    model = load_model(handle.description)
    resource = next(r for r in model.resources if r.parent is None)
    version = model.latest_version
    prefix = new_run_prefix()
    ledger = Ledger(prefix)
    cut = {"now": False}

    def pacer() -> None:  # the client's last step before sending
        if cut["now"]:
            raise _Interrupted

    client = Client(handle.base_url, Credential(handle.keys[0], "CONFORMANCE_API_KEY"), verify=handle.ca_bundle)
    client.pacer = pacer
    target = Target(Settings(), model, client, None, ledger, Ids(prefix))
    body = minimal_body(resource, version)

    cut_short, _ = target.fresh_path(resource, version)
    cut["now"] = True
    with pytest.raises(_Interrupted):
        target.write(resource, cut_short, body, version=version)
    cut["now"] = False
    refused, _ = target.fresh_path(resource, version)
    assert target.write(resource, refused, data=b"[]", version=version).status == 403
    kept = target.create(resource, version=version).path
    assert target.write(resource, kept, data=b"[]", version=version).status == 403  # refused, but it exists

    assert {o.path for o in ledger.pending()} == {cut_short, kept}
    report = target.cleanup()
    assert report["attempted"] == report["deleted"] == 2 and report["leftover"] == []  # 404 counts as gone
    assert _suite_ids(handle) == []

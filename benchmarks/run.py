#!/usr/bin/env python
"""How long the suite takes against the reference server: per profile, next to the bare
cost of its HTTP traffic, with one and two xdist workers, and as the target grows.

    python benchmarks/run.py [--only PARTS] [--quick] [--results benchmarks/RESULTS.md]

Four parts, measured in one invocation on the same machine moment (timings on a shared
machine are noisy, so only figures from the same invocation are compared), each suite
run a real ``python -m conformance run`` subprocess against a fresh in-process
reference server (loopback HTTPS, two organizations, keys in the environment, reports
to a temporary directory), as a vendor's CI runs it:

profiles  the wall time of each profile (smoke, standard, certification).
overhead  the suite at ``--profile`` (standard) next to a bare replay of its own traffic:
          every request the suite sent, taken from the server's journal
          (``app.requests_seen``: method, raw path and query, Authorization / X-Version /
          Content-Type, body), sent again in order by a bare ``requests.Session`` loop in
          a subprocess against a fresh server with the same keys. Printed: both times,
          their ratio, how faithful the replay was, and a split of the suite's wall time
          (a ``--clause TLS-1`` run prices the fixed cost of any run; when
          PYTHONDONTWRITEBYTECODE is set, the same with a warm bytecode cache). Its suite
          run is also the profiles part's row for that profile.
xdist     the same profile with ``-- -n 1`` and ``-- -n 2`` (pytest-xdist).
scale     synthetic descriptions of 4, 40 and 200 resources (``benchmarks/synthetic.py``),
          each served by the reference server and run with ``--openapi`` at one profile
          and narrowing for all sizes (``--scale-profile``, ``--scale-args``): seconds per
          API operation, the start-up (a ``--clause TLS-1`` run of that description), and
          the bare replay of the same traffic, so growth in the server and HTTP is told
          apart from growth in the suite.

``--results FILE`` rewrites the block between ``<!-- bench:begin -->`` and
``<!-- bench:end -->`` in FILE with the machine, the command and the tables.

Nothing here asserts on time; the exit status is 0 unless a measurement itself could
not be made (a run that fails clauses is still measured, and said so). No network
beyond loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DURATIONS = 8  # the suite's slowest tests, shown from its own --durations output
PARTS = ("profiles", "overhead", "xdist", "scale", "remote")
RTTS = (40.0, 100.0)
PROFILES = ("smoke", "standard", "certification")
SCALE_SIZES = (4, 40, 200)
SCALE_PROFILE = "smoke"
FLAT_GOAL = 1.3  # seconds/op at the largest size within this factor of the smallest
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


@dataclass
class Timed:
    seconds: float
    code: int
    stdout: str = ""
    stderr: str = ""
    load: float = 0.0  # the 1-minute load average when the run ended
    cpu: float = 0.0  # user + system CPU seconds of the subprocess and its children (xdist workers)
    own_cpu: float = 0.0  # CPU seconds of this process meanwhile: the in-process reference server


@dataclass
class SuiteRun:
    """One suite run against a fresh reference server, and what that server saw."""

    timed: Timed
    seen: list  # the server's SeenRequest entries, in order
    dropped: int  # journal entries evicted (the journal is bounded): then a replay is partial
    orgs: list[tuple[str, str]]  # (zone, key) of the server's organizations
    record: dict[str, Any]  # certification.json ({} when missing)

    @property
    def requests(self) -> int:
        return len(self.seen)

    @property
    def tests(self) -> int | None:
        return (self.record.get("summary") or {}).get("tests")

    @property
    def failing(self) -> list[str]:
        if not self.record:
            return ["(no certification.json)"]
        return [
            f"{c['id']} {c['verdict']}" for c in self.record.get("clauses", []) if c["verdict"] in ("fail", "error")
        ]

    def cleanup(self) -> str:
        c = self.record.get("cleanup") or {}
        return f"{c.get('deleted', '?')}/{c.get('attempted', '?')}"

    def outcome(self) -> str:
        if self.timed.code == 0:
            return "exit 0"
        return f"exit {self.timed.code}: {', '.join(self.failing) or '?'}"


@dataclass
class Replay:
    seconds: float  # the bare loop only
    wall: float  # the replay subprocess, interpreter included
    identical: int  # replayed requests the second server saw exactly as the first
    same_status: int
    statuses: Counter = field(default_factory=Counter)


@dataclass
class Measurement:
    """The overhead part: a suite run and the bare replay of its traffic."""

    run: SuiteRun
    replay: Replay
    one_clause: float | None = None  # a --clause TLS-1 run
    one_clause_cached: float | None = None  # the same with a warm bytecode cache (if the environment has none)
    durations: list[str] = field(default_factory=list)
    workers_asked: str = "auto"  # the --workers value
    number: int = 1  # which repetition

    @property
    def workers(self) -> int | str:
        """The workers the run reported using (its certification.json)."""
        return (self.run.record.get("run") or {}).get("workers") or "?"

    @property
    def suite(self) -> Timed:
        return self.run.timed

    @property
    def requests(self) -> int:
        return self.run.requests

    @property
    def ratio(self) -> float:
        return self.suite.seconds / self.replay.seconds


@dataclass
class ScalePoint:
    resources: int
    operations: int
    startup: float  # a --clause TLS-1 run of this description
    run: SuiteRun
    replay: Replay | None

    @property
    def per_op(self) -> float:
        return self.run.timed.seconds / self.operations

    def net_per_op(self, startup: float) -> float:
        return (self.run.timed.seconds - startup) / self.operations


# -- the replay worker (a subprocess: client and server must not share one GIL) ------------------------
def replay_worker(path: str, root: str, ca_bundle: str) -> int:
    import requests

    with open(path, "rb") as f:
        batch: list[tuple[str, str, tuple[tuple[str, str], ...], bytes]] = pickle.load(f)
    session = requests.Session()
    session.trust_env = False
    session.headers.update({"User-Agent": "conformance-suite", "Accept": "application/json"})
    statuses = []
    started = time.perf_counter()
    for method, target, headers, body in batch:
        resp = session.request(
            method,
            root + target,
            headers=dict(headers),
            data=body or None,
            verify=ca_bundle,
            allow_redirects=False,
            timeout=30,
        )
        resp.content  # noqa: B018 - read the whole body, as the suite does
        statuses.append(resp.status_code)
    seconds = time.perf_counter() - started
    session.close()
    json.dump({"seconds": seconds, "statuses": statuses}, sys.stdout)
    return 0


# -- running the suite ---------------------------------------------------------------------------
def _suite_env(handle) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))  # this checkout
    env["CONFORMANCE_API_KEY"] = handle.keys[0]
    if len(handle.keys) > 1:
        env["CONFORMANCE_SECOND_API_KEY"] = handle.keys[1]
    return env


def _suite_cmd(handle, profile: str, report_dir: Path, *extra: str, python: tuple[str, ...] = ()) -> list[str]:
    """``conformance run`` against ``handle``; ``extra`` may hold ``--`` and pytest's own options."""
    cmd = [sys.executable, *python, "-m", "conformance", "run", "--base-url", handle.base_url]
    if handle.ca_bundle:
        cmd += ["--ca-bundle", handle.ca_bundle]
    if handle.description != str(_reference_description()):
        cmd += ["--openapi", handle.description]
    return cmd + ["--profile", profile, "--report-dir", str(report_dir), *extra]


def _reference_description() -> Path:
    from conformance.spec import facts

    return facts.reference_openapi_path()


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> Timed:
    before, own = _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    seconds = time.perf_counter() - started
    cpu, own = _cpu(resource.RUSAGE_CHILDREN) - before, _cpu(resource.RUSAGE_SELF) - own
    return Timed(seconds, proc.returncode, proc.stdout, proc.stderr, os.getloadavg()[0], cpu, own)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _record(report_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((report_dir / "certification.json").read_text())
    except (OSError, ValueError):
        return {}


def _durations(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if "slowest" in line and "durations" in line:
            return [x.strip() for x in lines[i + 1 : i + 1 + DURATIONS] if x.strip()]
    return []


def one_clause(
    handle, profile: str, work: Path, name: str = "tls1", env: dict[str, str] | None = None, workers: str = "auto"
) -> float:
    """The wall time of a ``--clause TLS-1`` run: the fixed cost of any run against this target."""
    cmd = _suite_cmd(handle, profile, work / name, "--clause", "TLS-1", "--workers", workers)
    return _timed(cmd, env or _suite_env(handle), work).seconds


def suite_run(handle, profile: str, work: Path, *extra: str) -> SuiteRun:
    """One suite run against ``handle`` (a server nobody else talks to), with what it saw."""
    app = handle.app
    app.journal.clear()
    app.requests_seen.clear()
    report_dir = work / "reports"
    timed = _timed(_suite_cmd(handle, profile, report_dir, *extra), _suite_env(handle), work)
    return SuiteRun(
        timed=timed,
        seen=list(app.requests_seen),
        dropped=app.requests_seen.dropped,
        orgs=list(zip(handle.org_timezones, handle.keys, strict=True)),
        record=_record(report_dir),
    )


def fresh_run(profile: str, work: Path, *extra: str, description: str | None = None) -> SuiteRun:
    from conformance.reference.server import start_server

    work.mkdir(parents=True, exist_ok=True)
    with start_server(description=description) as handle:
        run = suite_run(handle, profile, work, *extra)
    if not run.seen:
        raise RuntimeError(f"the suite sent no request (exit {run.timed.code}): {run.timed.stderr[-2000:]}")
    return run


def replay(run: SuiteRun, work: Path, description: str | None = None) -> Replay:
    """The requests ``run`` sent, again, in order, by a bare loop against a fresh server with the same keys."""
    from conformance.reference.server import start_server

    batch = [(e.method, e.target, e.headers, e.body) for e in run.seen]
    batch_file = work / "replay.pickle"
    batch_file.write_bytes(pickle.dumps(batch))
    fresh = start_server(orgs=run.orgs, description=description)  # same keys: Authorization replays as it was
    try:
        parts = urlsplit(fresh.base_url)
        root = f"{parts.scheme}://{parts.netloc}"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--replay-worker", str(batch_file), root]
        timed = _timed([*cmd, fresh.ca_bundle or ""], os.environ.copy(), work)
        if timed.code != 0:
            raise RuntimeError(f"the replay failed: {timed.stderr[-2000:]}")
        result = json.loads(timed.stdout)
        assert fresh.app is not None  # start_server always serves an app
        again = list(fresh.app.requests_seen)
    finally:
        fresh.stop()
        batch_file.unlink()

    def request_of(e) -> tuple:
        return (e.method, e.target, e.headers, e.body)

    return Replay(
        seconds=result["seconds"],
        wall=timed.seconds,
        identical=sum(request_of(a) == request_of(b) for a, b in zip(run.seen, again, strict=False)),
        same_status=sum(a.status == s for a, s in zip(run.seen, result["statuses"], strict=False)),
        statuses=Counter(result["statuses"]),
    )


# -- the parts --------------------------------------------------------------------------------------
def measure(profile: str, split: bool, work: Path, workers: str = "auto") -> Measurement:
    """The overhead part: the suite (with ``--workers``), then the bare replay of its traffic."""
    from conformance.reference.server import start_server

    work.mkdir(parents=True, exist_ok=True)
    fixed = fixed_cached = None
    with start_server() as handle:
        env = _suite_env(handle)
        if split:
            fixed = one_clause(handle, profile, work, "tls1", env, workers)
            if env.get("PYTHONDONTWRITEBYTECODE"):
                cached = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
                cached["PYTHONPYCACHEPREFIX"] = str(work / "pycache")  # out of the checkout and the venv
                for _ in range(2):  # the first run fills the cache
                    fixed_cached = one_clause(handle, profile, work, "tls1c", cached, workers)
        run = suite_run(handle, profile, work, "--workers", workers, "--", f"--durations={DURATIONS}")
    if not run.seen:
        raise RuntimeError(f"the suite sent no request (exit {run.timed.code}): {run.timed.stderr[-2000:]}")
    return Measurement(
        workers_asked=workers,
        run=run,
        replay=replay(run, work),
        one_clause=fixed,
        one_clause_cached=fixed_cached,
        durations=_durations(run.timed.stdout),
    )


def measure_scale(n: int, profile: str, extra: tuple[str, ...], with_replay: bool, work: Path) -> ScalePoint:
    """One size of the scale part: its description, start-up cost, suite run and (optionally) bare replay."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import synthetic

    from conformance.fuzz.operations import operations
    from conformance.model import load_model
    from conformance.reference.server import start_server

    work.mkdir(parents=True, exist_ok=True)
    description = str(synthetic.write(n, work / "description"))
    ops = len(operations(load_model(description)))
    with start_server(description=description) as handle:
        startup = one_clause(handle, profile, work)
        run = suite_run(handle, profile, work, *extra)
    if not run.seen:
        raise RuntimeError(f"the suite sent no request (exit {run.timed.code}): {run.timed.stderr[-2000:]}")
    return ScalePoint(n, ops, startup, run, replay(run, work, description) if with_replay else None)


# -- printing ----------------------------------------------------------------------------------------
def _row(label: str, seconds: float, requests: int | None = None, note: str = "") -> str:
    rate = f"{requests:>7} requests {requests / seconds:>8.1f} req/s" if requests else ""
    return f"  {label:<52} {seconds:>8.2f} s  {rate}{note}"


def report(m: Measurement, profile: str, number: int, total: int) -> None:
    print(f"\n== overhead: profile {profile}, --workers {m.workers_asked} ({m.workers}), run {number} of {total} ==")
    print(_row(f"suite: python -m conformance run ({m.run.outcome()})", m.suite.seconds, m.requests))
    r = m.replay
    print(_row("bare replay: requests.Session loop", r.seconds, m.requests, f"  ({r.wall:.2f} s wall)"))
    print(f"  {'ratio suite / bare replay':<52} {m.ratio:>8.1f} x")
    print(
        f"  replay fidelity: {r.identical}/{m.requests} requests byte-identical at the server, "
        f"{r.same_status}/{m.requests} answered with the same status"
        + (f"; {m.run.dropped} journal entries evicted: partial replay" if m.run.dropped else "")
    )
    print(f"  replay statuses: {', '.join(f'{s}: {n}' for s, n in sorted(r.statuses.items()))}")
    if m.one_clause is not None:
        s = m.suite.seconds
        print("  split of the suite's wall time (approximate: separate runs, a noisy machine):")
        rows = [
            ("fixed cost of any run (a --clause TLS-1 run)", m.one_clause),
            ("+ its HTTP traffic at bare-replay cost", r.seconds),
            ("+ the rest: the suite's own work between requests", s - m.one_clause - r.seconds),
        ]
        for label, value in rows:
            print(f"    {label:<58} {value:>8.2f} s  {100 * value / s:>3.0f}%")
        if m.one_clause_cached is not None:
            print(
                f"    (PYTHONDONTWRITEBYTECODE is set: no bytecode cache, pytest re-rewrites its plugins' modules "
                f"every run; with a warm cache the TLS-1 run takes {m.one_clause_cached:.2f} s)"
            )
    if m.durations:
        print("  the suite's slowest tests (its own --durations):")
        for line in m.durations:
            print(f"    {line}")
    _stderr_tail(m.run)


def _stderr_tail(run: SuiteRun) -> None:
    if run.timed.code != 0:
        print(f"  note: the suite exited {run.timed.code} against a clean reference server: {', '.join(run.failing)}")
        if run.timed.code != 1:
            print(f"  its stderr ends with:\n{run.timed.stderr[-1500:]}")


def summary(runs: list[Measurement], profile: str, workers: str) -> None:
    suite = [m.suite.seconds for m in runs]
    replays = [m.replay.seconds for m in runs]
    ratio = [m.ratio for m in runs]
    print(f"\n== overhead: profile {profile}, --workers {workers}: {len(runs)} runs (min / median / max) ==")
    for label, values, unit in (("suite", suite, "s"), ("bare replay", replays, "s"), ("ratio", ratio, "x")):
        print(f"  {label:<12} {min(values):8.2f} {statistics.median(values):8.2f} {max(values):8.2f} {unit}")


def _md(header: list[str], rows: list[list[str]]) -> list[str]:
    align = ["---" if i == 0 else "---:" for i in range(len(header))]
    return [f"| {' | '.join(header)} |", f"| {' | '.join(align)} |", *(f"| {' | '.join(r)} |" for r in rows)]


def _text(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
    fmt = [lambda s, w=w, i=i: s.ljust(w) if i == 0 else s.rjust(w) for i, w in enumerate(widths)]
    return ["  " + "  ".join(f(c) for f, c in zip(fmt, r, strict=True)) for r in (header, *rows)]


def _plain(rows: list[list[str]]) -> list[list[str]]:
    return [[c.replace("**", "").replace("`", "") for c in r] for r in rows]


@dataclass
class Results:
    """Everything measured in this invocation, for the closing tables."""

    profile: str  # the overhead / xdist profile
    profiles: dict[str, SuiteRun] = field(default_factory=dict)
    overhead: list[Measurement] = field(default_factory=list)
    xdist: dict[str, SuiteRun] = field(default_factory=dict)
    scale: list[ScalePoint] = field(default_factory=list)
    scale_profile: str = SCALE_PROFILE
    scale_args: tuple[str, ...] = ()
    remote: list[Any] = field(default_factory=list)  # remote.RemoteRow
    remote_profile: str = "standard"

    def tables(self) -> list[tuple[str, str, list[str], list[list[str]], list[str]]]:
        """(part, title, header, rows, notes) of every part that ran."""
        out = []
        if self.profiles:
            rows = [
                [
                    f"`{name}`",
                    f"{r.timed.seconds:.1f} s",
                    str(r.tests or "?"),
                    str(r.requests),
                    f"{r.requests / r.timed.seconds:.0f}",
                    f"{r.timed.cpu:.1f} s",
                    f"{r.timed.load:.1f}",
                    r.outcome(),
                ]
                for name, r in self.profiles.items()
            ]
            header = ["profile", "suite wall", "tests", "requests", "req/s", "suite CPU", "load", "result"]
            notes = [f"The `{self.profile}` row is part (b)'s suite run."] if self.overhead else []
            out.append(("profiles", "(a) Profiles against the reference server", header, rows, notes))
        if self.overhead:
            rows = [
                [
                    f"`{self.profile}` #{m.number}",
                    str(m.workers),
                    f"{m.suite.seconds:.1f} s",
                    f"{m.replay.seconds:.2f} s",
                    f"**{m.ratio:.1f}×**",
                    str(m.requests),
                    f"{m.replay.identical}/{m.requests}, {m.replay.same_status}/{m.requests}",
                    f"{m.one_clause:.2f} s" if m.one_clause is not None else "—",
                ]
                for m in self.overhead
            ]
            header = ["run", "workers", "suite wall", "bare replay", "suite / replay", "requests"]
            header.append("identical, same status")
            header.append("fixed (TLS-1 run)")
            out.append(
                (
                    "overhead",
                    "(b) Overhead: the suite / a bare `requests` loop replaying its requests",
                    header,
                    rows,
                    [
                        "Workers: the suite's xdist workers (`--workers`; its default `auto` is the usable CPUs, "
                        "at most 4: 2 here). The bare replay is one loop in one process either way.",
                        "Fixed: a `--clause TLS-1` run with the same workers (interpreter, imports, workers' "
                        "start-up, collection, reports).",
                    ],
                )
            )
        if self.xdist:
            base = self.xdist.get("--workers 1")
            rows = []
            for label, r in self.xdist.items():
                speed = f"{base.timed.seconds / r.timed.seconds:.2f}×" if base else "—"
                rows.append(
                    [
                        f"`{label}`",
                        f"{r.timed.seconds:.1f} s",
                        str(r.requests),
                        f"{r.requests / r.timed.seconds:.0f}",
                        speed,
                        f"{r.timed.cpu:.1f} s",
                        f"{r.timed.own_cpu:.1f} s",
                        f"{r.timed.load:.1f}",
                        r.outcome(),
                    ]
                )
            header = ["workers", "suite wall", "requests", "req/s", "speed-up vs 1", "suite CPU", "server CPU"]
            header += ["load", "result"]
            notes = [
                "`--workers 1` runs every test in the `conformance run` process; `--workers N` on N pytest-xdist "
                "workers. Suite CPU: user + system seconds of the `conformance run` process and its xdist workers. "
                "Server CPU: the benchmark's own process meanwhile, i.e. the in-process reference server "
                "(one thread, one GIL)."
            ]
            out.append(("xdist", f"(c) Workers (pytest-xdist), profile `{self.profile}`", header, rows, notes))
        if self.scale:
            first = self.scale[0]
            rows = []
            for i, p in enumerate(self.scale):
                net, net0 = p.net_per_op(first.startup), first.net_per_op(first.startup)
                before = self.scale[i - 1].net_per_op(first.startup) if i else net
                rep = p.replay
                rows.append(
                    [
                        str(p.resources),
                        str(p.operations),
                        str(p.run.tests or "?"),
                        str(p.run.requests),
                        f"{p.run.requests / p.operations:.0f}",
                        f"{p.startup:.1f} s",
                        f"{p.run.timed.seconds:.1f} s",
                        f"{p.per_op:.3f}",
                        f"{p.per_op / first.per_op:.2f}×",
                        f"{net:.3f}",
                        f"**{net / net0:.2f}×**",
                        f"{net / before:.2f}×",
                        f"{1000 * p.run.timed.seconds / p.run.requests:.1f} ms",
                        f"{1000 * rep.seconds / p.run.requests:.2f} ms" if rep else "—",
                        p.run.cleanup(),
                        f"{p.run.timed.load:.1f}",
                        p.run.outcome(),
                    ]
                )
            header = ["resources", "operations", "tests", "requests", "req/op", "start-up", "suite wall", "s/op"]
            header += [
                "× smallest",
                "net s/op",
                "net ×",
                "net × previous size",
                "suite per request",
                "bare replay per request",
                "cleanup",
            ]
            header += ["load", "result"]
            narrowing = " ".join(["--profile", self.scale_profile, *self.scale_args])
            notes = [
                f"Every size ran `conformance run --openapi synthetic-N.yaml {narrowing}` (the same for all sizes).",
                "Operations: the description's API operations (item GET/POST/PUT/DELETE, collection GET).",
                "Start-up: a `--clause TLS-1` run of that description (interpreter, imports, model, collection).",
                f"Net s/op: (suite wall − the {first.resources}-resource start-up) / operations; "
                f"goal: net × at the largest size ≤ {FLAT_GOAL}.",
                "Bare replay per request: the suite's requests sent again by a bare loop to a fresh server "
                "(server + HTTP cost; its growth is the server's, not the suite's).",
                "Cleanup: objects the suite deleted at the end / objects it created (it stops after 60 s).",
            ]
            out.append(
                ("scale", "(d) Scale: synthetic descriptions served by the reference server", header, rows, notes)
            )
        if self.remote:
            import remote

            notes = [
                "A loopback TCP proxy of the project's own (`benchmarks/latency.py`) holds each chunk half the round "
                "trip in each direction; TLS passes through it untouched.",
                "Requests: from the run's record (`run.requests`); schemathesis': counted by the server.",
                "Peak connections: open at once through the proxy. Critical path: the slowest single test.",
                f"`--workers auto` measures the round trip and runs one worker per {remote_rtt_step():g} ms of it "
                "(up to 8), within `--max-connections` (default 16).",
                f"The `--max-connections {remote.WIDE_CAP}` row is the first profile at the first round trip with the "
                "cap raised: what 16 HTTP/1.1 connections cost there (not a default the suite takes).",
            ]
            shown = ", ".join(f"`{p.strip()}`" for p in self.remote_profile.split(","))
            title = f"(e) Remote: profiles {shown} direct and across a network, and the peer"
            out.append(("remote", title, remote.REMOTE_HEADER, remote.table(self.remote), notes))
        return out

    def print_tables(self) -> None:
        for _, title, header, rows, notes in self.tables():
            print(f"\n== {title} ==")
            for line in _text(header, _plain(rows)):
                print(line)
            for note in notes:
                print(f"  {note}")


def remote_rtt_step() -> float:
    from conformance.run.config import REMOTE_RTT_MS

    return REMOTE_RTT_MS


def machine(load: bool = True) -> str:
    text = f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), Python {platform.python_version()}, "
    text += platform.platform()
    return text + (", load average " + _load() if load else "")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _git() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
        dirty = subprocess.run(["git", "status", "--porcelain", "-uno"], capture_output=True, text=True, cwd=ROOT)
    except OSError:
        return "unknown"
    changed = len(dirty.stdout.splitlines())
    return head.stdout.strip() + (f" plus uncommitted changes to {changed} tracked files" if changed else "")


def write_results(
    path: Path, results: Results, command: str, started: str, tree: str, load_before: str, seconds: float
) -> None:
    """Rewrite the marked block of ``path``: this invocation's parts replace theirs, the others stay as they were."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    old: dict[str, str] = {}
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        block, tail = rest.split(END, 1)
        for part in PARTS:
            found = re.search(rf"<!-- bench:{part} -->\n.*?<!-- /bench:{part} -->", block, re.S)
            if found:
                old[part] = found.group(0)
    else:
        head, tail = text.rstrip("\n") + "\n\n", "\n"
    when = (
        f"Measured {started} by `{command}` (the whole invocation: {seconds / 60:.1f} min; tree at its start: {tree}; "
        f"load average {load_before} at its start, {_load()} at its end)."
    )
    new = {}
    for part, title, header, rows, notes in results.tables():
        lines = [f"<!-- bench:{part} -->", f"### {title}", "", when, "", *_md(header, rows)]
        if notes:
            lines += ["", *(f"- {n}" for n in notes)]
        new[part] = "\n".join([*lines, f"<!-- /bench:{part} -->"])
    intro = (
        f"Machine: {machine(load=False)}. It is shared: other agents' test runs were using it at the "
        "same time, so single figures are noisy (±15 % or more); each table's `load` column is the "
        "1-minute load average when that run ended. Figures are compared only within one invocation "
        "(each table says which)."
    )
    sections = [new.get(part) or old.get(part) for part in PARTS]
    path.write_text(head + "\n\n".join([BEGIN, intro, *filter(None, sections)]) + "\n" + END + tail)
    print(f"\nwrote {', '.join(new) or 'nothing'} to {path}")


# -- profiling aids ----------------------------------------------------------------------------------
def run_cprofile(profile: str, work: Path, out: str, description: str | None = None, extra: tuple = ()) -> None:
    """One more suite run under cProfile (slower than a plain run: not compared with anything), with the
    reference server's thread profiled too (to ``OUT.server``): both sides of the traffic, by function."""
    import cProfile
    import pstats
    import threading

    from conformance.reference.server import start_server

    server_prof = cProfile.Profile()

    def arm(*_: object) -> None:  # the first event in a new thread: profile that thread from here on
        sys.setprofile(None)
        server_prof.enable()

    threading.setprofile(arm)  # only threads started from here: the server's
    try:
        handle = start_server(description=description)
    finally:
        threading.setprofile(None)
    with handle:
        cmd = _suite_cmd(handle, profile, work / "prof", *extra, python=("-m", "cProfile", "-o", out))
        t = _timed(cmd, _suite_env(handle), work)
    server_prof.dump_stats(out + ".server")
    what = f"{Path(description).name} " if description else ""
    print(f"\n== cProfile of one suite run {what}({t.seconds:.1f} s under the profiler, exit {t.code}): {out} ==")
    stats = pstats.Stats(out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)
    print(f"\n== the reference server's thread in that run: {out}.server ==")
    pstats.Stats(out + ".server").sort_stats("tottime").print_stats(20)


def run_importtime(profile: str, work: Path) -> None:
    """The heaviest imports of a --clause TLS-1 run (``python -X importtime``)."""
    from conformance.reference.server import start_server

    with start_server() as handle:
        cmd = _suite_cmd(handle, profile, work / "imp", "--clause", "TLS-1", python=("-X", "importtime"))
        t = _timed(cmd, _suite_env(handle), work)
    rows = []
    for line in t.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line[len("import time:") :].split("|", 2)
            if not name.startswith("  "):  # top-level imports only (nested ones are indented)
                rows.append((int(cumulative), name.strip()))
    rows.sort(reverse=True)
    total = sum(c for c, _ in rows)
    print(f"\n== imports of a --clause TLS-1 run ({t.seconds:.2f} s wall, {total / 1e6:.2f} s in top-level imports) ==")
    for micros, module in rows[:15]:
        print(f"  {micros / 1e6:7.3f} s  {module}")


# -- main ----------------------------------------------------------------------------------------------
def _csv(kind: type, choices: tuple | None = None):
    def parse(text: str) -> tuple:
        values = tuple(kind(x) for x in re.split(r"[,\s]+", text.strip()) if x)
        bad = [v for v in values if choices and v not in choices]
        if bad or not values:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(choices or ('values',))}")
        return values

    return parse


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--only", type=_csv(str, PARTS), default=PARTS, metavar="PARTS", help=f"of {','.join(PARTS)}")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a shorter pass: profiles without certification, overhead without the TLS-1 split, scale at 4 and 40",
    )
    p.add_argument("--profile", default="standard", help="the overhead and xdist parts' profile (default standard)")
    p.add_argument(
        "--profiles",
        type=_csv(str, PROFILES),
        default=None,
        metavar="P,P",
        help="the profiles part's (default smoke,standard,certification)",
    )
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="measure the overhead part N times (default 1)")
    p.add_argument(
        "--overhead-workers",
        type=_csv(str),
        default=("auto", "1"),
        metavar="W,W",
        help="the overhead part's --workers values (default auto,1: the default, then one process)",
    )
    p.add_argument("--no-split", action="store_true", help="skip the TLS-1 runs that price the fixed cost")
    p.add_argument("--scale-sizes", type=_csv(int), default=None, metavar="N,N", help="default 4,40,200")
    p.add_argument("--scale-profile", default=SCALE_PROFILE, help=f"the scale part's profile (default {SCALE_PROFILE})")
    p.add_argument(
        "--scale-args",
        default="",
        metavar="ARGS",
        help="more `conformance run` arguments for every scale run, e.g. \"--clause IDEM -- -k 'not fuzz'\"",
    )
    p.add_argument("--no-scale-replay", action="store_true", help="skip the bare replay of each scale run")
    p.add_argument("--results", metavar="FILE", help="write the tables into FILE's marked block (e.g. RESULTS.md)")
    p.add_argument(
        "--cprofile",
        metavar="FILE",
        help="also run --profile once under cProfile, stats to FILE (the server's to FILE.server)",
    )
    p.add_argument("--scale-cprofile", metavar="FILE", help="also run the largest scale size once under cProfile")
    p.add_argument("--importtime", action="store_true", help="also list the heaviest imports (-X importtime)")
    p.add_argument(
        "--rtt-ms",
        type=_csv(float),
        default=RTTS,
        metavar="MS,MS",
        help="the remote part's added round trips (default 40,100)",
    )
    p.add_argument(
        "--remote-profile",
        default="standard,certification",
        help="the remote part's profiles, comma-separated (default standard,certification)",
    )
    p.add_argument("--replay-worker", nargs=3, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.replay_worker:
        return replay_worker(*args.replay_worker)

    sys.path.insert(0, str(ROOT))  # `python benchmarks/run.py` from a checkout, installed or not
    command = " ".join(["python benchmarks/run.py", *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
    started_at, started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), time.perf_counter()
    load_before, tree = _load(), _git()
    print(f"machine: {machine()}", flush=True)
    profiles = args.profiles or (PROFILES[:2] if args.quick else PROFILES)
    sizes = args.scale_sizes or (SCALE_SIZES[:2] if args.quick else SCALE_SIZES)
    scale_args = tuple(shlex.split(args.scale_args))
    split = not (args.no_split or args.quick)
    results = Results(args.profile, scale_profile=args.scale_profile, scale_args=scale_args)
    with tempfile.TemporaryDirectory(prefix="conformance-bench-") as tmp:
        work = Path(tmp)
        if "overhead" in args.only:
            for i in range(args.repeat):
                for workers in args.overhead_workers:
                    m = measure(args.profile, split, work / f"overhead{i}-{workers}", workers)
                    m.number = i + 1
                    report(m, args.profile, i + 1, args.repeat)
                    results.overhead.append(m)
            if args.repeat > 1:
                for workers in args.overhead_workers:
                    summary([m for m in results.overhead if m.workers_asked == workers], args.profile, workers)
        if "profiles" in args.only:
            print("\n== profiles ==", flush=True)
            for name in profiles:
                if name == args.profile and results.overhead:
                    run = results.overhead[0].run  # measured above, in this invocation
                else:
                    run = fresh_run(name, work / f"profile-{name}")
                results.profiles[name] = run
                print(_row(f"--profile {name} ({run.outcome()})", run.timed.seconds, run.requests), flush=True)
        if "xdist" in args.only:
            print(f"\n== xdist, profile {args.profile} ==", flush=True)
            for n in (1, 2, 3):
                run = fresh_run(args.profile, work / f"xdist{n}", "--workers", str(n))
                results.xdist[f"--workers {n}"] = run
                print(_row(f"--workers {n} ({run.outcome()})", run.timed.seconds, run.requests), flush=True)
                _stderr_tail(run)
        if "scale" in args.only:
            narrowing = " ".join(["--profile", args.scale_profile, *scale_args])
            print(f"\n== scale: {', '.join(map(str, sizes))} resources, each run with {narrowing} ==", flush=True)
            for n in sizes:
                point = measure_scale(n, args.scale_profile, scale_args, not args.no_scale_replay, work / f"scale{n}")
                results.scale.append(point)
                rep = f", bare replay {point.replay.seconds:.1f} s" if point.replay else ""
                print(
                    _row(
                        f"{n} resources, {point.operations} operations ({point.run.outcome()})", point.run.timed.seconds
                    )
                    + f"  {point.per_op:.3f} s/op, start-up {point.startup:.1f} s, {point.run.requests} requests{rep}",
                    flush=True,
                )
                _stderr_tail(point.run)
        if "remote" in args.only:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            import remote

            rtts = ", ".join(f"{r:g} ms" for r in args.rtt_ms)
            print(
                f"\n== remote, profile {args.remote_profile}: direct and through a proxy adding {rtts} ==", flush=True
            )
            profiles = [p.strip() for p in args.remote_profile.split(",") if p.strip()]
            results.remote = remote.measure(list(args.rtt_ms), profiles, work / "remote")
            results.remote_profile = args.remote_profile
        results.print_tables()
        if args.importtime:
            run_importtime(args.profile, work)
        if args.cprofile:
            run_cprofile(args.profile, work, str(Path(args.cprofile).resolve()))
        if args.scale_cprofile:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            import synthetic

            description = str(synthetic.write(max(sizes), work / "prof-description"))
            out = str(Path(args.scale_cprofile).resolve())
            run_cprofile(args.scale_profile, work, out, description, scale_args)
    if args.results:
        seconds = time.perf_counter() - started
        write_results(Path(args.results), results, command, started_at, tree, load_before, seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())

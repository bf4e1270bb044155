#!/usr/bin/env python
"""How long the suite takes against the reference server, next to the bare cost of its HTTP traffic.

    python benchmarks/run.py [--profile standard] [--repeat N] [--cprofile FILE] [--importtime]

One run, both sides, same machine moment (timings on a shared machine are noisy, so
only figures from the same run are compared):

1. Start a reference server in this process (loopback HTTPS, two organizations).
2. Time ``python -m conformance run --profile P`` against it in a subprocess (keys in
   the environment, reports to a temporary directory), as a vendor's CI runs it; before
   it, a ``--clause TLS-1`` run prices the fixed cost of any run (interpreter, imports,
   preflight, collection, reports), and, when PYTHONDONTWRITEBYTECODE is set, the same
   run again with a (warmed, temporary) bytecode cache shows what that setting costs.
3. Take every request the suite sent from the server's journal (``app.requests_seen``:
   method, raw path and query, Authorization / X-Version / Content-Type, body) and send
   them again, in order, with a bare ``requests.Session`` loop in a subprocess against a
   fresh reference server with the same keys, and time that loop.
4. Print both times, their ratio (suite / bare replay), request counts and rates, how
   faithful the replay was, and a split of the suite's wall time.

Nothing here asserts on time; the exit status is 0 unless the measurement itself
could not be made. No network beyond loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DURATIONS = 8  # the suite's slowest tests, shown from its own --durations output


@dataclass
class Timed:
    seconds: float
    code: int
    stdout: str = ""
    stderr: str = ""


@dataclass
class Measurement:
    suite: Timed
    requests: int
    replay_seconds: float  # the bare loop only
    replay_wall: float  # the replay subprocess, interpreter included
    identical: int  # replayed requests the second server saw exactly as the first
    same_status: int
    statuses: Counter = field(default_factory=Counter)
    one_clause: float | None = None  # a --clause TLS-1 run
    one_clause_cached: float | None = None  # the same with a warm bytecode cache (if the environment has none)
    dropped: int = 0  # journal entries evicted (the journal is bounded): then the replay is partial
    durations: list[str] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)  # clauses the suite failed or could not judge


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


# -- the measurement -------------------------------------------------------------------------------
def _suite_env(handle) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))  # this checkout
    env["CONFORMANCE_API_KEY"] = handle.keys[0]
    if len(handle.keys) > 1:
        env["CONFORMANCE_SECOND_API_KEY"] = handle.keys[1]
    return env


def _suite_cmd(handle, profile: str, report_dir: Path, *extra: str, python: tuple[str, ...] = ()) -> list[str]:
    cmd = [sys.executable, *python, "-m", "conformance", "run", "--base-url", handle.base_url]
    if handle.ca_bundle:
        cmd += ["--ca-bundle", handle.ca_bundle]
    return cmd + ["--profile", profile, "--report-dir", str(report_dir), *extra]


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> Timed:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    return Timed(time.perf_counter() - started, proc.returncode, proc.stdout, proc.stderr)


def _durations(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if "slowest" in line and "durations" in line:
            return [x.strip() for x in lines[i + 1 : i + 1 + DURATIONS] if x.strip()]
    return []


def measure(profile: str, split: bool, work: Path) -> Measurement:
    from conformance.reference.server import start_server

    handle = start_server()
    try:
        env = _suite_env(handle)
        one_clause = one_clause_cached = None
        if split:
            one_clause = _timed(_suite_cmd(handle, profile, work / "tls1", "--clause", "TLS-1"), env, work).seconds
            if env.get("PYTHONDONTWRITEBYTECODE"):
                cached = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
                cached["PYTHONPYCACHEPREFIX"] = str(work / "pycache")  # out of the checkout and the venv
                for _ in range(2):  # the first run fills the cache
                    t = _timed(_suite_cmd(handle, profile, work / "tls1c", "--clause", "TLS-1"), cached, work)
                one_clause_cached = t.seconds
        app = handle.app
        app.journal.clear()
        app.requests_seen.clear()
        suite = _timed(_suite_cmd(handle, profile, work / "full", "--", f"--durations={DURATIONS}"), env, work)
        seen = list(app.requests_seen)
        dropped = app.requests_seen.dropped
        orgs = list(zip(handle.org_timezones, handle.keys, strict=True))
    finally:
        handle.stop()
    if not seen:
        raise RuntimeError(f"the suite sent no request (exit {suite.code}): {suite.stderr[-2000:]}")

    batch = [(e.method, e.target, e.headers, e.body) for e in seen]
    batch_file = work / "replay.pickle"
    batch_file.write_bytes(pickle.dumps(batch))
    fresh = start_server(orgs=orgs)  # same keys: the Authorization headers replay as they were
    try:
        parts = urlsplit(fresh.base_url)
        root = f"{parts.scheme}://{parts.netloc}"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--replay-worker", str(batch_file), root]
        replay = _timed([*cmd, fresh.ca_bundle or ""], os.environ.copy(), work)
        if replay.code != 0:
            raise RuntimeError(f"the replay failed: {replay.stderr[-2000:]}")
        result = json.loads(replay.stdout)
        again = list(fresh.app.requests_seen)
    finally:
        fresh.stop()
        batch_file.unlink()

    def request_of(e) -> tuple:
        return (e.method, e.target, e.headers, e.body)

    identical = sum(request_of(a) == request_of(b) for a, b in zip(seen, again, strict=False))
    same_status = sum(a.status == s for a, s in zip(seen, result["statuses"], strict=False))
    return Measurement(
        suite=suite,
        requests=len(seen),
        replay_seconds=result["seconds"],
        replay_wall=replay.seconds,
        identical=identical,
        same_status=same_status,
        statuses=Counter(result["statuses"]),
        one_clause=one_clause,
        one_clause_cached=one_clause_cached,
        dropped=dropped,
        durations=_durations(suite.stdout),
        failing=_failing(work / "full" / "certification.json"),
    )


def _failing(record: Path) -> list[str]:
    try:
        clauses = json.loads(record.read_text())["clauses"]
    except (OSError, ValueError, KeyError):
        return ["(no certification.json)"]
    return [f"{c['id']} {c['verdict']}" for c in clauses if c.get("verdict") in ("fail", "error")]


# -- printing ----------------------------------------------------------------------------------------
def _row(label: str, seconds: float, requests: int | None = None, note: str = "") -> str:
    rate = f"{requests:>7} requests {requests / seconds:>8.1f} req/s" if requests else ""
    return f"  {label:<52} {seconds:>8.2f} s  {rate}{note}"


def report(m: Measurement, profile: str, number: int, total: int) -> None:
    print(f"\n== profile {profile}, run {number} of {total} ==")
    print(_row(f"suite: python -m conformance run (exit {m.suite.code})", m.suite.seconds, m.requests))
    print(_row("bare replay: requests.Session loop", m.replay_seconds, m.requests, f"  ({m.replay_wall:.2f} s wall)"))
    print(f"  {'ratio suite / bare replay':<52} {m.suite.seconds / m.replay_seconds:>8.1f} x")
    print(
        f"  replay fidelity: {m.identical}/{m.requests} requests byte-identical at the server, "
        f"{m.same_status}/{m.requests} answered with the same status"
        + (f"; {m.dropped} journal entries evicted: partial replay" if m.dropped else "")
    )
    print(f"  replay statuses: {', '.join(f'{s}: {n}' for s, n in sorted(m.statuses.items()))}")
    if m.one_clause is not None:
        s = m.suite.seconds
        print("  split of the suite's wall time (approximate: separate runs, a noisy machine):")
        rows = [
            ("fixed cost of any run (a --clause TLS-1 run)", m.one_clause),
            ("+ its HTTP traffic at bare-replay cost", m.replay_seconds),
            ("+ the rest: the suite's own work between requests", s - m.one_clause - m.replay_seconds),
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
    if m.suite.code != 0:
        print(f"  note: the suite exited {m.suite.code} against the reference server: {', '.join(m.failing) or '?'}")
        if m.suite.code != 1:
            print(f"  its stderr ends with:\n{m.suite.stderr[-1500:]}")


def summary(runs: list[Measurement], profile: str) -> None:
    suite = [m.suite.seconds for m in runs]
    replay = [m.replay_seconds for m in runs]
    ratio = [m.suite.seconds / m.replay_seconds for m in runs]
    print(f"\n== profile {profile}: {len(runs)} runs (min / median / max) ==")
    for label, values, unit in (("suite", suite, "s"), ("bare replay", replay, "s"), ("ratio", ratio, "x")):
        print(f"  {label:<12} {min(values):8.2f} {statistics.median(values):8.2f} {max(values):8.2f} {unit}")


def run_cprofile(profile: str, work: Path, out: str) -> None:
    """One more suite run under cProfile (slower than a plain run: not compared with anything)."""
    import pstats

    from conformance.reference.server import start_server

    with start_server() as handle:
        cmd = _suite_cmd(handle, profile, work / "prof", python=("-m", "cProfile", "-o", out))
        t = _timed(cmd, _suite_env(handle), work)
    print(f"\n== cProfile of one suite run ({t.seconds:.1f} s under the profiler, exit {t.code}): {out} ==")
    stats = pstats.Stats(out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)


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
    for cumulative, name in rows[:15]:
        print(f"  {cumulative / 1e6:7.3f} s  {name}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="standard", help="the suite's profile (default standard)")
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="measure N times (default 1)")
    p.add_argument("--no-split", action="store_true", help="skip the TLS-1 runs that price the fixed cost")
    p.add_argument("--cprofile", metavar="FILE", help="also run the suite once under cProfile, stats to FILE")
    p.add_argument("--importtime", action="store_true", help="also list the heaviest imports (-X importtime)")
    p.add_argument("--replay-worker", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.replay_worker:
        return replay_worker(*args.replay_worker)

    sys.path.insert(0, str(ROOT))  # `python benchmarks/run.py` from a checkout, installed or not
    print(
        f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), "
        f"Python {platform.python_version()}, {platform.platform()}, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    runs = []
    with tempfile.TemporaryDirectory(prefix="conformance-bench-") as tmp:
        for i in range(args.repeat):
            work = Path(tmp) / f"run{i}"
            work.mkdir()
            m = measure(args.profile, not args.no_split, work)
            report(m, args.profile, i + 1, args.repeat)
            runs.append(m)
        if args.repeat > 1:
            summary(runs, args.profile)
        if args.importtime:
            run_importtime(args.profile, Path(tmp))
        if args.cprofile:
            run_cprofile(args.profile, Path(tmp), str(Path(args.cprofile).resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``remote`` part of the benchmark: the suite as vendors run it, across a network.

One reference server; the same profile run direct (loopback) and through :class:`latency.LatencyProxy` at each
round trip asked for; the first profile at the first round trip once more with ``--max-connections`` raised to
:data:`WIDE_CAP`, which shows what the default cap of 16 HTTP/1.1 connections costs there (a far run's floor is
its requests times the round trip over its connections); and schemathesis (``st run --workers 8``, the peer a
vendor would otherwise use) through the same proxy at the first round trip. Printed side by side, measured in
one invocation: wall time, requests (from the run's record), requests per second, the peak of connections open
at once (counted by the proxy), the ratio to the direct run, and the critical path (the slowest single test: its
chain of dependent requests is the floor no concurrency lowers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latency import LatencyProxy

ROOT = Path(__file__).resolve().parent.parent
PEER_WORKERS = 8
PEER_EXAMPLES = 30
WIDE_CAP = 64


@dataclass
class RemoteRow:
    label: str
    rtt_ms: float  # added by the proxy (0: direct)
    seconds: float
    code: int
    requests: int | None
    peak_connections: int | None
    measured_rtt_ms: float | None = None
    critical_s: float | None = None
    workers: int | None = None
    profile: str | None = None  # the suite's (None: the peer)

    @property
    def per_second(self) -> float | None:
        return self.requests / self.seconds if self.requests and self.seconds else None


def _env(handle: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["CONFORMANCE_API_KEY"], env["CONFORMANCE_SECOND_API_KEY"] = handle.keys[0], handle.keys[1]
    return env


def _suite(
    handle: Any, url: str, profile: str, report_dir: Path, work: Path, extra: list[str]
) -> tuple[float, int, dict[str, Any]]:
    cmd = [sys.executable, "-m", "conformance", "run", "--base-url", url, "--ca-bundle", handle.ca_bundle]
    cmd += ["--profile", profile, "--report-dir", str(report_dir), *extra, "--", "--durations=1"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(handle), cwd=work)
    seconds = time.perf_counter() - started
    try:
        record = json.loads((report_dir / "certification.json").read_text())
    except (OSError, ValueError):
        record = {}
    if proc.returncode not in (0, 1):
        print(proc.stderr[-1500:], file=sys.stderr)
    return seconds, proc.returncode, record


def _critical(record: dict[str, Any]) -> float | None:
    durations = [t.get("duration_s") or t.get("duration") or 0 for t in record.get("tests", [])]
    return round(max(durations), 1) if durations else None


def suite_row(handle: Any, profile: str, rtt_ms: float, work: Path, max_connections: int | None = None) -> RemoteRow:
    extra = ["--max-connections", str(max_connections)] if max_connections else []
    report_dir = work / f"remote-{profile}-{rtt_ms:g}{f'-cap{max_connections}' if max_connections else ''}"
    port = int(handle.base_url.split("//")[1].split("/")[0].rsplit(":", 1)[1])
    with LatencyProxy("127.0.0.1", port, rtt_ms) as proxy:
        url = proxy.url(handle.base_url) if rtt_ms else handle.base_url
        seconds, code, record = _suite(handle, url, profile, report_dir, work, extra)
        peak = proxy.peak_connections if rtt_ms else None
    run = record.get("run", {})
    label = f"suite --profile {profile}, " + (f"{rtt_ms:g} ms round trip" if rtt_ms else "direct (loopback)")
    if max_connections:
        label += f", --max-connections {max_connections}"
    return RemoteRow(
        label,
        rtt_ms,
        seconds,
        code,
        run.get("requests"),
        peak,
        run.get("rtt_ms"),
        _critical(record),
        (run.get("concurrency") or {}).get("workers", run.get("workers")),
        profile,
    )


def peer_row(handle: Any, rtt_ms: float, work: Path) -> RemoteRow:
    """schemathesis on the same target, through the same proxy; its requests are counted by the server, which
    records every request it answers."""
    port = int(handle.base_url.split("//")[1].split("/")[0].rsplit(":", 1)[1])
    description = str(ROOT / "schemas" / "reference-openapi.yaml")
    app = getattr(handle, "app", None)
    before = len(app.requests_seen) if app is not None and hasattr(app, "requests_seen") else None
    with LatencyProxy("127.0.0.1", port, rtt_ms) as proxy:
        url = proxy.url(handle.base_url) + "/v1"
        cmd = ["st", "run", description, "--url", url, "--workers", str(PEER_WORKERS), "-n", str(PEER_EXAMPLES)]
        cmd += ["-H", f"Authorization: Basic {handle.keys[0]}", "--tls-verify", handle.ca_bundle]
        cmd += ["--checks", "not_a_server_error", "--no-color"]
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=work, env=_env(handle))
        seconds = time.perf_counter() - started
        peak = proxy.peak_connections
    after = len(app.requests_seen) if before is not None and app is not None else None
    requests = after - before if before is not None and after is not None else None
    label = f"schemathesis --workers {PEER_WORKERS} -n {PEER_EXAMPLES}, {rtt_ms:g} ms round trip"
    return RemoteRow(label, rtt_ms, seconds, proc.returncode, requests, peak, workers=PEER_WORKERS)


def measure(rtts: list[float], profiles: list[str], work: Path, peer: bool = True) -> list[RemoteRow]:
    """Each profile direct, then through the proxy at each round trip; then the first profile at the first round
    trip under :data:`WIDE_CAP` connections; the peer last, at the first round trip."""
    from conformance.reference.server import start_server

    work.mkdir(parents=True, exist_ok=True)
    rows: list[RemoteRow] = []
    with start_server() as handle:
        for profile in profiles:
            for rtt in [0.0, *rtts]:
                rows.append(suite_row(handle, profile, rtt, work))
                print(format_row(rows[-1], direct_of(rows, rows[-1])), flush=True)
        if rtts:
            rows.append(suite_row(handle, profiles[0], rtts[0], work, max_connections=WIDE_CAP))
            print(format_row(rows[-1], direct_of(rows, rows[-1])), flush=True)
        if peer and rtts:
            rows.append(peer_row(handle, rtts[0], work))
            print(format_row(rows[-1], direct_of(rows, rows[-1])), flush=True)
    return rows


def direct_of(rows: list[RemoteRow], row: RemoteRow) -> RemoteRow:
    """The direct run a row is compared with: its profile's (the peer's: the first profile's)."""
    return next((r for r in rows if r.rtt_ms == 0 and r.profile == (row.profile or rows[0].profile)), rows[0])


def format_row(row: RemoteRow, direct: RemoteRow) -> str:
    ratio = row.seconds / direct.seconds if direct.seconds else 0
    parts = [f"{row.label:58} {row.seconds:7.1f} s  {ratio:5.1f}x direct  exit {row.code}"]
    if row.requests:
        parts.append(f"{row.requests:,} requests ({row.per_second:.0f}/s)")
    if row.measured_rtt_ms is not None:
        parts.append(f"measured round trip {row.measured_rtt_ms:g} ms")
    if row.workers:
        parts.append(f"{row.workers} workers")
    if row.peak_connections is not None:
        parts.append(f"peak {row.peak_connections} connections")
    if row.critical_s is not None:
        parts.append(f"critical path {row.critical_s:g} s")
    return "  ".join(parts)


def table(rows: list[RemoteRow]) -> list[list[str]]:
    """Rows for RESULTS.md, in :data:`REMOTE_HEADER`'s order."""
    out = []
    for r in rows:
        direct = direct_of(rows, r)
        out.append(
            [
                r.label,
                f"{r.seconds:.1f} s",
                f"{r.seconds / direct.seconds:.1f}x" if direct.seconds else "-",
                f"{r.requests:,}" if r.requests else "-",
                f"{r.per_second:.0f}" if r.per_second else "-",
                str(r.workers or "-"),
                str(r.peak_connections) if r.peak_connections is not None else "-",
                f"{r.critical_s:g} s" if r.critical_s is not None else "-",
            ]
        )
    return out


REMOTE_HEADER = ["run", "wall", "vs direct", "requests", "req/s", "workers", "peak connections", "critical path"]

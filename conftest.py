"""Fixtures for the project's own tests: real reference servers (clean, faulty or a
valid variant) on loopback HTTPS, and a runner that certifies one with the real
``conformance run`` command in a subprocess, as a vendor's CI would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent
KEY_VARS = ("CONFORMANCE_API_KEY", "CONFORMANCE_SECOND_API_KEY")
# The project's tests already run in parallel (pytest -n auto), so each suite run they start uses one process
# unless a test asks for workers: the default (--workers auto) is tested where it matters (test_workers.py,
# the full certified run and the interrupted runs in test_hygiene.py).
SERIAL = {"CONFORMANCE_WORKERS": "1"}


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the usable CPUs. Many of these tests spend their time waiting (on a
    hostile server's silence, a timeout, a subprocess's start), so two workers on two CPUs left them a fifth
    idle; a third took the project's tests from 8:07 to 6:15 on two cores."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return cpus + 1


@dataclass
class SuiteRun:
    code: int
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def record(self) -> dict[str, Any]:
        return json.loads((self.report_dir / "certification.json").read_text())

    def verdicts(self) -> dict[str, str]:
        return {c["id"]: c["verdict"] for c in self.record["clauses"]}

    def failing(self, level: str | None = None) -> set[str]:
        return {
            c["id"]
            for c in self.record["clauses"]
            if c["verdict"] in ("fail", "error") and (level is None or c["level"] == level)
        }


def run_conformance(
    args: list[str], *, env: dict[str, str] | None = None, report_dir: Path, timeout: float = 300
) -> SuiteRun:
    """``conformance run ARGS`` in a subprocess with a clean key environment."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")} | SERIAL
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "conformance", "run", "--report-dir", str(report_dir), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=report_dir.parent)
    return SuiteRun(proc.returncode, proc.stdout, proc.stderr, report_dir)


@pytest.fixture
def reference_server():
    """Start a reference server with faults/variants; stopped at the end of the test."""
    from conformance.reference.server import start_server

    handles = []

    def start(faults: tuple[str, ...] = (), variants: tuple[str, ...] = (), **kw: Any):
        handle = start_server(faults=faults, variants=variants, **kw)
        handles.append(handle)
        return handle

    yield start
    for h in handles:
        h.stop()


@pytest.fixture
def certify(tmp_path, reference_server):
    """Certify a reference server (with faults/variants) and return the SuiteRun."""
    counter = iter(range(1000))

    def run(
        faults: tuple[str, ...] = (),
        variants: tuple[str, ...] = (),
        args: tuple[str, ...] = (),
        second_key: bool = True,
        server_kw: dict[str, Any] | None = None,
        server: Any = None,
        env: dict[str, str] | None = None,
    ) -> SuiteRun:
        handle = server or reference_server(faults, variants, **(server_kw or {}))
        env = {**(env or {}), "CONFORMANCE_API_KEY": handle.keys[0]}
        if second_key and len(handle.keys) > 1:
            env["CONFORMANCE_SECOND_API_KEY"] = handle.keys[1]
        report_dir = tmp_path / f"run{next(counter)}" / "reports"
        report_dir.parent.mkdir(parents=True)
        tls = ("--ca-bundle", handle.ca_bundle) if handle.ca_bundle else ()
        return run_conformance(["--base-url", handle.base_url, *tls, *args], env=env, report_dir=report_dir)

    return run

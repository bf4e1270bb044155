"""What an xdist worker hands back to the controller at its end: its cleanup, the findings on
its set-up and cleanup responses, its 429 retries.

It travels in xdist's ``workeroutput``. An interrupted run (Ctrl-C, a cancelled CI job)
never delivers that: the controller stops listening before its workers finish cleaning
up. So each worker also leaves the same hand-over as a file in the report directory, and
the controller, once its workers are down, reads the ones it did not hear from. A worker
that left neither is named in the cleanup's ``leftover``: what it created is unaccounted for.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

HANDOVER_DIR = ".conformance-workers"


def _path(report_dir: str | Path, prefix: str, worker: str) -> Path:
    return Path(report_dir) / HANDOVER_DIR / f"{prefix}-{worker}.json"


def hand_over(config: pytest.Config, report_dir: str | Path, prefix: str, payload: dict[str, Any]) -> None:
    """In a worker: give ``payload`` to xdist and leave it on disk for an interrupted controller."""
    config.workeroutput.update(payload)  # type: ignore[attr-defined]
    worker = config.workerinput["workerid"]  # type: ignore[attr-defined]
    path = _path(report_dir, prefix, worker)
    with contextlib.suppress(OSError):  # a remote worker may not share the directory: xdist's channel remains
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        tmp.replace(path)


def stop_workers(config: pytest.Config) -> None:
    """Wait for the workers to end (xdist shuts them down the same way right after this run's own
    session-finish; doing it first lets their cleanup land before the reports are written)."""
    dsession = config.pluginmanager.getplugin("dsession")
    manager = getattr(dsession, "nodemanager", None)
    with contextlib.suppress(Exception):  # best effort: another xdist's internals
        if manager is not None:
            manager.teardown_nodes()


def unreported(report_dir: str | Path, prefix: str, workers: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The hand-overs ``workers`` left on disk, and the workers that left none."""
    found, missing = [], []
    for worker in sorted(workers):
        path = _path(report_dir, prefix, worker)
        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            missing.append(worker)
    return found, missing


def tidy(report_dir: str | Path, prefix: str) -> None:
    """Remove this run's hand-over files (and the directory once empty)."""
    folder = Path(report_dir) / HANDOVER_DIR
    for path in folder.glob(f"{prefix}-*"):
        with contextlib.suppress(OSError):
            path.unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()

"""What an xdist worker hands to the controller: each test's result, and at its end its cleanup,
the findings on its set-up and cleanup responses, its 429 retries.

Everything crosses as JSON text (:func:`to_wire`), never as Python values: execnet, which carries
xdist's messages, cannot send an int below -2**31 or a string with a lone surrogate, and generated
data holds both. One test whose data cannot be sent must cost that test's verdict, never the run
(:func:`unsendable`).

The end-of-run hand-over travels in xdist's ``workeroutput``. An interrupted run (Ctrl-C, a cancelled CI job)
never delivers that: the controller stops listening before its workers finish cleaning
up. So each worker also leaves the same hand-over as a file in the report directory, and
the controller, once its workers are down, reads the ones it did not hear from. A worker
that left neither is named in the cleanup's ``leftover``: what it created is unaccounted for.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from conformance import _compat

HANDOVER_DIR = ".conformance-workers"
OUTPUT_KEY = "conformance_handover"


def to_wire(data: Any) -> str:
    """``data`` as ASCII JSON text: any int, float or string crosses execnet as characters. What JSON
    cannot hold (a set, a bytes value) is sent as its text."""
    return json.dumps(data, ensure_ascii=True, default=_as_text)


def from_wire(text: str | dict[str, Any]) -> dict[str, Any]:
    return json.loads(text) if isinstance(text, str) else text


def _as_text(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value, key=repr)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return repr(value)


def sendable(value: Any) -> bool:
    import execnet

    try:
        execnet.dumps(value)
    except Exception:  # whatever the serializer refuses
        return False
    return True


def unsendable(config: pytest.Config, report: pytest.TestReport) -> str | None:
    """Why xdist could not send ``report`` to the controller (``None``: it can). Checked with execnet's own
    serializer, on the report as xdist serializes it, so that any plugin's addition to it is covered."""
    import execnet

    try:
        data = config.hook.pytest_report_to_serializable(config=config, report=report)
        execnet.dumps(data)
    except Exception as exc:  # whatever the serializer refuses; the caller turns it into this test's error
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def _path(report_dir: str | Path, prefix: str, worker: str) -> Path:
    return Path(report_dir) / HANDOVER_DIR / f"{prefix}-{worker}.json"


def pause_file(report_dir: str | Path, prefix: str) -> Path:
    """Where the run's workers share a ``429``'s pause (:class:`conformance.http.politeness.SharedPause`); removed
    with the hand-overs by :func:`tidy`."""
    folder = Path(report_dir) / HANDOVER_DIR
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{prefix}-pause"


def hand_over(config: pytest.Config, report_dir: str | Path, prefix: str, payload: dict[str, Any]) -> None:
    """In a worker: give ``payload`` to xdist and leave it on disk for an interrupted controller."""
    config.workeroutput[OUTPUT_KEY] = to_wire(payload)  # type: ignore[attr-defined]
    worker = config.workerinput["workerid"]  # type: ignore[attr-defined]
    path = _path(report_dir, prefix, worker)
    with contextlib.suppress(OSError):  # a remote worker may not share the directory: xdist's channel remains
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(to_wire(payload), encoding="utf-8")
        tmp.replace(path)


def received(output: dict[str, Any]) -> dict[str, Any] | None:
    """A worker's end-of-run hand-over from its ``workeroutput`` (``None`` when it sent none)."""
    text = output.get(OUTPUT_KEY)
    return from_wire(text) if text is not None else None


HANDOVER_GRACE = 75.0  # seconds the controller waits for interrupted workers' cleanup (each has 60 s of budget)


def stop_workers(config: pytest.Config, report_dir: str | Path, prefix: str, silent: set[str]) -> None:
    """Ask the workers to stop, wait until each silent one left its hand-over on disk (its cleanup is done), then
    end them. An interrupted controller stops reading xdist's queue without telling the workers; ended at once,
    a worker still deleting its objects would be interrupted by execnet and leave them behind."""
    _compat.xdist_ask_workers_to_stop(config)
    deadline = time.monotonic() + HANDOVER_GRACE
    while time.monotonic() < deadline and any(not _path(report_dir, prefix, w).exists() for w in silent):
        time.sleep(0.1)
    _compat.xdist_end_workers(config)


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

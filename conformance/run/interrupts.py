"""How a run is stopped from outside: Ctrl-C (SIGINT) and a CI job's cancellation (SIGTERM) both end it
the same way (cleanup, reports, exit 130), and the record says which it was."""

from __future__ import annotations

import signal
import types
from typing import Any

from conformance import _compat

_cause = "Ctrl-C"


def arm() -> None:
    """Make SIGTERM interrupt like Ctrl-C. SIGINT is re-armed because a parent may have left it ignored (a
    non-interactive shell's background job, a test runner's worker process)."""

    def on_sigint(signum: int, frame: object) -> None:
        _set("Ctrl-C")
        raise KeyboardInterrupt

    def on_sigterm(signum: int, frame: object) -> None:
        _set("SIGTERM")
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    signal.signal(signal.SIGTERM, on_sigterm)


def _set(cause: str) -> None:
    global _cause
    _cause = cause


def cause() -> str:
    """What interrupted the run: ``Ctrl-C`` (also under plain pytest, which handles only SIGINT) or ``SIGTERM``."""
    return _cause


def repair_traceback(excinfo: Any) -> None:
    """Give every entry of an interrupt's traceback a line number, so pytest can print it.

    A signal can land on an instruction CPython 3.11 keeps no line for: the entry's ``tb_lineno`` is then
    ``None``, and pytest's report of the interrupt fails with a TypeError, which ended a SIGTERM'd run with
    exit 1 instead of 130. Such entries take their frame's current or first line."""
    entries = []
    tb = excinfo.tb
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    if all(e.tb_lineno is not None for e in entries):
        return
    rebuilt: types.TracebackType | None = None
    for e in reversed(entries):
        line = e.tb_lineno if e.tb_lineno is not None else (e.tb_frame.f_lineno or e.tb_frame.f_code.co_firstlineno)
        rebuilt = types.TracebackType(rebuilt, e.tb_frame, e.tb_lasti, line)
    _compat.replace_traceback(excinfo, rebuilt)

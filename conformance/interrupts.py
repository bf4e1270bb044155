"""How a run is stopped from outside: Ctrl-C (SIGINT) and a CI job's cancellation (SIGTERM) both end it
the same way (cleanup, reports, exit 130), and the record says which it was."""

from __future__ import annotations

import signal

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

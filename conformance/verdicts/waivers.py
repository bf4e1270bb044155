"""Waivers: a vendor's declared, expected deviations, for CI between certifications.

A waiver file (``--waivers FILE``) lists clauses the vendor knows it fails::

    [[waiver]]
    clause = "TIME-3"
    reason = "zone migration in progress (OPS-123)"
    expires = 2027-03-31          # optional; a TOML date

A waived clause that fails is reported as ``waived`` and does not set the exit code.
A waiver that no longer earns its keep is *stale* and said so in every report: its
clause now passes, or its expiry date has passed (an expired waiver no longer waives).
Waiving a MUST clause always makes the run not certifiable.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from conformance.spec import catalogue


class WaiverError(ValueError):
    """The waiver file cannot be used; the message is one line naming the fix."""


@dataclass(frozen=True)
class Waiver:
    clause: str
    reason: str
    expires: date | None = None


def load(path: str | Path) -> list[Waiver]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise WaiverError(f"--waivers {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WaiverError(f"--waivers {path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise WaiverError(f"--waivers {path}: not valid TOML: {exc}") from None
    entries = data.get("waiver", [])
    unknown = sorted(set(data) - {"waiver"})
    if unknown or not isinstance(entries, list):
        raise WaiverError(f"--waivers {path}: expected only [[waiver]] tables, found {', '.join(unknown) or 'waiver'}")
    cat = catalogue.load()
    out: list[Waiver] = []
    for n, entry in enumerate(entries, 1):
        where = f"--waivers {path}: waiver #{n}"
        extra = sorted(set(entry) - {"clause", "reason", "expires"})
        if extra:
            raise WaiverError(f"{where}: unknown key {extra[0]!r} (keys: clause, reason, expires)")
        clause = entry.get("clause")
        if not isinstance(clause, str) or not clause:
            raise WaiverError(f'{where}: needs clause = "ID"')
        if clause not in cat.by_id:
            close = difflib.get_close_matches(clause.upper(), list(cat.by_id), n=1)
            hint = f"; did you mean {close[0]}?" if close else "; see `conformance clauses`"
            raise WaiverError(f"{where}: unknown clause {clause!r}{hint}")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise WaiverError(f"{where} ({clause}): needs a reason (why the deviation is expected)")
        expires = entry.get("expires")
        if expires is not None and (not isinstance(expires, date) or hasattr(expires, "hour")):
            raise WaiverError(f"{where} ({clause}): expires must be a TOML date like 2027-03-31, got {expires!r}")
        if any(w.clause == clause for w in out):
            raise WaiverError(f"{where}: {clause} is waived twice")
        out.append(Waiver(clause, reason.strip(), expires))
    return out


def apply(verdicts: list[Any], waivers: list[Waiver], today: date) -> list[dict[str, Any]]:
    """Turn waived failures into ``waived`` (in place) and report on every waiver.

    Each entry: ``{clause, reason, expires, status, note}`` with status ``applied``,
    ``stale`` (clause passes, or expired) or ``unused`` (the clause was not judged, or
    is in ``error``: a broken suite run is never waived).
    """
    by_id = {cv.clause.id: cv for cv in verdicts}
    out = []
    for w in waivers:
        cv = by_id[w.clause]
        entry: dict[str, Any] = {
            "clause": w.clause,
            "reason": w.reason,
            "expires": w.expires.isoformat() if w.expires else None,
        }
        if w.expires is not None and w.expires < today:
            entry.update(status="stale", note=f"expired on {w.expires.isoformat()}: {w.clause} is judged unwaived")
        elif cv.verdict == "pass":
            entry.update(status="stale", note=f"{w.clause} now passes: remove the waiver")
        elif cv.verdict == "fail":
            cv.verdict = "waived"
            until = f" (until {w.expires.isoformat()})" if w.expires else ""
            cv.reason = f"waived: {w.reason}{until}"
            entry.update(status="applied", note=f"{w.clause} fails as declared")
        else:
            entry.update(status="unused", note=f"{w.clause} is {cv.verdict}: nothing to waive")
        cv.waiver = entry
        out.append(entry)
    return out


def stale(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("status") == "stale"]

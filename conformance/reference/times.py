"""Times and dates on the wire (TIME-1..5): strict parsing, rendering in a zone.

Input accepts exactly ``YYYY-MM-DDThh:mm:ss±hh:mm`` in any offset and keeps the
instant; output is the same shape in the organization's zone. Python's
``fromisoformat`` is deliberately not used for input: it also accepts ``Z``,
fractions, a space instead of ``T`` and more, which the spec's format does not.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-])(\d{2}):(\d{2})", re.ASCII)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


def parse_time(text: str) -> datetime:
    """The instant ``text`` names (an aware UTC datetime); ``ValueError`` if malformed
    or impossible (Feb 30, hour 25, offset beyond ±23:59)."""
    m = _TIME.fullmatch(text)
    if m is None:
        raise ValueError("not YYYY-MM-DDThh:mm:ss±hh:mm")
    year, month, day, hour, minute, second, sign, off_h, off_m = m.groups()
    if int(off_m) > 59:
        raise ValueError("offset minutes above 59")
    offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    local = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=timezone(offset)
    )  # raises ValueError on impossible values
    try:
        return local.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in year 10000
        raise ValueError("outside years 0001-9999") from None


def parse_date(text: str) -> str:
    """``text`` if it is ``YYYY-MM-DD`` and a real calendar date; ``ValueError`` otherwise."""
    m = _DATE.fullmatch(text)
    if m is None:
        raise ValueError("not YYYY-MM-DD")
    date(*(int(g) for g in m.groups()))
    return text


def format_time(local: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ss±hh:mm`` of an aware datetime, as its own offset says."""
    offset = local.utcoffset()
    if offset is None or offset % timedelta(minutes=1):
        raise ValueError("the offset is not a whole number of minutes")
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{local:%Y-%m-%dT%H:%M:%S}{sign}{hours:02d}:{mins:02d}"


def representable(instant: datetime, zone: tzinfo) -> bool:
    """Whether ``instant`` can be written in ``zone`` in the spec's format.

    Old instants fall in a zone's local mean time (Chicago was -05:50:36 before
    1883) whose offset has seconds; years beyond 9999 have no 4-digit form. The
    server refuses such times on input (403) rather than render them wrongly.
    """
    try:
        local = instant.astimezone(zone)
        format_time(local)
    except (ValueError, OverflowError):
        return False
    return 1 <= local.year <= 9999


def epoch(instant: datetime) -> int:
    return int(instant.timestamp())


def now() -> datetime:
    """The current instant, whole seconds (the wire format has no fraction)."""
    return datetime.now(UTC).replace(microsecond=0)

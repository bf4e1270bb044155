"""TIME-3 and TIME-5 at a glance: the UTC offsets the target rendered over the year against its zone's.

An inline SVG (no external asset): x is the month of the year, y the UTC offset; the line is the organization's
zone (``zoneinfo``) through the year, the dots the offsets seen in the clause's findings (the time values of their
messages and of the responses they show), red where the zone has another offset at that instant. "All -06:00
while Chicago is at -05:00 in summer" is a row of red dots under the summer step of the line.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CLAUSES = ("TIME-3", "TIME-5")
POINTS_CAP = 400
_TIME = re.compile(r"\b(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?(?:\.\d+)?([+-]\d\d):?(\d\d)\b")
W, H = 640, 230
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 26, 34
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _times(text: str) -> list[tuple[datetime, int]]:
    """(instant, offset in seconds) of each ISO time with a numeric offset in ``text``."""
    out = []
    for m in _TIME.finditer(text or ""):
        y, mo, d, h, mi, s, oh, om = m.groups()
        sign = -1 if oh.startswith("-") else 1
        offset = sign * (abs(int(oh)) * 3600 + int(om) * 60)
        try:
            local = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
        except ValueError:
            continue
        out.append((local.replace(tzinfo=UTC) - timedelta(seconds=offset), offset))
    return out


def observations(clause: str, findings: list[dict[str, Any]]) -> list[tuple[datetime, int]]:
    """The offsets seen: TIME-3's time values as its messages quote them (the first), TIME-5's as read back (the
    last), and every time in the responses the findings show."""
    seen: dict[tuple[datetime, int], None] = {}
    for f in findings:
        quoted = _times(str(f.get("message", "")))
        if quoted:
            seen[quoted[0] if clause == "TIME-3" else quoted[-1]] = None
        for pair in _times(str((f.get("response") or {}).get("body") or "")):
            seen[pair] = None
        if len(seen) >= POINTS_CAP:
            break
    return list(seen)[:POINTS_CAP]


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _fmt(seconds: float) -> str:
    sign = "-" if seconds < 0 else "+"
    seconds = abs(int(seconds))
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def zone_line(zone: ZoneInfo, year: int) -> list[tuple[float, int]]:
    """(fraction of the year, offset) at each day's noon UTC of ``year``."""
    start = datetime(year, 1, 1, 12, tzinfo=UTC)
    days = (datetime(year + 1, 1, 1, tzinfo=UTC) - datetime(year, 1, 1, tzinfo=UTC)).days
    out = []
    for d in range(days + 1):
        at = start + timedelta(days=d)
        offset = at.astimezone(zone).utcoffset() or timedelta()
        out.append((d / days, int(offset.total_seconds())))
    return out


def _year_fraction(instant: datetime, zone: ZoneInfo | None) -> float:
    local = instant.astimezone(zone) if zone else instant
    start = datetime(local.year, 1, 1, tzinfo=local.tzinfo)
    end = datetime(local.year + 1, 1, 1, tzinfo=local.tzinfo)
    return min(1.0, max(0.0, (local - start) / (end - start)))


def render(clause: str, findings: list[dict[str, Any]], zone_name: str | None, year: int | None = None) -> str:
    """The chart as an ``<svg>`` (``data-*`` attributes say what it shows); empty when no offset was seen."""
    points = observations(clause, findings)
    if not points:
        return ""
    zone = _zone(zone_name)
    year = year or max(p[0].year for p in points)
    line = zone_line(zone, year) if zone else []
    offsets = [o for _, o in points] + [o for _, o in line]
    low, high = min(offsets) - 3600, max(offsets) + 3600
    low, high = low - low % 3600, high + (-high % 3600)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(frac: float) -> float:
        return round(LEFT + frac * plot_w, 1)

    def y(offset: float) -> float:
        return round(TOP + (high - offset) / (high - low) * plot_h, 1)

    parts = []
    for hour in range(int(low), int(high) + 1, 3600):
        parts.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(hour)}" y2="{y(hour)}" stroke="#e0e0e0"/>'
            f'<text x="{LEFT - 6}" y="{y(hour) + 4}" text-anchor="end" font-size="10">{_fmt(hour)}</text>'
        )
    for i, name in enumerate(MONTHS):
        parts.append(
            f'<text x="{x((i + 0.5) / 12)}" y="{H - BOTTOM + 14}" text-anchor="middle" font-size="10">{name}</text>'
        )
        parts.append(f'<line x1="{x(i / 12)}" x2="{x(i / 12)}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#f0f0f0"/>')
    if line:
        path = " ".join(f"{x(f)},{y(o)}" for f, o in line)
        parts.append(f'<polyline class="zone-line" points="{path}" fill="none" stroke="#1565c0" stroke-width="2"/>')
    off = 0
    for instant, offset in points:
        expected = int((instant.astimezone(zone).utcoffset() or timedelta()).total_seconds()) if zone else None
        wrong = expected is not None and expected != offset
        off += wrong
        title = f"{instant.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} rendered at {_fmt(offset)}"
        if expected is not None:
            title += f"; {zone_name} is at {_fmt(expected)}"
        parts.append(
            f'<circle class="seen{" off-zone" if wrong else ""}" cx="{x(_year_fraction(instant, zone))}" '
            f'cy="{y(offset)}" r="3.5" fill="{"#c62828" if wrong else "#2e7d32"}" fill-opacity="0.7" '
            f'data-offset="{_fmt(offset)}"><title>{html.escape(title)}</title></circle>'
        )
    caption = f"Offsets seen in {clause}'s findings (dots; red: not the zone's then) vs " + (
        f"{zone_name} in {year} (line)" if zone else "no known zone (give --org-timezone)"
    )
    legend = f'<text x="{LEFT}" y="14" font-size="11">{html.escape(caption)}</text>'
    return (
        f'<svg class="offset-chart" data-clause="{html.escape(clause)}" data-zone="{html.escape(zone_name or "")}" '
        f'data-points="{len(points)}" data-off-zone="{off}" data-zone-offsets="'
        f'{" ".join(sorted({_fmt(o) for _, o in line}))}" data-seen-offsets="'
        f'{" ".join(sorted({_fmt(o) for _, o in points}))}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{html.escape(caption)}">'
        f"{legend}{''.join(parts)}</svg>"
    )

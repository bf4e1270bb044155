"""TIME-1..4: the rendering of times and dates in responses.

The strict shape comes from ``schemas/time.schema.json``; the calendar and the
instant come from :mod:`datetime` and zones from :mod:`zoneinfo`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, available_timezones

from conformance.checks.context import CheckContext, field_values
from conformance.checks.registry import check
from conformance.http.exchange import Exchange, Finding
from conformance.spec import facts

_TIME = re.compile(facts.TIME_PATTERN)
_DATE = re.compile(facts.DATE_PATTERN)
_R = TypeVar("_R")


def parse_time(value: Any) -> datetime | None:
    """The instant of a spec-shaped time string, or None if it is not one."""
    return read_datetime(value) if isinstance(value, str) and _TIME.match(value) else None


def parse_date(value: Any) -> date | None:
    """The calendar date of a spec-shaped date string, or None if it is not one."""
    return read_date(value) if isinstance(value, str) and _DATE.match(value) else None


def read_datetime(value: Any) -> datetime | None:
    """Any ISO 8601 date-time Python reads, in whatever form (``…Z``, a fraction, ``20130327T…``, no offset),
    or None: what a server may accept besides the spec's form (:func:`parse_time` is the spec's form alone)."""
    return _read(datetime.fromisoformat, value)


def read_instant(value: Any) -> datetime | None:
    """The instant of any ISO 8601 date-time with an offset (:func:`read_datetime`); None without one."""
    parsed = read_datetime(value)
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def read_date(value: Any) -> date | None:
    """Any ISO 8601 date Python reads (``2013-03-27``, ``20130327``), or None."""
    return _read(date.fromisoformat, value)


def _read(parse: Callable[[str], _R], value: Any) -> _R | None:
    if not isinstance(value, str):
        return None
    try:
        return parse(value)
    except ValueError:
        return None


def _time_values(ex: Exchange, ctx: CheckContext) -> list[tuple[dict[str, Any], str, Any]]:
    return field_values(ex, ctx, "time") or []


@check("TIME-1")
def time_format(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
    findings: list[Finding] | None = None
    for _obj, name, value in _time_values(ex, ctx):
        findings = findings if findings is not None else []
        if value is not None and parse_time(value) is None:
            findings.append(Finding.of("TIME-1", f"{name} is {value!r}, not YYYY-MM-DDThh:mm:ss±hh:mm", ex))
    return findings


@check("TIME-2")
def epoch_companion(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
    findings: list[Finding] | None = None
    for obj, name, value in _time_values(ex, ctx):
        findings = findings if findings is not None else []
        key = f"{name}_epoch"
        if key not in obj:
            findings.append(Finding.of("TIME-2", f"{name} has no {key} companion", ex))
            continue
        epoch = obj[key]
        if value is None:
            if epoch is not None:
                findings.append(Finding.of("TIME-2", f"{name} is null but {key} is {epoch!r}", ex))
            continue
        if type(epoch) is not int:
            findings.append(Finding.of("TIME-2", f"{key} is {epoch!r} ({type(epoch).__name__}), not an integer", ex))
            continue
        instant = parse_time(value)
        if instant is not None and int(instant.timestamp()) != epoch:
            findings.append(
                Finding.of("TIME-2", f"{key} is {epoch} but {name} {value} is {int(instant.timestamp())}", ex)
            )
    return findings


@check("TIME-3")
def org_zone_offset(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
    """TIME-3 exactly, when the user named the zone (``--org-timezone``)."""
    if ctx.zone is None:
        return None
    findings: list[Finding] | None = None
    for _obj, name, value in _time_values(ex, ctx):
        instant = parse_time(value)
        if instant is None or not observed(int(instant.timestamp())):
            continue  # zone databases may disagree there (see OBSERVED_FROM)
        findings = findings if findings is not None else []
        expected = instant.astimezone(ctx.zone).utcoffset()
        if instant.utcoffset() != expected:
            findings.append(
                Finding.of(
                    "TIME-3",
                    f"{name} {value} has offset {_fmt(instant.utcoffset())}; {ctx.zone.key} is at "
                    f"{_fmt(expected)} at that instant",
                    ex,
                )
            )
    return findings


@check("TIME-4")
def date_format(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
    values = field_values(ex, ctx, "date")
    if not values:
        return None
    return [
        Finding.of("TIME-4", f"{name} is {value!r}, not a real YYYY-MM-DD date", ex)
        for _obj, name, value in values
        if value is not None and parse_date(value) is None
    ]


# The instants whose offsets every zone database agrees on: before 1970 zones' histories (local mean time,
# wartime rules) differ between tz libraries, and after the present a zone's rules are a projection that each
# tzdata release may change (Paraguay's, in 2025a), so a time the fuzzer wrote in year 1, 2030 or 9999 says
# nothing about the zone a server uses. A day past the present still counts: a server's clock may run ahead.
OBSERVED_FROM = int(datetime(1970, 1, 1, tzinfo=UTC).timestamp())
OBSERVED_AHEAD = 86400


def observed(seconds: int) -> bool:
    """Whether the offset of the instant ``seconds`` (epoch) is judged: from 1970 to a day past the present."""
    return OBSERVED_FROM <= seconds < time.time() + OBSERVED_AHEAD


def observations(ex: Exchange, ctx: CheckContext) -> set[tuple[int, int]]:
    """(epoch seconds, UTC offset seconds) of every well-formed time :func:`observed` in the response."""
    out = set()
    for _obj, _name, value in _time_values(ex, ctx):
        instant = parse_time(value)
        if instant is None:
            continue
        seconds = int(instant.timestamp())
        if observed(seconds):
            out.add((seconds, int(_offset(instant))))
    return out


@cache
def _zones() -> tuple[ZoneInfo, ...]:
    return tuple(ZoneInfo(name) for name in sorted(available_timezones()))


def candidate_zones(observed: Iterable[tuple[int, int]]) -> list[str]:
    """IANA zones whose UTC offset matches every observed (instant, offset) pair."""
    pairs = [(datetime.fromtimestamp(t, UTC), off) for t, off in sorted(set(observed))]
    fits = []
    for zone in _zones():
        if all(_offset(instant.astimezone(zone)) == off for instant, off in pairs):
            fits.append(zone.key)
    return fits


def closest_zones(
    observed: Iterable[tuple[int, int]], n: int = 3, sample: int = 400
) -> list[tuple[list[str], int, int]]:
    """The ``n`` groups of zones that fit the most of (a sample of) the pairs: ``(zones, pairs fitted, pairs
    sampled)``, zones that fit the same pairs in one group. The evidence when no zone fits them all:
    "America/Chicago (+8 more) fits 40 of 48" shows which zone the server mostly uses and how often it strays."""
    pairs = [(datetime.fromtimestamp(t, UTC), off) for t, off in sorted(set(observed))[:sample]]
    groups: dict[tuple[bool, ...], list[str]] = {}
    for zone in _zones():
        fitted = tuple(_offset(instant.astimezone(zone)) == off for instant, off in pairs)
        if any(fitted):
            groups.setdefault(fitted, []).append(zone.key)
    ranked = sorted(groups.items(), key=lambda g: (-sum(g[0]), g[1][0]))
    return [(zones, sum(fitted), len(pairs)) for fitted, zones in ranked[:n]]


def name_zones(zones: list[str], shown: int = 2) -> str:
    """``America/Chicago, America/Menominee (+7 more)``: a group of zones in a line."""
    preferred = sorted(zones, key=lambda z: ("/" not in z or z.startswith(("Etc/", "US/", "Canada/")), z))
    more = f" (+{len(zones) - shown} more)" if len(zones) > shown else ""
    return ", ".join(preferred[:shown]) + more


def fits(zone: str, instant: int, offset: int) -> bool:
    """Whether ``zone``'s UTC offset at ``instant`` is ``offset`` (seconds)."""
    return _offset(datetime.fromtimestamp(instant, UTC).astimezone(ZoneInfo(zone))) == offset


def describe_pair(instant: int, offset: int) -> str:
    """One observation as a reader checks it: ``2024-07-01T17:00:00Z at -05:00``."""
    return f"{datetime.fromtimestamp(instant, UTC):%Y-%m-%dT%H:%M:%SZ} at {_fmt(timedelta(seconds=offset))}"


def _offset(instant: datetime) -> float:
    """The UTC offset of an aware datetime, in seconds."""
    return (instant.utcoffset() or timedelta()).total_seconds()


def _fmt(delta: timedelta | None) -> str:
    seconds = int((delta or timedelta()).total_seconds())
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def tzdata_version() -> str | None:
    """The IANA time zone release ``zoneinfo`` reads on this machine (TIME-3's offsets come from it), for the
    run record: the system's (``tzdata.zi``), else the ``tzdata`` package's; ``None`` when unknown."""
    import zoneinfo
    from importlib import metadata

    for root in zoneinfo.TZPATH:
        try:
            with open(Path(root) / "tzdata.zi", encoding="utf-8") as f:
                first = f.readline()
        except OSError:
            continue
        if first.startswith("# version "):
            return first.split()[-1]
    try:
        return f"tzdata {metadata.version('tzdata')}"
    except metadata.PackageNotFoundError:
        return None

"""TIME: times are ``YYYY-MM-DDThh:mm:ss±hh:mm`` (TIME-1), each with an integer ``X_epoch`` (TIME-2), in the
organization's zone at that instant (TIME-3); dates are real ``YYYY-MM-DD`` dates (TIME-4); a time sent in
any offset is that instant, and a malformed or impossible one gets 403 validation_failed (TIME-5)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from conformance.reference.behaviour import OMIT, Ctx
from conformance.reference.faults.hooks import RenderTime
from conformance.reference.faults.switch import Group

SWITCHES = Group()
Renderer = Callable[[Ctx, datetime, tzinfo], tuple[str, Any]]  # the correct render_time
Parser = Callable[[Ctx, str], datetime]  # the correct to_instant


# -- TIME-1 ---------------------------------------------------------------------------------------
def _time_z(default: Renderer, ctx: Ctx, instant: datetime, zone: tzinfo) -> tuple[str, Any]:
    _, epoch = default(ctx, instant, zone)
    return f"{instant.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z", epoch


SWITCHES.fault("time-z-suffix", "TIME-1", "Renders times in UTC with a Z suffix.", render_time=_time_z)


def _time_fraction(default: Renderer, ctx: Ctx, instant: datetime, zone: tzinfo) -> tuple[str, Any]:
    text, epoch = default(ctx, instant, zone)
    return text[:19] + ".000" + text[19:], epoch


SWITCHES.fault("time-fraction", "TIME-1", "Renders times with milliseconds (.000).", render_time=_time_fraction)


def _time_no_colon(default: Renderer, ctx: Ctx, instant: datetime, zone: tzinfo) -> tuple[str, Any]:
    text, epoch = default(ctx, instant, zone)
    return text[:-3] + text[-2:], epoch


SWITCHES.fault("time-no-colon", "TIME-1", "Renders offsets without a colon (+0530).", render_time=_time_no_colon)


# -- TIME-2 ---------------------------------------------------------------------------------------
def _epoch(change: Callable[[int, datetime, Any], Any]) -> RenderTime:
    """An override of ``render_time`` that renders the epoch as ``change(epoch, instant, zone)``."""

    def override(default: Renderer, ctx: Ctx, instant: datetime, zone: tzinfo) -> tuple[str, Any]:
        text, epoch = default(ctx, instant, zone)
        return text, change(epoch, instant, zone)

    return override


def _wall_clock_epoch(epoch: int, instant: datetime, zone: Any) -> int:
    return int(instant.astimezone(zone).replace(tzinfo=UTC).timestamp())


SWITCHES.fault(
    "time-epoch-local",
    "TIME-2",
    "Computes X_epoch from the local wall clock as if it were UTC.",
    render_time=_epoch(_wall_clock_epoch),
)
SWITCHES.fault(
    "time-epoch-string",
    "TIME-2",
    "Renders X_epoch as a string.",
    render_time=_epoch(lambda epoch, instant, zone: str(epoch)),
)
SWITCHES.fault(
    "time-epoch-float",
    "TIME-2",
    "Renders X_epoch as a float.",
    render_time=_epoch(lambda epoch, instant, zone: float(epoch)),
)
SWITCHES.fault(
    "time-epoch-ms",
    "TIME-2",
    "Renders X_epoch in milliseconds.",
    render_time=_epoch(lambda epoch, instant, zone: epoch * 1000),
)
SWITCHES.fault(
    "time-missing-epoch",
    "TIME-2",
    "Omits the X_epoch companions.",
    render_time=_epoch(lambda epoch, instant, zone: OMIT),
)

# -- TIME-3 ---------------------------------------------------------------------------------------
SWITCHES.fault(
    "time-utc-not-org-zone",
    "TIME-3",
    "Renders times in UTC (+00:00), not the organization's zone.",
    zone=lambda default, ctx: UTC,
)


def _standard_offset(default: Renderer, ctx: Ctx, instant: datetime, zone: tzinfo) -> tuple[str, Any]:
    local = instant.astimezone(zone)
    standard = timezone((local.utcoffset() or timedelta()) - (local.dst() or timedelta()))
    return default(ctx, instant, standard)


SWITCHES.fault(
    "time-dst-ignored", "TIME-3", "Uses the zone's standard offset all year (no DST).", render_time=_standard_offset
)
SWITCHES.fault(
    "time-first-org-zone",
    "TIME-3",
    "Renders every organization's times in the first one's zone (a server-wide zone setting).",
    zone=lambda default, ctx: ctx.services.orgs[0].zone,
)
SWITCHES.fault(
    "time-zone-per-resource",
    "TIME-3",
    "Renders nested resources' times in UTC, the others in the organization's zone (one serializer never "
    "got the zone): each test alone sees one zone, the run sees two.",
    zone=lambda default, ctx: UTC if ctx.path.count("/") > 2 else default(ctx),
)


# -- TIME-4 ---------------------------------------------------------------------------------------
def _date_us(default: Callable[[Ctx, str], str], ctx: Ctx, value: str) -> str:
    year, month, day = default(ctx, value).split("-")
    return f"{month}/{day}/{year}"


SWITCHES.fault(
    "time-date-with-time",
    "TIME-4",
    "Renders dates with a time part (YYYY-MM-DDT00:00:00).",
    render_date=lambda default, ctx, value: default(ctx, value) + "T00:00:00",
)
SWITCHES.fault("time-date-us-format", "TIME-4", "Renders dates as MM/DD/YYYY.", render_date=_date_us)


# -- TIME-5 ---------------------------------------------------------------------------------------
def _org_zone(ctx: Ctx) -> tzinfo:
    return ctx.org.zone if ctx.org else UTC


def _offset_dropped(default: Parser, ctx: Ctx, text: str) -> datetime:
    default(ctx, text)  # still refuses malformed input
    wall = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    return wall.replace(tzinfo=_org_zone(ctx)).astimezone(UTC)


SWITCHES.fault(
    "time-offset-dropped",
    "TIME-5",
    "Stores the wall-clock time in the org zone, ignoring the offset.",
    to_instant=_offset_dropped,
)


def _date_pattern_only(default: Callable[[Ctx, str], str], ctx: Ctx, text: str) -> str:
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return text
    return default(ctx, text)


SWITCHES.fault(
    "time-accept-impossible-date", "TIME-5", "Accepts any NNNN-NN-NN date (2013-02-30).", to_date=_date_pattern_only
)


def _lenient_time(default: Parser, ctx: Ctx, text: str) -> datetime:
    try:
        return default(ctx, text)
    except ValueError:
        parsed = datetime.fromisoformat(text)  # accepts "2013-03-27 10:41", "Z", fractions
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=_org_zone(ctx))
        return parsed.astimezone(UTC).replace(microsecond=0)


SWITCHES.fault(
    "time-accept-malformed",
    "TIME-5",
    "Parses times leniently (2013-03-27 10:41, Z, fractions).",
    to_instant=_lenient_time,
)


def _only_org_offset(default: Parser, ctx: Ctx, text: str) -> datetime:
    instant = default(ctx, text)
    offset = instant.astimezone(_org_zone(ctx)).utcoffset() or timedelta()
    sign, hours, minutes = text[-6], int(text[-5:-3]), int(text[-2:])
    given = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
    if given != offset:
        raise ValueError("only the organization's own offset is accepted")
    return instant


SWITCHES.fault(
    "time-reject-other-offsets",
    "TIME-5",
    "Refuses times not written in the org's own offset.",
    to_instant=_only_org_offset,
)

# -- valid variants: organizations in other zones -------------------------------------------------
SWITCHES.variant(
    "zone-dst",
    "Organizations in America/New_York and Europe/Berlin (both observe DST).",
    zones=("America/New_York", "Europe/Berlin"),
)
SWITCHES.variant(
    "zone-kolkata",
    "The first organization is Asia/Kolkata (+05:30, no DST).",
    zones=("Asia/Kolkata", "America/Chicago"),
)
SWITCHES.variant(
    "zone-utc",
    "Organizations in UTC (+00:00, never Z) and Pacific/Chatham (+12:45/+13:45).",
    zones=("UTC", "Pacific/Chatham"),
)

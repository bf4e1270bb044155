"""A finding's message in the suite's language, and what it is about.

:func:`clean` is what every report shows: no ``[CLAUSE]`` prefix (the report names the clause once), no hypothesis
text (its falsifying example, ``@reproduce_failure``: advice for a test's author, the run's seed replays it), no
Python reprs (``timedelta(days=-1, seconds=50400)`` reads ``-10:00``, a ``datetime(...)`` its ISO text).
:func:`shape` is the message with what varies between repeats of one fault taken out (ids, times, dates,
counts), so repeated findings group under one card.
"""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, date, datetime, timedelta, timezone

HYPOTHESIS = (
    "Falsifying example",
    "Falsifying explicit example",
    "Failing test case",
    "You can reproduce this example",
    "@reproduce_failure",
    "Trying example",
    "Explanation:",
    "Highest target score",
    "while generating",
    "Unreliable test timings",
    "Draw ",
)
_PREFIX = re.compile(r"^\s*(?:[\w.]*ClauseViolation:\s*)?\[([A-Z]+-\d+)\]\s*")
_INNER_PREFIX = re.compile(r"(?<=\n)\s*\[[A-Z]+-\d+\]\s*")
_TIMEDELTA = re.compile(r"(?:datetime\.)?timedelta\(((?:\s*(?:days|seconds|microseconds)=-?\d+,?)*)\s*\)")
_TIMEZONE = re.compile(r"(?:datetime\.)?timezone\((?:datetime\.)?timedelta\(0\)\)|datetime\.timezone\.utc")
_TZ_OFFSET = re.compile(r"(?:datetime\.)?timezone\(([+-]\d\d:\d\d)(?:,\s*'[^']*')?\)")
_DATETIME = re.compile(r"(?:datetime\.)?datetime\((\d+(?:,\s*\d+){2,6})(?:,\s*tzinfo=([^()]*(?:\([^()]*\))?))?\)")
_DATE = re.compile(r"(?:datetime\.)?date\((\d+),\s*(\d+),\s*(\d+)\)")
_ZONEINFO = re.compile(r"(?:zoneinfo\.)?ZoneInfo\(key='([^']+)'\)")
_DECIMAL = re.compile(r"Decimal\('([^']*)'\)")
_BYTES = re.compile(r"(?<![\w'\"])b'((?:[^'\\]|\\.)*)'")
_SECONDS = re.compile(r"(?<![\w.])([+-]\d+)s\b")  # "at -21600s" (an offset in seconds)
_DELTA_STR = re.compile(r"(?<![\w.])(-?\d+) days?, (\d{1,2}):(\d\d):(\d\d)\b")  # str(timedelta): "-1 day, 14:00:00"


def offset_text(seconds: int) -> str:
    """``-21600`` -> ``-06:00``."""
    sign = "-" if seconds < 0 else "+"
    seconds = abs(int(seconds))
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _timedelta(m: re.Match[str]) -> str:
    parts = dict(re.findall(r"(days|seconds|microseconds)=(-?\d+)", m.group(1)))
    delta = timedelta(days=int(parts.get("days", 0)), seconds=int(parts.get("seconds", 0)))
    return offset_text(int(delta.total_seconds()))


def _zone_word(text: str | None) -> timezone | None:
    if not text:
        return None
    text = _TIMEZONE.sub("UTC", text.strip())
    m = re.fullmatch(r"(?:datetime\.)?timezone\(([+-]\d\d:\d\d)(?:,\s*'[^']*')?\)", text)
    text = m.group(1) if m else text
    if text in ("UTC", "datetime.timezone.utc", "timezone.utc"):
        return UTC
    m = re.fullmatch(r"([+-])(\d\d):(\d\d)", text)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
    return None


def _datetime(m: re.Match[str]) -> str:
    numbers = [int(x) for x in m.group(1).split(",")]
    try:
        value = datetime(*numbers[:7])  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return m.group()
    zone = m.group(2)
    tz = _zone_word(zone)
    if tz is not None:
        return value.replace(tzinfo=tz).isoformat()
    named = _ZONEINFO.search(zone or "")
    return value.isoformat() + (f" ({named.group(1)})" if named else "")


def _date(m: re.Match[str]) -> str:
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return m.group()


def drop_hypothesis(text: str) -> str:
    """Everything from hypothesis' first note on (its notes come after the message)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith(HYPOTHESIS):
            lines = lines[:i]
            break
    return "\n".join(lines).rstrip()


def plain(text: str) -> str:
    """Python reprs in ``text`` as the values they stand for."""
    text = _TIMEDELTA.sub(_timedelta, text)
    text = _DATETIME.sub(_datetime, text)
    text = _TZ_OFFSET.sub(lambda m: f"UTC{m.group(1)}", text)
    text = _TIMEZONE.sub("UTC", text)
    text = _DATE.sub(_date, text)
    text = _ZONEINFO.sub(lambda m: m.group(1), text)
    text = _DECIMAL.sub(lambda m: m.group(1), text)
    text = _BYTES.sub(lambda m: "'" + m.group(1) + "'", text)
    text = _SECONDS.sub(lambda m: offset_text(int(m.group(1))), text)
    text = _DELTA_STR.sub(
        lambda m: offset_text(int(m[1]) * 86400 + int(m[2]) * 3600 + int(m[3]) * 60 + int(m[4])), text
    )
    return text


def _containers(text: str) -> str:
    """Python ``dict``/``list`` reprs (``{'a': None}``) as JSON (``{"a": null}``), the API's own notation."""
    out, i = [], 0
    while i < len(text):
        if text[i] in "{[":
            end = _closing(text, i)
            if end is not None:
                chunk = text[i : end + 1]
                if re.search(r"'|\bNone\b|\bTrue\b|\bFalse\b", chunk):
                    try:
                        value = ast.literal_eval(chunk)
                    except (ValueError, SyntaxError, MemoryError, RecursionError):
                        value = None
                    if isinstance(value, dict | list):
                        try:
                            out.append(json.dumps(value, ensure_ascii=False))
                            i = end + 1
                            continue
                        except (TypeError, ValueError):
                            pass
        out.append(text[i])
        i += 1
    return "".join(out)


def _closing(text: str, start: int) -> int | None:
    depth, quote = 0, ""
    for j in range(start, min(len(text), start + 4000)):
        c = text[j]
        if quote:
            if c == "\\":
                continue
            if c == quote and text[j - 1] != "\\":
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return j
    return None


def clean(message: str) -> str:
    """The message as a report shows it under its clause."""
    text = drop_hypothesis(str(message or ""))
    m = _PREFIX.match(text)
    if m:
        text = text[m.end() :]
    text = _INNER_PREFIX.sub("", text)
    return _containers(plain(text)).strip() or str(message or "").strip()


# What varies between repeats of one fault: taken out of a message to group findings.
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?")
_ISO_DATE = re.compile(r"\b\d{4}-\d\d-\d\d\b")
_UUIDISH = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_TOKEN_ID = re.compile(r"\b(?=[0-9A-Za-z]*\d)(?=[0-9A-Za-z]*[A-Za-z])[0-9A-Za-z]{10,}\b")
_NUMBER = re.compile(r"(?<![\w:+.-])-?\d+(?:\.\d+)?(?!\w|:\d)")
_URL = re.compile(r"https?://\S+")


def shape(message: str) -> str:
    """``message`` (cleaned) with ids, times, dates, URLs and counts replaced by placeholders: the same fault
    seen at another object, instant or round gives the same shape."""
    text = _URL.sub("<url>", message)
    text = _ISO_TIME.sub("<time>", text)
    text = _ISO_DATE.sub("<date>", text)
    text = _UUIDISH.sub("<id>", text)
    text = _TOKEN_ID.sub("<id>", text)
    text = _NUMBER.sub("<n>", text)
    return " ".join(text.split())

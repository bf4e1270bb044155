"""Judgements clause tests share: whether the check layer had something to judge in
chosen exchanges, expectations of single exchanges, and comparisons of stored objects
that respect what the spec leaves open."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pytest

from conformance.checks import CHECKS, CheckContext
from conformance.checks.success import is_success
from conformance.checks.times import read_date, read_datetime, read_instant
from conformance.http.exchange import Exchange
from conformance.model import Resource
from conformance.verdicts.violation import expect


def exercise(clause: str, exchanges: Iterable[Exchange], ctx: CheckContext, nothing: str) -> int:
    """How many of ``exchanges`` give the per-response check of ``clause`` something to judge; none skips the
    test (``nothing`` says why), so a clause is never ``pass`` on nothing.

    The judging itself is the recorder's (:mod:`conformance.run.capture`): every response the suite receives
    goes through the check layer, which files each finding once, with its exchange, under the test that
    received it. Tests of these clauses make the responses (or reuse the run's spread of them,
    :func:`~conformance.suite._support.samples.variety`) and file nothing again."""
    judges = [c for c in CHECKS if c.clause == clause]
    judged = sum(1 for ex in exchanges if any(c.fn(ex, ctx) is not None for c in judges))
    if not judged:
        pytest.skip(nothing)
    return judged


def assert_error(
    ex: Exchange, clause: str, status: int | tuple[int, ...], codes: str | tuple[str, ...], what: str
) -> None:
    """The exchange is an error with one of ``status`` and one of ``codes``."""
    statuses = (status,) if isinstance(status, int) else status
    allowed = (codes,) if isinstance(codes, str) else codes
    expect(ex.status < 500, clause, f"{what}: got HTTP {ex.status}; bad input must never get 5xx", ex)
    expect(ex.status in statuses, clause, f"{what}: expected HTTP {'/'.join(map(str, statuses))}, got {ex.status}", ex)
    expect(
        ex.error_code in allowed,
        clause,
        f"{what}: expected error_code {' or '.join(allowed)}, got {ex.error_code!r}",
        ex,
    )


def assert_ok(ex: Exchange, clause: str, what: str) -> Any:
    """A successful read of one object: that object (``data`` itself, or an array holding just it)."""
    assert_written(ex, clause, what)
    data = ex.data
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    expect(isinstance(data, dict), clause, f"{what}: success without the object in data", ex)
    return data


def assert_written(ex: Exchange, clause: str, what: str) -> None:
    """A successful write. What its ``data`` holds is the vendor's choice (ENV-2: an object or an array,
    the object or not), so tests read the stored state by GET, never from a write's answer."""
    expect(is_success(ex.status), clause, f"{what}: expected success, got HTTP {ex.status} {_err(ex)}", ex)


def _err(ex: Exchange) -> str:
    env = ex.envelope or {}
    return f"({env.get('error_code')}: {str(env.get('error_message'))[:120]})" if env.get("error_code") else ""


def writable_state(resource: Resource, version: int, data: dict[str, Any]) -> dict[str, Any]:
    """The part of a stored object a client controls, normalised for comparison
    (times as instants, so the rendering zone does not matter)."""
    out = {}
    for f in resource.writable(version):
        out[f.name] = normalise(f.kind, data.get(f.name, _ABSENT))
    return out


_ABSENT = "<absent>"


def normalise(kind: str, value: Any) -> Any:
    """Times as instants and dates as calendar dates, in any ISO 8601 form a server may accept (the fuzz
    judge lets it accept ``…Z`` or ``20130327``); anything else as it is."""
    if kind == "time" and isinstance(value, str):
        instant = read_instant(value)
        return ("instant", int(instant.timestamp())) if instant else value
    if kind == "date" and isinstance(value, str):
        d = read_date(value)
        return d.isoformat() if d else value
    return _json_numbers(value)


class JsonNumber:
    """A number compared as the double it is to most JSON parsers (exactly, beyond any double); shown as read."""

    __slots__ = ("key", "value")

    def __init__(self, value: int | float) -> None:
        self.value = value
        try:
            self.key: int | float = float(value)
        except OverflowError:
            self.key = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonNumber) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return repr(self.value)


def _json_numbers(value: Any) -> Any:
    """Numbers as the double a JSON number is to most parsers: ``7.011249611154541e+16`` written, and
    ``70112496111545410`` read back from a Node or Go server that prints it in plain digits, are one value (and
    an integer beyond 2⁵³ reads back as its nearest double). A boolean stays a boolean, never ``1``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return JsonNumber(value)
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    return value


def same_written(resource: Resource, version: int, body: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """Fields whose stored value differs from the written one (read-your-writes), letter case included.

    A time written without an offset is not compared: which zone the server read it in is its choice. An address
    may come back with its domain in other case (:func:`_same_address`)."""
    diffs = []
    kinds = {f.name: f.kind for f in resource.writable(version)}
    for name, sent in body.items():
        if name not in kinds:
            continue
        got = data.get(name, _ABSENT)
        sent = _without_omitted(sent, {} if got is _ABSENT else got)
        if got is _ABSENT and _omissible(sent):  # left out by omitempty / NON_NULL / NON_EMPTY
            continue
        if kinds[name] == "time" and isinstance(sent, str) and _naive_time(sent):
            continue
        if kinds[name] == "time" and _fraction_kept_whole(sent, got):
            continue
        if _same_address(sent, got):
            continue
        if normalise(kinds[name], sent) != normalise(kinds[name], got):
            diffs.append(f"{name}: wrote {sent!r}, read {got!r}")
    return diffs


def _omissible(value: Any) -> bool:
    """What serializers leave out of an object: null and empty values (Jackson's NON_NULL/NON_EMPTY), and Go's
    ``omitempty`` zero values (``false``, ``0``, ``""``)."""
    if value is None or value is False or value in ("", [], {}):
        return True
    return type(value) in (int, float) and value == 0


def _without_omitted(sent: Any, got: Any) -> Any:
    """``sent`` less the members of its nested objects that ``got`` left out and a serializer may leave out
    (:func:`_omissible`): the same rule as for a top-level field, at any depth."""
    if isinstance(sent, dict) and isinstance(got, dict):
        out = {}
        for k, v in sent.items():
            kept = _without_omitted(v, got.get(k, {}))
            if k in got or not _omissible(kept):
                out[k] = kept
        return out
    if isinstance(sent, list) and isinstance(got, list) and len(sent) == len(got):
        return [_without_omitted(a, b) for a, b in zip(sent, got, strict=True)]
    return sent


def _same_address(sent: Any, got: Any) -> bool:
    """The same mail address, its domain in other letter case: domains are case-insensitive, local parts are
    not (RFC 5321 §2.4), so a server may lower-case the domain of an address it stores, never its local part.

    A local part may itself hold an ``@`` (quoted), and a free-text field may hold any number: a server may
    take the domain to start after the first ``@`` or after the last, so only what precedes the first must
    read back exactly."""
    if not (isinstance(sent, str) and isinstance(got, str)) or "@" not in sent:
        return False
    local = sent.index("@") + 1
    return sent[:local] == got[:local] and sent[local:].casefold() == got[local:].casefold()


def _fraction_kept_whole(sent: Any, got: Any) -> bool:
    """A time written with a fraction of a second and read back within that second, floored or rounded: times
    are rendered in whole seconds (TIME-1), and SPEC does not say how a fraction is dropped."""
    if not (isinstance(sent, str) and isinstance(got, str)):
        return False
    a, b = read_instant(sent), read_instant(got)
    if a is None or b is None or a.microsecond == 0:
        return False
    return abs(a.timestamp() - b.timestamp()) < 1


def _naive_time(value: str) -> bool:
    parsed = read_datetime(value)
    return parsed is not None and parsed.tzinfo is None


def diff_states(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [f"{k}: {a.get(k)!r} vs {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def mentions(value: Any, token: str) -> bool:
    """Whether ``token`` (one of the run's unique ids) stands whole in any string inside ``value``: a listed
    item names its object however the vendor shapes it (``id``, a nested ``{"ref": {"id": …}}``, an ``href``)."""
    return _mentions(value, re.compile(rf"(?<![A-Za-z0-9_-]){re.escape(token)}(?![A-Za-z0-9_-])"))


def _mentions(value: Any, pattern: re.Pattern[str]) -> bool:
    if isinstance(value, str):
        return pattern.search(value) is not None
    if isinstance(value, int) and not isinstance(value, bool):  # an integer id listed as a JSON number
        return pattern.fullmatch(str(value)) is not None
    if isinstance(value, dict):
        return any(_mentions(v, pattern) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, pattern) for v in value)
    return False

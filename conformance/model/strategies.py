"""Request bodies derived from the target model: valid ones generated from each
resource's write schema (schemathesis generation engine), invalid ones derived from a
valid body and proven invalid against the schema before they are sent.

Generation is *tamed* for the clause tests: strings are short printable ASCII
without surrounding blanks, times and dates use the spec's exact input format, so
a strict-but-correct server never rejects what the suite calls valid. Fuzzing
does the wild inputs. The JSON Schema engine is schemathesis' own (the same one
its fuzzing uses), which models ``if``/``then`` and ``$ref`` fully.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from conformance import _compat
from conformance.model import Field, Resource, formats
from conformance.model.schemas import format_of, is_valid

TIME_FORMAT = "spec-time"
DATE_FORMAT = "spec-date"
MAX_TEXT = 24
SAFE_INTEGER = 2**53 - 1
_DRAFT_2020_12 = 20  # schemathesis' code for JSON Schema 2020-12
_ALPHABET = _compat.string_alphabet(
    allow_x00=False,
    codec="ascii",
    max_codepoint=126,
    exclude_characters="".join(map(chr, range(32))),
    allow_surrounding_whitespace=False,
)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid against ``schema``, with the spec's time and date input formats and plain values of the
    formats vendors declare for free text (an address every validator accepts, not RFC 5321's rarities)."""
    by_format = {TIME_FORMAT: spec_times(), DATE_FORMAT: spec_dates(), **formats.plain_strategies(), **_addresses()}
    return _compat.schema_strategy(schema, draft=_DRAFT_2020_12, formats=by_format, alphabet=_ALPHABET)


def address(token: str) -> str:
    """A plain address in mixed case, unique by ``token``: its local part is case-sensitive (RFC 5321 §2.4) and
    must read back exactly (IDEM-4); its domain is not, and may come back in any case."""
    return f"Conformance.{token}@Example.com"


ADDRESS_FORMATS = frozenset(fmt for fmt, plain in formats.PLAIN_VALUES.items() if "@" in plain("x"))  # mail


@cache
def _addresses() -> dict[str, st.SearchStrategy[str]]:
    """Addresses for the property tests, local parts in mixed case (a server that lower-cases them shows)."""
    local = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10)
    mixed = st.builds("{}@Example.{}".format, local, st.sampled_from(["com", "org", "net"]))
    return dict.fromkeys(ADDRESS_FORMATS, mixed)


# Offsets a client may send (TIME-5: "a time sent in any offset").
OFFSETS = tuple(timedelta(minutes=m) for m in (-600, -480, -300, -240, -210, 0, 60, 120, 330, 345, 540, 765))
# Instants whose offsets are history, not forecast: a zone's rules for future years change with each tzdata
# release, so a vendor's tzdata may rightly disagree with the suite's there. Fixed (not "now") so that a
# recorded seed draws the same values on any later day.
_MIN = datetime(1990, 1, 1, tzinfo=UTC)
_MAX = datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)


def format_time(instant: datetime, offset: timedelta) -> str:
    """``YYYY-MM-DDThh:mm:ss±hh:mm`` of ``instant`` seen at ``offset``."""
    return instant.astimezone(timezone(offset)).replace(microsecond=0).isoformat()


def instants() -> st.SearchStrategy[datetime]:
    return st.integers(int(_MIN.timestamp()), int(_MAX.timestamp())).map(lambda s: datetime.fromtimestamp(s, UTC))


@cache
def transitions(zone: ZoneInfo, years: range = range(2012, _MAX.year + 1)) -> list[datetime]:
    """UTC instants at which ``zone``'s offset changes (DST boundaries), found by bisection."""
    out = []
    for year in years:
        start = datetime(year, 1, 1, tzinfo=UTC)
        points = [start + timedelta(days=7 * i) for i in range(54)]
        for a, b in zip(points, points[1:], strict=False):
            if a.astimezone(zone).utcoffset() != b.astimezone(zone).utcoffset():
                lo, hi = a, b
                while hi - lo > timedelta(seconds=1):
                    mid = lo + (hi - lo) / 2
                    if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
                        lo = mid
                    else:
                        hi = mid
                out.append(hi.replace(microsecond=0))
    return out


def dst_instants(zone: ZoneInfo | None) -> st.SearchStrategy[datetime]:
    """Instants around a DST boundary of ``zone`` (or of a few DST zones when unknown)."""
    zones = [zone] if zone else [ZoneInfo("America/Chicago"), ZoneInfo("Europe/Berlin"), ZoneInfo("Australia/Sydney")]
    edges = [t for z in zones for t in transitions(z)]
    if not edges:
        return instants()
    return st.tuples(st.sampled_from(edges), st.integers(-7200, 7200)).map(lambda p: p[0] + timedelta(seconds=p[1]))


def spec_times() -> st.SearchStrategy[str]:
    return st.builds(format_time, st.one_of(instants(), dst_instants(None)), st.sampled_from(OFFSETS))


def spec_dates() -> st.SearchStrategy[str]:
    return st.dates(min_value=_MIN.date(), max_value=_MAX.date()).map(lambda d: d.isoformat())


def _tame(schema: Any, fields_by_name: dict[str, Field] | None = None) -> Any:
    """A copy of ``schema`` whose strings are plain and whose times/dates use spec formats."""
    if isinstance(schema, list):
        return [_tame(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _tame(v) for k, v in schema.items() if k not in ("properties", "examples", "example")}
    if "properties" in schema:
        props = {}
        for name, sub in schema["properties"].items():
            f = (fields_by_name or {}).get(name)
            if f is not None and f.kind in ("time", "date"):
                props[name] = _with_format(sub, TIME_FORMAT if f.kind == "time" else DATE_FORMAT)
            else:
                props[name] = _tame(sub)
        out["properties"] = props
    types = out.get("type")
    is_string = types == "string" or (isinstance(types, list) and "string" in types)
    if is_string and not ({"format", "enum", "const"} & out.keys()):
        out["maxLength"] = max(out.get("minLength", 0), min(out.get("maxLength", MAX_TEXT), MAX_TEXT))
    if out.get("type") == "array":
        out.setdefault("maxItems", max(3, out.get("minItems", 0)))
    if out.get("type") == "integer":  # what every JSON parser keeps exactly (RFC 8259 §6): a JavaScript server too
        out.setdefault("minimum", -SAFE_INTEGER)
        out.setdefault("maximum", SAFE_INTEGER)
    return out


def _with_format(sub: dict[str, Any], fmt: str) -> dict[str, Any]:
    sub = copy.deepcopy(sub)
    for key in ("pattern", "format", "minLength", "maxLength"):
        sub.pop(key, None)
    if "anyOf" in sub or "oneOf" in sub:
        key = "anyOf" if "anyOf" in sub else "oneOf"
        sub[key] = [_with_format(s, fmt) if s.get("type") == "string" else s for s in sub[key]]
        return sub
    sub["format"] = fmt
    return sub


def write_schema(resource: Resource, version: int) -> dict[str, Any]:
    """The write schema restricted to the fields this version has, with no others (a copy): what bodies are
    generated from and checked against."""
    schema = resource.write_schema_for(version)
    schema.pop("additionalProperties", None)
    schema["additionalProperties"] = False  # generate only declared fields
    return schema


@cache
def valid_bodies(resource: Resource, version: int) -> st.SearchStrategy[dict[str, Any]]:
    tamed = _tame(write_schema(resource, version), resource.fields)
    return from_schema(tamed)


def minimal_body(resource: Resource, version: int) -> dict[str, Any]:
    """A small valid body: the description's example if valid, else hypothesis' minimal one, in plain words."""
    return _humane(resource, version, copy.deepcopy(_minimal_body(resource, version)))


def humane(
    resource: Resource, version: int, body: dict[str, Any] | None, keep: Iterable[str] = ()
) -> dict[str, Any] | None:
    """:func:`_humane` of ``body``, or None (a search that found no body)."""
    return None if body is None else _humane(resource, version, body, keep)


def _humane(resource: Resource, version: int, body: dict[str, Any], keep: Iterable[str] = ()) -> dict[str, Any]:
    """``body`` as a person would fill it in: free text as unique words in mixed case (``"Conformance 3fa2c1"``,
    ``"Conformance.3fa2c1@Example.com"``; not the ``"0"`` a minimal search finds: read-your-writes then compares
    letter case too) and lists of one string item with a second one, wherever the description still allows it.
    Vendors' unstated rules ("starts with a letter", "unique", "at least two") refuse the odd values, not these
    (SPEC ambiguity 15); the generated bodies of the property tests stay as wild."""
    schema = write_schema(resource, version)
    out = dict(body)
    kept = set(keep)
    for name, value in body.items():
        f = resource.fields.get(name)
        if name in kept or f is None or f.kind != "other":
            continue
        fmt = format_of(f.schema)
        if isinstance(value, str) and fmt in ADDRESS_FORMATS:  # in mixed case, as people type them
            token = secrets.token_hex(3)
            trials = [{**out, name: text} for text in (address(token), formats.PLAIN_VALUES[fmt](token))]
        elif isinstance(value, str) and fmt in formats.PLAIN_VALUES:  # a value every validator of the format accepts
            trials = [{**out, name: formats.PLAIN_VALUES[fmt](secrets.token_hex(3))}]
        elif isinstance(value, str) and fmt is None:  # (jsonschema does not check formats here)
            token = secrets.token_hex(3)  # mixed case first: text reads back exactly (IDEM-4)
            words = (
                f"Conformance {token}",
                address(token),
                f"conformance-{token}@example.com",
                f"Conformance-{token}",
                f"conformance-{token}",
            )
            trials = [{**out, name: text} for text in words]
        elif isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
            trials = [{**out, name: [value[0], value[0] + " 2"]}]
        else:
            continue
        out = next((trial for trial in trials if is_valid(schema, trial)), out)
    return out


@cache
def _minimal_body(resource: Resource, version: int) -> dict[str, Any]:
    schema = write_schema(resource, version)
    for example in _examples(resource.write_schema):
        body = {k: v for k, v in example.items() if k in schema.get("properties", {})}
        if is_valid(schema, body):
            return body
    return find(
        valid_bodies(resource, version),
        lambda b: True,
        settings=settings(database=None, max_examples=200, suppress_health_check=list(HealthCheck)),
    )


def _examples(schema: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(schema.get("examples") or [])
    if "example" in schema:
        found.append(schema["example"])
    return [e for e in found if isinstance(e, dict)]


def examples(resource: Resource, version: int) -> list[dict[str, Any]]:
    """The description's own example bodies (``example``/``examples`` of the write schema, and a body of every
    field's ``default``), restricted to this version's fields; valid ones only."""
    schema = write_schema(resource, version)
    names = schema.get("properties", {})
    found = [{k: v for k, v in e.items() if k in names} for e in _examples(resource.write_schema)]
    defaults = {
        f.name: copy.deepcopy(f.schema["default"])
        for f in resource.fields.values()
        if f.name in names and f.has_default and f.schema["default"] is not None
    }
    if defaults:
        found.append({**minimal_body(resource, version), **defaults})
    return [copy.deepcopy(b) for b in found if is_valid(schema, b)]


def body_with_items(resource: Resource, version: int, name: str) -> dict[str, Any] | None:
    """A valid body whose array field ``name`` is non-empty (a copy), or None when none is found."""
    found = _body_with_items(resource, version, name)
    return copy.deepcopy(found) if found is not None else None


@cache
def _body_with_items(resource: Resource, version: int, name: str) -> dict[str, Any] | None:
    """A valid body whose array field ``name`` is non-empty, or None when none is found.

    First from a schema that itself asks for the field with an item (other fields may have to follow, e.g.
    through ``if``/``then``), so the search starts where the answer is; then by chance, as a fallback."""

    def non_empty(b: dict[str, Any]) -> bool:
        return isinstance(b.get(name), list) and len(b[name]) > 0

    search = settings(database=None, max_examples=300, suppress_health_check=list(HealthCheck))
    schema = _tame(write_schema(resource, version), resource.fields)
    if isinstance(schema.get("properties", {}).get(name), dict):
        schema["properties"][name] = {**schema["properties"][name], "minItems": 1}
        schema["required"] = sorted(set(schema.get("required", [])) | {name})
        try:
            return find(from_schema(schema), non_empty, settings=search)
        except Exception:  # nothing found, or a schema the engine cannot satisfy: search by chance
            pass
    try:
        return find(valid_bodies(resource, version), non_empty, settings=search)
    except NoSuchExample:
        return None


@cache
def _body_with(resource: Resource, version: int, fixed: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    schema = _tame(write_schema(resource, version), resource.fields)
    for name, value in fixed:
        schema["properties"][name] = {"const": value}
        schema["required"] = sorted(set(schema.get("required", [])) | {name})
    strategy = from_schema(schema)
    return find(
        strategy,
        lambda b: True,
        settings=settings(database=None, max_examples=500, suppress_health_check=list(HealthCheck)),
    )


def body_with(resource: Resource, version: int, **fixed: Any) -> dict[str, Any]:
    """A small valid body with the given field values (other fields as the schema demands).

    The minimal body with the values set, when that is valid (the common, cheap case);
    otherwise a search, since other fields may depend on the fixed ones."""
    body = {**minimal_body(resource, version), **fixed}
    if is_valid(write_schema(resource, version), body):
        return body
    found = copy.deepcopy(_body_with(resource, version, tuple(sorted(fixed.items(), key=lambda kv: kv[0]))))
    return _humane(resource, version, found, keep=fixed)


@cache
def _full_body(resource: Resource, version: int) -> dict[str, Any]:
    schema = _tame(write_schema(resource, version), resource.fields)
    schema["required"] = sorted(schema.get("properties", {}))
    for prop in schema.get("properties", {}).values():
        if isinstance(prop.get("type"), list) and "null" in prop["type"]:
            prop["type"] = [t for t in prop["type"] if t != "null"] or prop["type"]
        for key in ("anyOf", "oneOf"):
            if key in prop:
                prop[key] = [s for s in prop[key] if s.get("type") != "null"] or prop[key]
    strategy = from_schema(schema)
    return find(
        strategy,
        lambda b: True,
        settings=settings(database=None, max_examples=500, suppress_health_check=list(HealthCheck)),
    )


def full_body(resource: Resource, version: int) -> dict[str, Any]:
    """A valid body with every field of this version present and non-null where allowed, in plain words."""
    return _humane(resource, version, copy.deepcopy(_full_body(resource, version)))


def sparse_body(resource: Resource, version: int) -> dict[str, Any]:
    """:func:`full_body` less every member whose absence keeps it valid: what a complete copy (IDEM-3) must
    take back to its default when it follows a full write."""
    schema = write_schema(resource, version)
    body = full_body(resource, version)
    for name in sorted(body):
        trial = {k: v for k, v in body.items() if k != name}
        if is_valid(schema, trial):
            body = trial
    return body

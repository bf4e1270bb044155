"""JSON-1 and JSON-3: the body is JSON, labelled so, and compact."""

from __future__ import annotations

import re

from conformance.checks.context import CheckContext
from conformance.checks.registry import check
from conformance.http.exchange import Exchange, Finding

_MEDIA = re.compile(r"^\s*application/json\s*(;.*)?$", re.IGNORECASE)
_PRETTY = re.compile(rb"[\r\n]|[:,\[{] {2,}|[:,\[{]\t")


@check("JSON-1")
def json_content_type(ex: Exchange, ctx: CheckContext) -> list[Finding]:
    findings = []
    if not _MEDIA.match(ex.content_type):
        findings.append(
            Finding.of("JSON-1", f"Content-Type is {ex.content_type or 'missing'!r}, not application/json", ex)
        )
    if ex.oversized:  # whole, but longer than the suite keeps: its body is not judged
        return findings
    if ex.truncated:
        findings.append(Finding.of("JSON-1", "body broke off or never completed", ex))
    elif not ex.has_json:
        findings.append(Finding.of("JSON-1", "response body is not JSON", ex))
    return findings


@check("JSON-3")
def compact_json(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
    if not ex.has_json or ex.truncated:
        return None
    body = ex.response_body.strip()
    # Blanking strings never makes a match (it only empties what lies between quotes), so a body with
    # no match as it is (the common case) needs no blanking.
    if _PRETTY.search(body) and _PRETTY.search(_outside_strings(body)):
        return [Finding.of("JSON-3", "response JSON is pretty-printed (line breaks or indentation)", ex)]
    return []


def _outside_strings(body: bytes) -> bytes:
    """The body with the contents of JSON strings blanked, so their text is not judged."""
    return re.sub(rb'"(?:[^"\\]|\\.)*"', b'""', body)

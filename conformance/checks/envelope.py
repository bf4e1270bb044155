"""ENV-1..4: the response envelope."""

from __future__ import annotations

from typing import Any

from conformance.checks.context import CheckContext
from conformance.checks.registry import check
from conformance.checks.success import is_success
from conformance.http.exchange import Exchange, Finding
from conformance.spec import facts


@check("ENV-1")
def exact_keys(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
    if ex.oversized:  # whole, but longer than the suite keeps: not judged
        return None
    if not ex.has_json:  # ENV-1: "every response body is a JSON object"; JSON-1 also reports it
        cut = f" (cut at {len(ex.response_body)} bytes: it did not end)" if ex.truncated else ""
        return [Finding.of("ENV-1", f"body is not JSON, so not the envelope{cut}", ex)]
    body = ex.json
    if not isinstance(body, dict):
        return [Finding.of("ENV-1", f"body is a JSON {type(body).__name__}, not an object", ex)]
    keys = set(body)
    if keys == facts.ENVELOPE_KEYS:
        if not isinstance(body["success"], bool):
            return [Finding.of("ENV-1", f"success is {body['success']!r}, not a boolean", ex)]
        return []
    parts = []
    if missing := facts.ENVELOPE_KEYS - keys:
        parts.append("missing " + ", ".join(sorted(missing)))
    if extra := keys - facts.ENVELOPE_KEYS:
        parts.append("extra " + ", ".join(sorted(extra)))
    return [Finding.of("ENV-1", "envelope keys: " + "; ".join(parts), ex)]


@check("ENV-2")
def success_shape(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
    env = _envelope(ex, success=True)
    if env is None:
        return None
    findings = []
    if not isinstance(env.get("data"), (dict, list)):
        findings.append(
            Finding.of("ENV-2", f"success response has data {_kind(env.get('data'))}, not an object or array", ex)
        )
    for key in ("error_code", "error_message"):
        if env.get(key) is not None:
            findings.append(Finding.of("ENV-2", f"success response has non-null {key}", ex))
    return findings


@check("ENV-3")
def error_shape(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
    env = _envelope(ex, success=False)
    if env is None:
        return None
    findings = []
    if env.get("data") is not None:
        findings.append(Finding.of("ENV-3", "error response has non-null data", ex))
    code = env.get("error_code")
    if code not in facts.error_codes():
        findings.append(Finding.of("ENV-3", f"error_code {code!r} is not one of the spec's codes", ex))
    message = env.get("error_message")
    if not isinstance(message, str) or message == "":  # ENV-3: a non-empty string; " " is one
        findings.append(Finding.of("ENV-3", "error_message is missing or empty", ex))
    return findings


@check("ENV-4")
def success_matches_status(ex: Exchange, ctx: CheckContext) -> list[Finding] | None:
    env = ex.envelope
    if env is None or not isinstance(env.get("success"), bool):
        return None
    if env["success"] != is_success(ex.status):
        return [Finding.of("ENV-4", f"success is {str(env['success']).lower()} on HTTP {ex.status}", ex)]
    return []


def _envelope(ex: Exchange, *, success: bool) -> dict[str, Any] | None:
    """The response's envelope when its ``success`` is ``success`` (the boolean itself), else None."""
    env = ex.envelope
    return env if env is not None and env.get("success") is success else None


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__

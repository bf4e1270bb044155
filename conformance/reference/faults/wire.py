"""Valid variants in the HTTP around the envelope: headers, compression, connections and rate limits that
no clause forbids, and a debugging aid that echoes credentials (which the suite's reports must redact)."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import Callable
from urllib.parse import quote

from conformance.reference.behaviour import ApiError, Ctx, Reply
from conformance.reference.faults.shared import after_encode, envelope
from conformance.reference.faults.switch import Group
from conformance.reference.orgs import Organization, basic_credential

SWITCHES = Group()


def _extra_headers(ctx: Ctx, reply: Reply) -> None:
    reply.headers.update(
        {
            "x-request-id": uuid.uuid4().hex,
            "cache-control": "no-store",
            "x-ratelimit-remaining": "999",
            "x-content-type-options": "nosniff",
        }
    )


SWITCHES.variant(
    "extra-headers",
    "Adds X-Request-Id, Cache-Control and rate-limit headers.",
    encode_reply=after_encode(_extra_headers),
)

THROTTLE_EVERY = 7


def _throttle(default: Callable[[Ctx], Organization], ctx: Ctx) -> Organization:
    """Every THROTTLE_EVERY-th authenticated request is refused before anything happens."""
    org = default(ctx)
    count = ctx.services.scratch.setdefault("throttle", [0])
    count[0] += 1
    if count[0] % THROTTLE_EVERY == 0:
        raise ApiError(429, "requested_too_many", "slow down")
    return org


def _retry_after(ctx: Ctx, reply: Reply) -> None:
    if reply.status == 429:
        reply.headers["Retry-After"] = "0"


SWITCHES.variant(
    "throttles",
    f"Answers every {THROTTLE_EVERY}th request 429 with Retry-After: 0 before doing anything (a rate limiter).",
    authenticate=_throttle,
    encode_reply=after_encode(_retry_after),
)


def _connection_close(ctx: Ctx, reply: Reply) -> None:
    reply.headers["connection"] = "close"


SWITCHES.variant(
    "connection-close",
    "Closes the connection after every response (Connection: close): no keep-alive.",
    encode_reply=after_encode(_connection_close),
)


def _gzip(ctx: Ctx, reply: Reply) -> None:
    if "gzip" in ctx.request.headers.get("accept-encoding", "") and reply.body:
        reply.body = gzip.compress(reply.body)
        reply.headers.update({"content-encoding": "gzip", "vary": "Accept-Encoding"})


SWITCHES.variant("gzip", "Compresses responses when the client accepts gzip.", encode_reply=after_encode(_gzip))

_JSON_SLOT = "\x00json-escaped-key\x00"  # replaced in the encoded body, where JSON escapes can be written


def _printable(text: str) -> str:
    """``text`` if it can go in a response header as is, else its percent-encoded form."""
    return text if text.isascii() and text.isprintable() else quote(text, safe="")


def _echo_credentials(default: Callable[[Ctx, Reply], Reply], ctx: Ctx, reply: Reply) -> Reply:
    """A debugging aid left on: the caller's credentials come back in headers and error messages."""
    raw = ctx.request.headers.get("authorization")
    if raw is None:
        return default(ctx, reply)
    key = basic_credential(raw) or ""
    try:
        decoded = base64.b64decode(key, validate=True).decode("utf-8")
    except ValueError:
        decoded = ""
    payload = envelope(reply)
    if payload is not None and payload.get("success") is False and reply.body is None:
        payload["error_message"] = (
            f"{payload.get('error_message') or 'error'} [debug: Authorization={raw} key={key} decoded={decoded}"
            f" json={_JSON_SLOT} url={quote(key, safe='')} url-decoded={quote(decoded, safe='')}]"
        )
    reply = default(ctx, reply)
    if reply.body is not None and payload is not None:
        # the key JSON-escaped two legal ways: "/" as "\/", and every character as a \u escape (4 hex digits)
        escaped = json.dumps(key)[1:-1].replace("/", "\\/") + " " + "".join(f"\\u{ord(c):04x}" for c in key)
        reply.body = reply.body.replace(json.dumps(_JSON_SLOT)[1:-1].encode("ascii"), escaped.encode("ascii"))
    reply.headers["x-debug-authorization"] = _printable(raw)
    reply.headers["x-debug-key"] = _printable(key)
    if decoded:
        reply.headers["x-debug-key-decoded"] = _printable(decoded)
    return reply


SWITCHES.variant(
    "echo-credentials",
    "Echoes the caller's credentials (the Authorization value, the key, its decoded, JSON-escaped and "
    "URL-encoded forms) in X-Debug-* headers and in every error_message.",
    encode_reply=_echo_credentials,
)

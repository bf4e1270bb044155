"""JSON: bodies are JSON objects, labelled application/json (JSON-1), a body that is not one is refused
with 403 invalid_request (JSON-2), and responses are compact (JSON-3)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from conformance.reference.behaviour import ApiError, Ctx, Reply
from conformance.reference.faults.hooks import ParseBody
from conformance.reference.faults.shared import after_encode, after_shape, is_404, recode
from conformance.reference.faults.switch import Group

SWITCHES = Group()


# -- JSON-1 ---------------------------------------------------------------------------------------
SWITCHES.fault(
    "json-content-type-text",
    "JSON-1",
    "Sends JSON labelled Content-Type: text/plain.",
    encode_reply=after_encode(lambda ctx, r: r.headers.__setitem__("content-type", "text/plain")),
)


def _html_404(ctx: Ctx, reply: Reply) -> None:
    if is_404(reply):
        reply.body = b"<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>"
        reply.headers["content-type"] = "text/html; charset=utf-8"


SWITCHES.fault(
    "json-html-error-page",
    "JSON-1",
    "Answers 404 with the web framework's HTML error page.",
    encode_reply=after_encode(_html_404),
)


def _empty_delete(ctx: Ctx, reply: Reply) -> None:
    if ctx.method == "DELETE" and reply.ok:
        reply.body = b""
        reply.headers.pop("content-type", None)


SWITCHES.fault(
    "json-empty-delete-body",
    "JSON-1",
    "Answers a successful DELETE with an empty body.",
    encode_reply=after_encode(_empty_delete),
)


# -- JSON-2 ---------------------------------------------------------------------------------------
Decode = Callable[[Ctx, bytes], dict[str, Any]]  # the correct parse_body


def _bad_body(error: Callable[[ApiError], Exception]) -> ParseBody:
    """An override of ``parse_body`` that raises ``error(e)`` where the correct one refuses the body with ``e``."""

    def override(default: Decode, ctx: Ctx, raw: bytes) -> dict[str, Any]:
        try:
            return default(ctx, raw)
        except ApiError as e:
            raise error(e) from None

    return override


SWITCHES.fault(
    "json-500-on-bad-body",
    "JSON-2",
    "Lets the JSON decoder's exception escape: a body that is not a JSON object gets 500.",
    parse_body=_bad_body(lambda e: ValueError("unhandled JSON decode error")),
)
SWITCHES.fault(
    "json-bad-body-validation",
    "JSON-2",
    "Answers a non-JSON or non-object body with validation_failed instead of invalid_request.",
    parse_body=_bad_body(lambda e: ApiError(403, "validation_failed", e.message)),
)


def _update_body_unguarded(default: Decode, ctx: Ctx, raw: bytes) -> dict[str, Any]:
    """A rule kept on some operations only (see ``auth.py``): the create path guards the decode, the update
    path does not."""
    existing = ctx.route is not None and ctx.services.store.get(ctx.org_id, ctx.route.key) is not None
    try:
        return default(ctx, raw)
    except ApiError:
        if existing:
            raise ValueError("unhandled JSON decode error on the update path") from None
        raise


SWITCHES.fault(
    "json-500-on-update-body",
    "JSON-2",
    "The update path decodes the body unguarded: a body that is not a JSON object, sent to an existing "
    "object, gets 500 (creates are guarded).",
    parse_body=_update_body_unguarded,
)


# -- JSON-3 ---------------------------------------------------------------------------------------
SWITCHES.fault(
    "json-pretty",
    "JSON-3",
    "Pretty-prints every response (indent=2).",
    encode_reply=after_encode(lambda ctx, r: recode(r, indent=2)),
)


# -- valid variants -------------------------------------------------------------------------------
def _charset(ctx: Ctx, reply: Reply) -> None:
    reply.headers["content-type"] = "application/json; charset=utf-8"


SWITCHES.variant("charset", "Content-Type: application/json; charset=utf-8.", encode_reply=after_encode(_charset))

SWITCHES.variant(
    "json-spaced",
    "A single space after ':' and ',' (still compact per JSON-3).",
    encode_reply=after_encode(lambda ctx, r: recode(r, separators=(", ", ": "))),
)


def _localized_message(ctx: Ctx, reply: Reply) -> None:
    if reply.payload.get("error_message"):
        reply.payload["error_message"] = "Anfrage abgelehnt – " + reply.payload["error_message"]


def _raw_utf8(default: Callable[[Ctx, Reply], Reply], ctx: Ctx, reply: Reply) -> Reply:
    if reply.body is None:
        with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate a client sent: only \u can carry it
            reply.body = json.dumps(reply.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return default(ctx, reply)


SWITCHES.variant(
    "utf8-raw",
    "Writes non-ASCII text as raw UTF-8 (no \\u escapes), and its error messages in German (non-ASCII).",
    shape_reply=after_shape(_localized_message),
    encode_reply=_raw_utf8,
)

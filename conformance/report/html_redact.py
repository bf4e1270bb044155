"""Masking the keys in pytest-html's written ``report.html``.

A plain pass (``Redactor.file``) misses keys inside pytest-html's data blob when JSON (``\\u00e9``, ``\\"``)
or HTML escaping (``&amp;``) rewrote a character of them, and every key inside an attachment, which is stored
as a base64 ``data:`` URI: each form is decoded, masked and encoded again.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from pathlib import Path
from typing import Any

import markupsafe

from conformance.http.redact import Redactor
from conformance.report.certification import scrub_text, write_bytes

_BLOB = re.compile(r'(<div id="data-container" data-jsonblob=")([^"]*)(")')
_DATA_URI = re.compile(r"(data:[\w.+-]+/[\w.+-]+(?:;[\w.+-]+=[\w.+-]+)*;base64,)([A-Za-z0-9+/]+=*)")
_TAG = re.compile(r"(<[^>]*>)")
_ATTR = re.compile(r"""(=\s*")([^"]*)(")|(=\s*')([^']*)(')""")


def _redact_escaped(segment: str, redactor: Redactor) -> str:
    """Redact HTML-escaped text, where ``&amp;`` or ``&#34;`` inside a key hide it from a plain pass."""
    plain = html.unescape(segment)
    clean = scrub_text(plain, redactor)
    return segment if clean == plain else html.escape(clean, quote=True)


def _redact_b64(payload: str, redactor: Redactor) -> str:
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return payload
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        clean = redactor.bytes(raw)
    else:
        try:
            parsed = json.loads(text)
        except ValueError:
            clean = _redact_markup(text, redactor).encode("utf-8")
        else:
            clean = json.dumps(_redact_value(parsed, redactor)).encode("utf-8")
            if json.loads(clean) == parsed:
                clean = raw
    return payload if clean == raw else base64.b64encode(clean).decode("ascii")


def _redact_markup(text: str, redactor: Redactor) -> str:
    """Redact an HTML fragment: base64 ``data:`` URIs, attribute values and text between tags."""
    text = _DATA_URI.sub(lambda m: m[1] + _redact_b64(m[2], redactor), text)
    parts = _TAG.split(text)
    for i, part in enumerate(parts):
        if i % 2:
            parts[i] = _ATTR.sub(
                lambda m: (m[1] or m[4]) + _redact_escaped(m[2] if m[1] else m[5], redactor) + (m[3] or m[6]),
                part,
            )
        else:
            parts[i] = _redact_escaped(part, redactor)
    return scrub_text("".join(parts), redactor)


def _redact_value(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return _redact_markup(value, redactor)
    if isinstance(value, dict):
        return {_redact_markup(str(k), redactor): _redact_value(v, redactor) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v, redactor) for v in value]
    return value


def _redact_blob(escaped: str, redactor: Redactor) -> str:
    """pytest-html's per-test data: JSON (``\\u``-escaped), HTML-escaped into an attribute."""
    try:
        data = json.loads(html.unescape(escaped))
    except ValueError:
        return _redact_escaped(escaped, redactor)
    clean = _redact_value(data, redactor)
    return escaped if clean == data else str(markupsafe.escape(json.dumps(clean)))


def redact_report(path: Path | str, redactor: Redactor) -> bool:
    """Mask every secret form in a pytest-html report in place; True when something was masked.

    A plain pass (``Redactor.file``) misses keys inside pytest-html's data blob when
    JSON (``\\u00e9``, ``\\"``) or HTML escaping (``&amp;``) rewrote a character of
    them, and every key inside an attachment, which is stored as a base64 ``data:`` URI.
    """
    if not redactor.active:
        return False
    path = Path(path)
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="surrogateescape")
    text = _BLOB.sub(lambda m: m[1] + _redact_blob(m[2], redactor) + m[3], text)
    text = _redact_markup(text, redactor)
    clean = text.encode("utf-8", errors="surrogateescape")
    if clean == raw:
        return False
    write_bytes(path, clean)
    return True

"""Every form an API key can take in what a run writes, and a scan of bytes for any of them.

Shared by the secrecy tests (test_secrets.py) and the hostile-target tests (test_hostile.py).
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus, unquote_to_bytes

FRAGMENT = 16  # characters: a longer run of a key is the key, give or take a few guessable bits


def forms_of(key: str) -> dict[str, str]:
    decoded = base64.b64decode(key).decode()
    return {
        "raw": key,
        "base64 of the key": base64.b64encode(key.encode()).decode(),
        "base64 of key:": base64.b64encode(f"{key}:".encode()).decode(),
        "JSON-escaped": json.dumps(key)[1:-1].replace("/", "\\/"),
        "JSON \\u-escaped": "".join(f"\\u{ord(c):04x}" for c in key),
        "URL-encoded": quote(key, safe=""),
        "URL-encoded (plus)": quote_plus(key),
        "decoded": decoded,
        "decoded secret part": decoded.split(":", 1)[1],
        "decoded, URL-encoded": quote(decoded, safe=""),
    }


def leaks(data: bytes, keys: list[str]) -> list[str]:
    found = []
    for n, key in enumerate(keys, start=1):
        forms = forms_of(key)
        for name, form in forms.items():
            variants = {form, form.upper(), form.lower()} if "%" in form or "\\u" in form else {form}
            if any(v.encode() in data for v in variants):
                found.append(f"key {n} ({name})")
        views = (data, unquote_to_bytes(data), data.replace(b"\\/", b"/"))  # as is, URL- and JSON-unescaped
        for name in ("raw", "decoded"):
            form = forms[name]
            if any(form[i : i + FRAGMENT].encode() in v for v in views for i in range(len(form) - FRAGMENT + 1)):
                found.append(f"key {n} ({FRAGMENT} consecutive characters of the {name} form)")
    return found

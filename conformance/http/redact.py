"""Keeping the vendor's API keys out of everything the suite writes.

The client redacts what it records, and every writer passes its output through a
:class:`Redactor` once more, because a target may echo a key back in any header
or body, in plain or base64-decoded form.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

MASK = "***REDACTED***"
MASK_ALTERED = "***REDACTED(altered key)***"  # a near copy of a key, e.g. one character changed
_MIN_SECRET = 6  # shorter fragments would mangle ordinary text
# A token sharing this many consecutive characters with a secret (plain, URL-encoded or with "/" JSON-escaped)
# is masked whole: a key with one character changed (as AUTH-2 sends) is still the key, give or take six bits,
# and a secret cut short by truncation is most of it.
_WINDOW = 16
_TOKEN = re.compile(rf"[A-Za-z0-9+/=_:.~%\\-]{{{_WINDOW},}}")
_MEMO_TOKEN = 256  # tokens up to this long have their verdict kept ...
_MEMO_SIZE = 65536  # ... this many at most (then forgotten all at once)


def _forms(key: str) -> set[str]:
    """The key and the forms it can take on the wire or in an echo."""
    forms = {key}
    try:
        decoded = base64.b64decode(key + "=" * (-len(key) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if decoded.isprintable() and decoded:
        forms.add(decoded)
        if ":" in decoded:
            forms.update(part for part in decoded.split(":", 1))
    forms.add(base64.b64encode(key.encode()).decode())
    return {f for f in forms if len(f) >= _MIN_SECRET} | {key}


@dataclass(frozen=True)
class _Compiled:
    forms: frozenset[str]
    pattern: re.Pattern[str] | None
    windows: frozenset[str]
    verdicts: dict[str, bool]  # token -> near a secret; the same ids and times recur in every response


@lru_cache(maxsize=8)
def _compile(secrets: frozenset[str]) -> _Compiled:
    """What redacting these secrets needs, worked out once per process (a run makes many Redactors)."""
    forms: set[str] = set()
    for secret in secrets:
        forms |= _forms(secret)
    pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))) if forms else None
    encoded = {e for f in forms for e in (f, quote(f, safe=""), f.replace("/", "\\/"))}
    windows = frozenset(e[i : i + _WINDOW] for e in encoded for i in range(len(e) - _WINDOW + 1))
    return _Compiled(frozenset(forms), pattern, windows, {})


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        compiled = _compile(frozenset(s for s in secrets if s))
        self._forms = compiled.forms
        self._pattern = compiled.pattern
        self._windows = compiled.windows
        self._verdicts = compiled.verdicts

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def text(self, value: str) -> str:
        if not self._pattern:
            return value
        value = self._pattern.sub(MASK, value)
        if not self._windows:
            return value
        verdicts = self._verdicts
        for token in _TOKEN.findall(value):
            near = verdicts.get(token)
            if near is None:
                near = self._is_near(token)
            if near:
                return _TOKEN.sub(self._near, value)
        return value  # no token near a secret: nothing to replace

    def _is_near(self, token: str) -> bool:
        windows = self._windows
        near = any(token[i : i + _WINDOW] in windows for i in range(len(token) - _WINDOW + 1))
        if len(token) <= _MEMO_TOKEN:
            if len(self._verdicts) >= _MEMO_SIZE:
                self._verdicts.clear()
            self._verdicts[token] = near
        return near

    def _near(self, match: re.Match[str]) -> str:
        token = match.group()
        near = self._verdicts.get(token)
        if near is None:
            near = self._is_near(token)
        return MASK_ALTERED if near else token

    def bytes(self, value: bytes) -> bytes:
        if not self._pattern:
            return value
        return self.text(value.decode("utf-8", errors="surrogateescape")).encode("utf-8", errors="surrogateescape")

    def obj(self, value: Any) -> Any:
        """Redact every string inside a JSON-like structure (keys too)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.obj(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.obj(v) for v in value]
        return value

    def file(self, path) -> None:
        """Rewrite a written file in place with every secret masked."""
        if not self._pattern:
            return
        with open(path, "rb") as fh:
            raw = fh.read()
        clean = self.bytes(raw)
        if clean != raw:
            with open(path, "wb") as fh:
                fh.write(clean)

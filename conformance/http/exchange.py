"""The records that flow down the pipeline: an HTTP exchange and a finding.

An :class:`Exchange` is what the client saw (already redacted and size-capped); a
:class:`Finding` is one clause violated, with the exchange as evidence. Both turn
into plain dicts so they can cross xdist workers and land in the reports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

_NO_JSON = object()
EVIDENCE_BODY_CHARS = 4000


@dataclass
class Exchange:
    """One request and its response, as the suite saw them.

    ``resource`` names the target-model resource the request addressed (if any) so
    that checks know which fields are times, dates and enumerations.
    """

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    truncated: bool = False  # the body broke off, or did not end within what the client reads
    oversized: bool = False  # the body ended, longer than the client keeps: ``response_body`` is its start
    elapsed: float = 0.0
    resource: str | None = None
    version: int | None = None
    curl: str = ""
    authenticated: bool = False  # sent with a configured organization key, verbatim

    @cached_property
    def json(self) -> Any:
        """The parsed body, or the module's ``NO_JSON`` sentinel when it is not JSON."""
        try:
            return json.loads(self.response_body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _NO_JSON

    @property
    def has_json(self) -> bool:
        return self.json is not _NO_JSON

    @property
    def envelope(self) -> dict[str, Any] | None:
        body = self.json
        return body if isinstance(body, dict) else None

    @cached_property
    def data_objects(self) -> tuple[dict[str, Any], ...] | None:
        """Every JSON object inside the data of a success envelope (the data itself, array items,
        nested objects); ``None`` when the body is not a success envelope."""
        env = self.envelope
        if env is None or env.get("success") is not True:
            return None
        out: list[dict[str, Any]] = []
        _collect_objects(env.get("data"), out)
        return tuple(out)

    @cached_property
    def records(self) -> tuple[dict[str, Any], ...] | None:
        """The objects a success envelope's data holds at its top: the data itself, or the objects of a data
        array (what the description's fields describe; nested objects are the vendor's own)."""
        env = self.envelope
        if env is None or env.get("success") is not True:
            return None
        data = env.get("data")
        items = data if isinstance(data, list) else [data]
        return tuple(item for item in items if isinstance(item, dict))

    @property
    def data(self) -> Any:
        env = self.envelope
        return env.get("data") if env else None

    @property
    def error_code(self) -> Any:
        env = self.envelope
        return env.get("error_code") if env else None

    @property
    def content_type(self) -> str:
        for name, value in self.response_headers.items():
            if name.lower() == "content-type":
                return value
        return ""

    def evidence(self) -> dict[str, Any]:
        """A JSON-safe, truncated copy for reports (headers are already redacted)."""
        return {
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": dict(self.request_headers),
                "body": _text(self.request_body),
            },
            "response": {
                "status": self.status,
                "headers": dict(self.response_headers),
                "body": (_text(self.response_body) or "") + _cut_note(self),
            },
            "curl": self.curl,
        }


def _collect_objects(value: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(value, dict):
        out.append(value)
        for item in value.values():
            if isinstance(item, (dict, list)):
                _collect_objects(item, out)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                _collect_objects(item, out)


def _text(body: bytes | None) -> str | None:
    if body is None:
        return None
    text = body.decode("utf-8", errors="replace")
    if len(text) > EVIDENCE_BODY_CHARS:
        return text[:EVIDENCE_BODY_CHARS] + f" …[{len(text) - EVIDENCE_BODY_CHARS} more chars]"
    return text


@dataclass
class Finding:
    """A clause the target violated, with the evidence that shows it."""

    clause: str
    message: str
    evidence: dict[str, Any] | None = None
    test_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, clause: str, message: str, exchange: Exchange | None = None) -> Finding:
        return cls(clause, message, exchange.evidence() if exchange is not None else None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"clause": self.clause, "message": self.message, "test_id": self.test_id}
        if self.evidence is not None:
            out["evidence"] = self.evidence
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(d["clause"], d["message"], d.get("evidence"), d.get("test_id", ""), d.get("extra", {}))


def exchange_of(response: Any, resource: str | None = None, version: int | None = None) -> Exchange:
    """A response from another client (``requests``, schemathesis) as an :class:`Exchange`,
    so the check layer can judge it. Header values given as lists are joined."""
    request = response.request
    body = request.body
    return Exchange(
        method=request.method or "GET",
        url=request.url or "",
        request_headers=dict(request.headers),
        request_body=body.encode() if isinstance(body, str) else body,
        status=response.status_code,
        response_headers={k: ", ".join(v) if isinstance(v, list) else v for k, v in response.headers.items()},
        response_body=response.content,
        resource=resource,
        version=version,
    )


def _cut_note(ex: Exchange) -> str:
    if ex.truncated:
        return " …[truncated by the suite]"
    return " …[longer than the suite keeps: the rest was read, not kept]" if ex.oversized else ""

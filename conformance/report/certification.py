"""``certification.json``: the run record as the one file a certificate rests on.

Every other report renders from :func:`to_json`, so the HTML page, the terminal
summary and the JSON file cannot disagree about a verdict or leak what the JSON
redacted.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import conformance
from conformance.http.exchange import EVIDENCE_BODY_CHARS, Finding
from conformance.http.redact import Redactor
from conformance.report import repro
from conformance.spec import catalogue
from conformance.verdicts import messages
from conformance.verdicts.decide import RunRecord

SCHEMA_VERSION = 2
# Bodies are truncated by the client already; this cap only guards findings built elsewhere.
_BODY_CAP = EVIDENCE_BODY_CHARS + 200


# A JSON string literal, and a token carrying percent-escapes: the two encodings in which an
# echoed key survives the Redactor's plain match (``\u00e9``, ``\/``, ``%2B``).
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_PERCENT_TOKEN = re.compile(r"[^\s\"'<>]*%[0-9A-Fa-f]{2}[^\s\"'<>]*")


def scrub_text(text: str, redactor: Redactor) -> str:
    """``redactor.text`` plus the forms it cannot see: keys inside JSON-escaped or URL-encoded text."""
    text = redactor.text(text)
    if not redactor.active:
        return text
    if "\\" in text:
        text = _JSON_STRING.sub(lambda m: _scrub_json_literal(m.group(), redactor), text)
    if "%" in text:
        text = _PERCENT_TOKEN.sub(lambda m: _scrub_percent(m.group(), redactor), text)
    return text


def _scrub_json_literal(literal: str, redactor: Redactor) -> str:
    try:
        value = json.loads(literal)
    except ValueError:
        return literal
    if not isinstance(value, str):
        return literal
    clean = scrub_text(value, redactor)  # recursive: JSON inside a JSON string is escaped twice
    return literal if clean == value else json.dumps(clean, ensure_ascii=False)


def _scrub_percent(token: str, redactor: Redactor) -> str:
    plain = unquote(token)
    clean = redactor.text(plain)
    return token if clean == plain else clean


def scrub(value: Any, redactor: Redactor) -> Any:
    """:func:`scrub_text` over every string (and key) of a JSON-like structure."""
    if isinstance(value, str):
        return scrub_text(value, redactor)
    if isinstance(value, dict):
        return {scrub_text(str(k), redactor): scrub(v, redactor) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, redactor) for v in value]
    return value


def identity(raw: dict[str, Any]) -> dict[str, Any]:
    """The run identity with every documented key present (missing ones as null)."""
    out: dict[str, Any] = {
        "target": None,
        "suite_version": conformance.__version__,
        "spec_revision": catalogue.load().spec_revision,
        "profile": None,
        "seed": None,
        "started_at": None,
        "finished_at": None,
        "duration_s": None,
        "openapi": {"source": None, "sha256": None},
        "org_timezone": None,
        "settings": {},
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for key, value in raw.items():
        if key == "openapi" and isinstance(value, dict):
            out["openapi"] = {**out["openapi"], **value}
        elif value is not None or key not in out:
            out[key] = value
    if not isinstance(out["settings"], dict):
        out["settings"] = {"value": out["settings"]}
    return out


def finding(f: Finding | dict[str, Any], confirmation: dict[str, int] | None = None) -> dict[str, Any]:
    """A finding flattened for readers: what was wrong (in the suite's words: :func:`messages.clean`), where, the
    violating request's curl line and, after ``--confirm``, how often its test charged the clause again
    (``confirmed`` false: never). ``reproduction`` (the script) is filled by :func:`to_json`, which knows the run."""
    d = f.to_dict() if isinstance(f, Finding) else dict(f)
    evidence = d.get("evidence") or {}
    message = messages.clean(str(d.get("message", "")))
    out: dict[str, Any] = {
        "clause": d.get("clause", ""),
        "message": message,
        "group": messages.shape(message),
        "test_id": d.get("test_id") or "",
        "request": _cap_body(evidence.get("request")),
        "response": _cap_body(evidence.get("response")),
        "curl": evidence.get("curl") or None,
        "reproduction": None,
    }
    if d.get("extra"):
        out["extra"] = d["extra"]
    if confirmation and confirmation.get("attempts"):
        out["reproduced"] = {**confirmation, "confirmed": confirmation["reproduced"] > 0}
    return out


def replay_command(run: dict[str, Any], test_id: str) -> str | None:
    """``conformance run`` of the finding's test alone, with the run's seed and profile: the seed makes every
    property test and fuzzer draw the same examples again (hypothesis' own replay advice is for a test's
    author, not for someone running the installed suite). Keys stay in the environment."""
    if not test_id or test_id.startswith(("run::", "description::")):
        return None
    name = test_id.split("::")[-1].split("[")[0]
    parts = ["conformance", "run"]
    if not run.get("reference_server") and run.get("target"):
        parts += ["--base-url", shlex.quote(str(run["target"]))]
    source = (run.get("openapi") or {}).get("source")
    settings = run.get("settings") or {}
    if settings.get("openapi") and source:
        parts += ["--openapi", shlex.quote(str(source))]
    for flag in ("org_timezone", "second_org_timezone"):
        if run.get(flag):
            parts += [f"--{flag.replace('_', '-')}", shlex.quote(str(run[flag]))]
    parts += ["--profile", str(run.get("profile") or "standard"), "--seed", str(run.get("seed")), "--", "-k", name]
    return " ".join(parts)


def _cap_body(part: dict[str, Any] | None) -> dict[str, Any] | None:
    if not part:
        return None
    part = dict(part)
    body = part.get("body")
    if isinstance(body, str) and len(body) > _BODY_CAP:
        part["body"] = body[:_BODY_CAP] + f" …[{len(body) - _BODY_CAP} more chars]"
    if isinstance(part.get("headers"), dict):
        part["headers"] = {str(k): str(v) for k, v in part["headers"].items()}
    return part


def to_json(record: RunRecord, redactor: Redactor) -> dict[str, Any]:
    """The redacted certification record (see ``schemas/certification.schema.json``)."""
    base = record.to_dict()
    clauses = []
    for cv, cd in zip(record.clauses, base["clauses"], strict=True):
        cd["reason"] = messages.plain(messages.drop_hypothesis(str(cd.get("reason") or "")))
        cd["findings"] = [finding(f, cv.confirmations.get(f.test_id)) for f in cv.findings]
        for n, (f, source) in enumerate(zip(cd["findings"], cv.findings, strict=True), 1):
            f["replay"] = replay_command(record.identity or {}, f["test_id"])
            evidence = redactor.obj(source.evidence or {})
            f["reproduction"] = repro.build(f, evidence, record.identity or {}, cv.clause.id, n)
        clauses.append(cd)
    data = {
        "schema_version": SCHEMA_VERSION,
        "certifiable": bool(record.certifiable),
        "not_certifiable_reasons": list(record.reasons),
        "summary": base["summary"],
        "run": identity(record.identity or {}),
        "clauses": clauses,
        "tests": base["tests"],
        "cleanup": base.get("cleanup") or {},
        "waivers": base.get("waivers") or [],
    }
    # Round-trip first so that values like paths become strings before they are scrubbed.
    return scrub(json.loads(json.dumps(data, default=str)), redactor)


def dumps(data: dict[str, Any], redactor: Redactor) -> bytes:
    """Serialise with raw (not ``\\u``-escaped) text so the byte-level redaction pass sees every form."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    return redactor.bytes(text.encode("utf-8"))


def write(record: RunRecord, path: Path, redactor: Redactor) -> Path:
    """``certification.json`` at ``path`` and each finding's reproduction script beside it (``repro/``)."""
    data = to_json(record, redactor)
    repro.write_scripts(data, path.parent, redactor)
    write_bytes(path, dumps(data, redactor))
    return path


def write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

"""A finding's reproduction: a bash script that replays, against the target and after the run, the requests that
showed the violation (its ``steps``: :mod:`conformance.verdicts.steps`), with fresh ids, and deletes what it
created.

The run's objects are gone by the time anyone reads the report (its cleanup deleted them), so a curl line of the
violating request alone answers ``not_found``. The script makes every id the run made anew at run time, in the same
shape (length, case, digits and hex letters where the run's id had them, a UUID's version), sends the set-up
writes, then the violating request, printing each status and body, and deletes its objects on exit, children
first. Keys are read from the environment (``CONFORMANCE_API_KEY``, ``CONFORMANCE_SECOND_API_KEY``), the target
from ``CONFORMANCE_BASE_URL`` (default: the run's), its CA from ``CONFORMANCE_CA_BUNDLE`` when set.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance.http.redact import MASK, MASK_ALTERED, Redactor

KEY_VARS = ("CONFORMANCE_API_KEY", "CONFORMANCE_SECOND_API_KEY")
ALTERED = "ALTERED_KEY"  # a near copy of the key (AUTH-2's), made by the script: the run's is masked in every report
DIR = "repro"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SKIP_HEADERS = {"content-length", "host", "user-agent", "accept-encoding", "connection"}

PRELUDE = r"""set -u
BASE="${CONFORMANCE_BASE_URL:-%(base)s}"
BASE="${BASE%%/}"
%(keys)s
TLS=(%(tls)s)
CA="${CONFORMANCE_CA_BUNDLE:-%(ca)s}"
if [[ -n "$CA" ]]; then TLS=(--cacert "$CA"); fi
PROXY="${CONFORMANCE_PROXY:-%(proxy)s}"
if [[ -n "$PROXY" ]]; then TLS+=(--proxy "$PROXY"); fi
RANDOM=$(( $(date +%%s) ^ $$ ))

fresh() {  # fresh ID [uuid|int]: a new id shaped like ID (digits and hex letters drawn anew, the rest kept)
  local src=$1 kind=${2:-} out="" c i lower=abcdef upper=ABCDEF
  for ((i = 0; i < ${#src}; i++)); do
    c=${src:i:1}
    if [[ $kind == uuid && ( $i -eq 14 || $i -eq 19 ) ]]; then out+=$c; continue; fi
    case $c in
      [0-9]) if [[ $kind == int && $i -eq 0 ]]; then c=$((RANDOM %% 9 + 1)); else c=$((RANDOM %% 10)); fi ;;
      [a-f]) c=${lower:RANDOM %% 6:1} ;;
      [A-F]) c=${upper:RANDOM %% 6:1} ;;
    esac
    out+=$c
  done
  printf '%%s' "$out"
}

req() {  # req WHAT METHOD URL [curl options]: send one request, print its status and body
  local what=$1 method=$2 url=$3
  shift 3
  printf '\n### %%s\n> %%s %%s\n' "$what" "$method" "$url"
  curl -sS ${TLS[@]+"${TLS[@]}"} -X "$method" "$url" -w '\n< HTTP %%{http_code}\n' "$@"
}
"""


def script_name(clause: str, n: int) -> str:
    return f"{DIR}/{clause}-{n}.sh"


def _steps(finding: dict[str, Any], evidence: dict[str, Any]) -> list[dict[str, Any]]:
    steps = evidence.get("steps")
    if steps:
        return [s for s in steps if isinstance(s, dict) and s.get("method") and s.get("url")]
    req = evidence.get("request") or finding.get("request")
    if req and req.get("method") and req.get("url"):
        return [{**req, "status": (evidence.get("response") or finding.get("response") or {}).get("status")}]
    return []


def run_ids(steps: list[dict[str, Any]], prefix: str | None) -> list[str]:
    """Every id the run made that the steps use: the path parameters read from the model, and any token carrying
    the run's id prefix (a parent's id inside a body)."""
    found: list[str] = []
    for step in steps:
        for value in step.get("ids") or []:
            if value and value not in found:
                found.append(str(value))
    if prefix:
        mark = re.compile(re.escape(prefix) + r"[0-9A-Za-z]*", re.I)
        for step in steps:
            for text in (step.get("url") or "", step.get("body") or ""):
                for m in mark.finditer(text):
                    if m.group() not in found:
                        found.append(m.group())
    return found


def _dq(text: str) -> str:
    """``text`` safe inside a double-quoted shell word (a URL or path: these characters are not in one)."""
    return re.sub(r'["$`\\\n]', "", text)


def _kind(value: str) -> str:
    if _UUID.match(value):
        return " uuid"
    return " int" if value.isdigit() else ""


class _Words:
    """Shell words for text holding the run's ids, each id replaced by its variable."""

    def __init__(self, ids: list[str]) -> None:
        self.names = {v: f"ID{i}" for i, v in enumerate(ids, 1)}
        ordered = sorted(ids, key=len, reverse=True)
        self.pattern = (
            re.compile("(?<![0-9A-Za-z])(" + "|".join(re.escape(v) for v in ordered) + ")(?![0-9A-Za-z])")
            if ordered
            else None
        )

    def word(self, text: str, base: str | None = None) -> str:
        head = ""
        if base and text.startswith(base):
            head, text = "${BASE}", text[len(base) :]
        parts = self.pattern.split(text) if self.pattern else [text]
        out = []
        for i, part in enumerate(parts):
            if i % 2:
                out.append(f"${{{self.names[part]}}}")
            elif part:
                out.append(part)
        # Literal text single-quoted, variables in double quotes: "${BASE}"'/v2/lists/'"${ID1}"
        quoted = "".join(f'"{p}"' if p.startswith("${") else shlex.quote(p) for p in ([head] if head else []) + out)
        return quoted or "''"


def _auth(value: str) -> tuple[str, str | None]:
    """The Authorization header as a shell word, and the key variable it reads."""
    for var in KEY_VARS:
        if value.endswith("$" + var):
            return f'"Authorization: {value[: -len(var) - 1]}${{{var}}}"', var
    if MASK in value:  # the configured key itself, sent as a plain header value (as the client's curl line reads it)
        return f'"Authorization: {value.replace(MASK, "${CONFORMANCE_API_KEY}")}"', KEY_VARS[0]
    if "REDACTED" in value:
        # The run's near copy of the key is masked in every report: a copy with its last character changed.
        head = value.split(MASK_ALTERED)[0] if MASK_ALTERED in value else "Basic "
        return f'"Authorization: {head}${{{ALTERED}}}"', KEY_VARS[0]
    return shlex.quote(f"Authorization: {value}"), None


def _what(i: int, n: int, step: dict[str, Any], last: bool) -> str:
    role = "the violation" if last else "set-up"
    seen = f" (the run saw HTTP {step['status']})" if step.get("status") is not None else ""
    return shlex.quote(f"{i}/{n} {role}{seen}")


def build(
    finding: dict[str, Any], evidence: dict[str, Any], run: dict[str, Any], clause: str, n: int
) -> dict[str, Any] | None:
    """The reproduction of one finding: ``{"file", "script", "requests", "ids"}``; None without a request."""
    steps = _steps(finding, evidence)
    if not steps:
        return None
    base = str(run.get("target") or "").rstrip("/")
    if not base:
        parts = urlsplit(steps[-1]["url"])
        base = f"{parts.scheme}://{parts.netloc}"
    ids = run_ids(steps, run.get("id_prefix"))
    words = _Words(ids)
    used = {
        _auth(str(value))[1]
        for s in steps
        for name, value in (s.get("headers") or {}).items()
        if name.lower() == "authorization"
    }
    settings = run.get("settings") or {}
    message = " ".join(str(finding.get("message", "")).split())
    lines = [
        "#!/usr/bin/env bash",
        f"# Reproduces {clause} finding {n} of the conformance run against {base}:",
        f"#   {message[:400]}",
    ]
    if finding.get("test_id"):
        lines.append(f"# Test: {finding['test_id']}")
    lines += [
        "# Each request prints what it sends and the target's answer. The run's objects are deleted; this script",
        "# makes its own with fresh ids and deletes them when it ends. Keys are read from the environment only.",
        "# Environment: CONFORMANCE_API_KEY"
        + (", CONFORMANCE_SECOND_API_KEY" if "CONFORMANCE_SECOND_API_KEY" in used else "")
        + ", CONFORMANCE_BASE_URL (default: the run's target), CONFORMANCE_CA_BUNDLE (default: the run's --ca-bundle)"
        + ", CONFORMANCE_PROXY (default: the run's --proxy, unless it has a password)",
    ]
    keys = "\n".join(f': "${{{v}:?set {v} to an API key of the target}}"' for v in KEY_VARS if v in used)
    if any(MASK_ALTERED in str(v) or "REDACTED(" in str(v) for st in steps for v in (st.get("headers") or {}).values()):
        keys += (
            f'\n{ALTERED}="${{CONFORMANCE_API_KEY%?}}"; '
            f"[[ ${{CONFORMANCE_API_KEY: -1}} == A ]] && {ALTERED}+=B || {ALTERED}+=A  # the key, one character changed"
        )
    tls = "-k" if settings.get("insecure") else ""
    ca = _dq(str(settings.get("ca_bundle") or ""))
    proxy = str(settings.get("proxy") or "")
    proxy = "" if "***" in proxy else _dq(proxy)  # one with a password: only from the environment
    lines.append(PRELUDE % {"base": _dq(base), "keys": keys or ":", "tls": tls, "ca": ca, "proxy": proxy})
    for value in ids:
        lines.append(f"{words.names[value]}=$(fresh {shlex.quote(value)}{_kind(value)})  # the run's id: {value}")
    created: list[dict[str, Any]] = []
    body_lines = []
    for i, step in enumerate(steps, 1):
        last = i == len(steps)
        args = [f"{_what(i, len(steps), step, last)} {shlex.quote(step['method'])} {words.word(step['url'], base)}"]
        for name, value in (step.get("headers") or {}).items():
            if name.lower() in _SKIP_HEADERS:
                continue
            if name.lower() == "authorization":
                args.append("-H " + _auth(str(value))[0])
            else:
                args.append("-H " + shlex.quote(f"{name}: {value}"))
        if step.get("body") is not None:
            args.append("--data-raw " + words.word(str(step["body"])))
        if step.get("body_cut"):
            body_lines.append("# (the run's body was longer than the report keeps: this one is cut)")
        body_lines.append("req " + " \\\n  ".join(args))
        if step["method"] in ("POST", "PUT") and step.get("item") and not any(c["url"] == step["url"] for c in created):
            created.append(step)
    lines += ["", _cleanup(created, words, base), "trap cleanup EXIT", "", *body_lines, ""]
    return {"file": script_name(clause, n), "script": "\n".join(lines), "requests": len(steps), "ids": len(ids)}


def _cleanup(created: list[dict[str, Any]], words: _Words, base: str) -> str:
    """A ``cleanup`` function deleting each object the script wrote, children (more ids in the path) first."""
    order = sorted(enumerate(created), key=lambda p: (-len(p[1].get("ids") or []), -p[0]))
    out = ["cleanup() {  # delete what this script created, children first", "  printf '\\n### cleanup\\n'"]
    for _, step in order:
        url = step["url"].split("?", 1)[0]
        args = ["curl", "-sS", '${TLS[@]+"${TLS[@]}"}', "-o", "/dev/null", "-X", "DELETE", words.word(url, base)]
        for name, value in (step.get("headers") or {}).items():
            if name.lower() == "authorization":
                args += ["-H", _auth(str(value))[0]]
            elif name.lower() == "x-version":
                args += ["-H", shlex.quote(f"{name}: {value}")]
        args += ["-w", shlex.quote("DELETE %{url_effective} -> HTTP %{http_code}\\n")]
        out.append("  " + " ".join(args))
    if not order:
        out.append("  :")
    out.append("}")
    return "\n".join(out)


def write_scripts(data: dict[str, Any], report_dir: Path, redactor: Redactor) -> list[Path]:
    """Every finding's script as ``repro/<clause>-<n>.sh`` (executable) beside ``certification.json``; scripts of
    an earlier run in that directory are removed first."""
    from conformance.report.certification import write_bytes

    folder = Path(report_dir) / DIR
    if folder.is_dir():
        for old in folder.glob("*.sh"):
            old.unlink(missing_ok=True)
    written = []
    for clause in data.get("clauses", []):
        for f in clause.get("findings", []):
            repro = f.get("reproduction")
            if not isinstance(repro, dict) or not repro.get("script"):
                continue
            path = Path(report_dir) / repro["file"]
            write_bytes(path, redactor.bytes(repro["script"].encode("utf-8")))
            path.chmod(0o755)
            written.append(path)
    return written

"""Facts of SPEC.md as data, loaded from the language-neutral files in ``schemas/``.

The JSON files are the single source; this module only locates and reads them, so
the checks, the reference server and vendors in other languages agree.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent.parent  # conformance/


@cache
def schemas_dir() -> Path:
    """``schemas/`` inside the installed wheel, else the checkout's top-level one."""
    for candidate in (_PACKAGE / "schemas", _PACKAGE.parent / "schemas"):
        if (candidate / "envelope.schema.json").is_file():
            return candidate
    raise FileNotFoundError("the suite's schemas/ directory is missing from this install")


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((schemas_dir() / name).read_text("utf-8"))


def reference_openapi_path() -> Path:
    return schemas_dir() / "reference-openapi.yaml"


@cache
def error_codes() -> frozenset[str]:
    return frozenset(load_schema("error-codes.schema.json")["enum"])


@cache
def status_table() -> dict[int, frozenset[str]]:
    """Allowed status -> error codes it may carry (empty for success statuses)."""
    raw = load_schema("status-table.json")["statuses"]
    return {int(status): frozenset(codes) for status, codes in raw.items()}


@cache
def enum_sets() -> dict[str, tuple[frozenset[str], str]]:
    """``x-spec-enum`` name -> (value set, clause ID)."""
    defs = load_schema("enums.schema.json")["$defs"]
    return {name: (frozenset(d["enum"]), d["x-spec-clause"]) for name, d in defs.items()}


TIME_PATTERN: str = load_schema("time.schema.json")["pattern"]
DATE_PATTERN: str = load_schema("date.schema.json")["pattern"]
ENVELOPE_KEYS = frozenset({"success", "data", "error_code", "error_message"})

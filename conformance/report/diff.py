"""``conformance report diff OLD.json NEW.json``: what changed between two certification runs.

A vendor re-running the suite after a release wants one answer first: did any
clause that held before stop holding? That is a *regression* and the exit code
says so (1), so the command can gate a pipeline.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

CATEGORIES = ("regressed", "fixed", "new", "removed", "changed")
_GOOD = {"pass", "skip"}
_BAD = {"fail", "error"}


class InvalidRecord(ValueError):
    """The file is not a certification record this command can compare."""


def _clauses(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if not isinstance(record, dict) or not isinstance(record.get("clauses"), list):
        raise InvalidRecord("not a certification record (no 'clauses' list)")
    out = {}
    for c in record["clauses"]:
        if not isinstance(c, dict) or not isinstance(c.get("id"), str) or not isinstance(c.get("verdict"), str):
            raise InvalidRecord("a clause entry lacks a string 'id' or 'verdict'")
        out[c["id"]] = c
    return out


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Clause verdict changes by category; each entry is ``{id, old, new, level}``.

    ``regressed``: pass/skip -> fail/error; ``fixed``: fail/error -> pass; ``new`` and
    ``removed``: a clause present on one side only; ``changed``: any other verdict change.
    """
    before, after = _clauses(old), _clauses(new)
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in CATEGORIES}
    for cid, c in after.items():
        level = c.get("level")
        if cid not in before:
            out["new"].append({"id": cid, "old": None, "new": c["verdict"], "level": level})
            continue
        was, now = before[cid]["verdict"], c["verdict"]
        if was == now:
            continue
        entry = {"id": cid, "old": was, "new": now, "level": level}
        if was in _GOOD and now in _BAD:
            out["regressed"].append(entry)
        elif was in _BAD and now == "pass":
            out["fixed"].append(entry)
        else:
            out["changed"].append(entry)
    for cid, c in before.items():
        if cid not in after:
            out["removed"].append({"id": cid, "old": c["verdict"], "new": None, "level": c.get("level")})
    return out


def _load(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidRecord(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRecord(f"{path} is not JSON: {exc}") from None
    try:
        _clauses(data)
    except InvalidRecord as exc:
        raise InvalidRecord(f"{path}: {exc}") from None
    return data


def _describe(record: dict[str, Any]) -> str:
    run = record.get("run") or {}
    cert = "certifiable" if record.get("certifiable") else "not certifiable"
    return f"{run.get('target') or '?'} at {run.get('started_at') or '?'} ({cert})"


def render(old: dict[str, Any], new: dict[str, Any], changes: dict[str, list[dict[str, Any]]]) -> Table:
    table = Table(title="Clause verdict changes", box=None, header_style="bold", pad_edge=False)
    for col in ("Change", "Clause", "Level", "Old", "New"):
        table.add_column(col, no_wrap=True)
    for category in CATEGORIES:
        for e in changes[category]:
            table.add_row(category, e["id"], e.get("level") or "", e["old"] or "-", e["new"] or "-")
    return table


def main_diff(argv: list[str]) -> int:
    """Exit 1 when any clause regressed, 2 when a file cannot be compared, else 0."""
    parser = argparse.ArgumentParser(prog="conformance report diff", description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the earlier certification.json")
    parser.add_argument("new", help="the later certification.json")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        old, new = _load(args.old), _load(args.new)
    except InvalidRecord as exc:
        print(f"conformance report diff: {exc}", file=sys.stderr)
        return 2
    changes = diff(old, new)
    console = Console(file=sys.stdout, width=100, highlight=False, markup=False, soft_wrap=True)
    console.print(f"old: {_describe(old)}")
    console.print(f"new: {_describe(new)}")
    if any(changes.values()):
        console.print(render(old, new, changes))
    else:
        console.print("No clause verdict changed.")
    counts = ", ".join(f"{len(changes[k])} {k}" for k in CATEGORIES)
    console.print(counts)
    if changes["regressed"]:
        ids = ", ".join(e["id"] for e in changes["regressed"])
        console.print(f"REGRESSION: {ids}")
        return 1
    return 0

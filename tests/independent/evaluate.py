"""Measure the suite against the independent server: a clean run, then each planted fault alone.

    python tests/independent/evaluate.py                 # clean + every fault
    python tests/independent/evaluate.py --only clean    # the clean run only
    python tests/independent/evaluate.py --faults 'TIME-1:microseconds,IDEM-3:put-merges'
    python tests/independent/evaluate.py --impl second   # the second implementation (Dispatch, Werkzeug)

Each run: start the server (in this process), `conformance run --profile smoke --openapi
tests/independent/openapi.yaml` against it, read certification.json. Results are also written
to tests/independent/results/summary.json, reports to tests/independent/results/<run>/.
With `--impl second`: tests/independent/second/ (server.py, openapi.json), results under
tests/independent/results/second/, and the server's non-client-chosen path parameters passed as
`--path-param NAME=VALUE`. `--jobs N` runs N fault runs at a time.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import server  # noqa: E402

RESULTS = HERE / "results"
SECOND = HERE / "second"


@functools.cache
def load_second():
    spec = importlib.util.spec_from_file_location("dispatch_server", SECOND / "server.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["dispatch_server"] = module
    spec.loader.exec_module(module)
    return module


IMPLS = {
    # name: (server module loader, description, results dir)
    "postbox": (lambda: server, lambda variant: description(variant), RESULTS),
    "second": (load_second, lambda variant: second_description(variant), RESULTS / "second"),
}


def second_description(variant: str | None) -> Path:
    """The second implementation's description, or a variant of it (written under results/second/)."""
    path = SECOND / "openapi.json"
    if not variant:
        return path
    doc = json.loads(path.read_text())
    if variant == "min-version":  # the README's optional convention, x-spec-min-version, on the later fields
        for schema in doc["components"]["schemas"].values():
            for prop in schema.get("properties", {}).values():
                m = re.match(r"Version (\d+) and later only", prop.get("description", ""))
                if m:
                    prop["x-spec-min-version"] = int(m.group(1))
    else:
        raise SystemExit(f"unknown variant {variant}")
    out = RESULTS / "second" / f"openapi-{variant}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1))
    return out


def description(variant: str | None) -> Path:
    """The description as shipped, or a variant of it (written under results/)."""
    path = HERE / "openapi.yaml"
    if not variant:
        return path
    text = path.read_text()
    if variant == "bare-email":  # the email field declared by `format: email` alone, as most vendors write it
        text = text.replace(', pattern: "^[^@\\\\s]+@[^@\\\\s]+$"', "")
        text = re.sub(r"\n      examples:\n        - \{email_address:[^\n]*", "", text)
    else:
        raise SystemExit(f"unknown variant {variant}")
    out = RESULTS / f"openapi-{variant}.yaml"
    out.write_text(text)
    return out


def run_suite(
    faults: tuple[str, ...],
    name: str,
    profile: str,
    extra: list[str],
    variant: str | None = None,
    impl: str = "postbox",
) -> dict:
    load, describe, results = IMPLS[impl]
    openapi = describe(variant)
    handle = load().start(faults)
    report = results / name
    report.mkdir(parents=True, exist_ok=True)
    for old in report.glob("*"):
        if old.is_file():
            old.unlink()
    env = dict(os.environ)
    env["CONFORMANCE_API_KEY"], env["CONFORMANCE_SECOND_API_KEY"] = handle.keys
    cmd = [
        sys.executable,
        "-m",
        "conformance",
        "run",
        "--base-url",
        handle.base_url,
        "--ca-bundle",
        handle.ca_bundle,
        "--openapi",
        str(openapi),
        "--org-timezone",
        handle.zones[0],
        "--second-org-timezone",
        handle.zones[1],
        "--profile",
        profile,
        "--report-dir",
        str(report),
    ]
    for pname, pvalue in getattr(handle, "path_params", {}).items():
        cmd += ["--path-param", f"{pname}={pvalue}"]
    cmd += extra
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    finally:
        handle.stop()
    took = time.monotonic() - t0
    (report / "stdout.txt").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    out = {"faults": list(faults), "exit": proc.returncode, "seconds": round(took, 1), "clauses": {}, "gaps": []}
    cert = report / "certification.json"
    if cert.exists():
        data = json.loads(cert.read_text())
        for c in data.get("clauses", []):
            out["clauses"][c["id"]] = {
                "level": c.get("level"),
                "verdict": c.get("verdict"),
                "findings": [f.get("message", "") for f in c.get("findings", [])],
            }
        out["gaps"] = data.get("run", {}).get("description_gaps", [])
    else:
        out["stderr"] = proc.stderr[-2000:]
    return out


def failing(result: dict, must_only: bool = True) -> list[str]:
    return sorted(
        cid
        for cid, c in result["clauses"].items()
        if c["verdict"] in ("fail", "error") and (c["level"] == "MUST" or not must_only)
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--impl", choices=sorted(IMPLS), default="postbox", help="implementation under test")
    ap.add_argument("--jobs", type=int, default=1, help="fault runs at a time")
    ap.add_argument("--only", choices=["clean", "faults"], default=None)
    ap.add_argument("--faults", default="", help="comma-separated fault names (default: all)")
    ap.add_argument("--profile", default="smoke")
    ap.add_argument(
        "--variant",
        default=None,
        help="description variant: bare-email (postbox, clean run only); min-version (second, every run)",
    )
    ap.add_argument("extra", nargs="*", help="extra arguments for conformance run (after --)")
    args = ap.parse_args()
    load, _, results = IMPLS[args.impl]
    results.mkdir(parents=True, exist_ok=True)
    summary_path = results / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}

    if args.only in (None, "clean"):
        label = "clean" + (f"-{args.variant}" if args.variant else "")
        clean = run_suite((), label, args.profile, args.extra, args.variant, impl=args.impl)
        summary[label] = clean
        summary_path.write_text(json.dumps(summary, indent=1))
        print(f"\n== {label} run: exit {clean['exit']} ({clean['seconds']} s)")
        for cid, c in sorted(clean["clauses"].items()):
            print(f"  {cid:10} {c['level']:6} {c['verdict']}")
            for msg in c["findings"][:5]:
                print(f"      - {msg[:600]}")
        for g in clean["gaps"]:
            print(f"  description gap: {json.dumps(g)[:400]}")
        if "stderr" in clean:
            print(clean["stderr"])

    if args.only in (None, "faults"):
        names = [n for n in args.faults.split(",") if n] or list(load().FAULTS)
        fault_variant = args.variant if args.impl == "second" else None
        suffix = f"-{fault_variant}" if fault_variant else ""
        rows = summary.setdefault("faults" + suffix, {})

        def one(name: str) -> dict:
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
            return run_suite((name,), "fault_" + safe + suffix, args.profile, args.extra, fault_variant, impl=args.impl)

        pool = concurrent.futures.ThreadPoolExecutor(max(1, args.jobs))
        futures = {name: pool.submit(one, name) for name in names}
        for name in names:
            res = futures[name].result()
            rows[name] = res
            summary_path.write_text(json.dumps(summary, indent=1))
            exp = name.split(":")[0]
            fails = failing(res, must_only=False)
            caught = exp in fails
            print(
                f"{name:45} {exp:9} {'CAUGHT' if caught else 'MISSED':7} exit={res['exit']} "
                f"other={','.join(c for c in fails if c != exp) or '-'} ({res['seconds']} s)",
                flush=True,
            )

    table = "faults" + (f"-{args.variant}" if args.impl == "second" and args.variant else "")
    if summary.get(table):
        print("\n| fault | expected clause | caught? | other failing clauses |")
        print("| --- | --- | --- | --- |")
        for name, res in summary[table].items():
            exp = name.split(":")[0]
            fails = failing(res, must_only=False)
            print(
                f"| `{name}` | {exp} | {'yes' if exp in fails else 'NO'} | "
                f"{', '.join(c for c in fails if c != exp) or '-'} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The submission bundle of a certification run, and ``conformance rerun``.

The end-to-end tests certify a real reference server with the real ``conformance run``
command, narrowed to one clause and one test (``--clause VER-1 -- -k ...``) so that each
run takes seconds; the fault ``ver-header-ignored`` breaks exactly that clause. The
bundle's reading and writing is also tested on a synthetic report directory, without a
server: tampering, bad input, stale descriptions and keys in the files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conformance.http.redact import Redactor
from conformance.report import bundle
from conformance.spec import facts

CLAUSE = "VER-1"
FAULT = "ver-header-ignored"  # serves version 1 whatever X-Version says: VER-1 fails
NARROW = ("--profile", "certification", "--clause", CLAUSE, "--", "-k", "test_header_selects_later_fields")


def key_forms(key: str) -> list[str]:
    """A Basic key as sent, decoded (``org:secret``) and its secret part."""
    decoded = base64.b64decode(key).decode()
    return [key, decoded, decoded.split(":", 1)[1]]


def read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def manifest_problems(files: dict[str, bytes]) -> list[str]:
    """Check MANIFEST.sha256 as ``sha256sum -c`` would, independently of the suite's reader."""
    listed = {}
    for line in files["MANIFEST.sha256"].decode().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    problems = [n for n, d in listed.items() if n not in files or hashlib.sha256(files[n]).hexdigest() != d]
    return problems + sorted(set(files) - set(listed) - {"MANIFEST.sha256"})


def rerun_conformance(args: list[str], *, env: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess:
    """``conformance rerun ARGS`` in a subprocess with a clean key environment."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "conformance", "rerun", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=300, cwd=cwd)


def assert_one_line_exit_2(proc: subprocess.CompletedProcess, needle: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr


# ---- end to end: a certification run and its reruns ---------------------------------------------------
# (The slow end-to-end tests sit at the start and the end of the file, so xdist gives them different workers.)


def test_certification_bundle_verifies_holds_no_key_and_reruns(certify, reference_server, tmp_path):
    """One certification run of a faulty server (runs are the slow part), then: the bundle's content; a rerun
    against the same faulty server changes nothing; a rerun against a clean server fixes the clause."""
    faulty = reference_server(faults=(FAULT,))
    run = certify(args=NARROW, server=faulty)
    assert run.code == 1, run.stdout[-3000:] + run.stderr
    assert run.verdicts()[CLAUSE] == "fail"
    path = run.report_dir / "bundle.zip"
    assert path.is_file(), run.stdout[-2000:] + run.stderr
    assert f"submission bundle {path}" in run.stdout

    files = read_zip(path)
    assert manifest_problems(files) == []
    assert set(bundle.verify(path)) == set(files) - {"MANIFEST.sha256"}
    for name in ("certification.json", "junit.xml", "report.html"):
        assert files[name] == (run.report_dir / name).read_bytes(), name  # the reports as written

    info = json.loads(files["run.json"])
    record = run.record["run"]
    root = files[info["description"]["file"]]
    assert hashlib.sha256(root).hexdigest() == record["openapi"]["sha256"] == info["description"]["sha256"]
    assert root == facts.reference_openapi_path().read_bytes()
    assert "description/envelope.schema.json" in files  # referenced by a relative $ref: bundled next to it
    assert info["profile"] == "certification" and info["seed"] == record["seed"]
    assert info["target"] == faulty.base_url and info["reference_server"] is False
    assert info["spec_revision"] == record["spec_revision"] and info["suite_version"] == record["suite_version"]
    assert info["settings"]["clause"] == [CLAUSE] and info["pytest_args"] == list(NARROW[-2:])
    assert info["settings"]["api_key"] == "***" and info["settings"]["second_api_key"] == "***"
    forms = [f for key in faulty.keys for f in key_forms(key)]
    leaks = {name: f for name, data in files.items() for f in forms if f.encode() in data}
    assert leaks == {}

    env = {"CONFORMANCE_API_KEY": faulty.keys[0], "CONFORMANCE_SECOND_API_KEY": faulty.keys[1]}
    same = rerun_conformance([str(path), "--ca-bundle", faulty.ca_bundle], env=env, cwd=tmp_path)
    assert same.returncode == 0, same.stdout[-3000:] + same.stderr
    assert "No clause verdict changed." in same.stdout
    again = json.loads((tmp_path / "reports" / "rerun" / "certification.json").read_text())
    assert again["run"]["seed"] == record["seed"] and again["run"]["profile"] == "certification"
    assert again["run"]["openapi"]["sha256"] == record["openapi"]["sha256"]
    assert again["run"]["settings"]["clause"] == [CLAUSE] and again["run"]["pytest_args"] == list(NARROW[-2:])
    assert {c["id"]: c["verdict"] for c in again["clauses"]} == run.verdicts()

    clean = reference_server()
    env = {"CONFORMANCE_API_KEY": clean.keys[0], "CONFORMANCE_SECOND_API_KEY": clean.keys[1]}
    args = [str(path), "--base-url", clean.base_url, "--ca-bundle", clean.ca_bundle, "--report-dir", "fixed"]
    fixed = rerun_conformance(args, env=env, cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout[-3000:] + fixed.stderr
    row = next(line for line in fixed.stdout.splitlines() if line.startswith("fixed"))
    assert row.split()[:3] == ["fixed", CLAUSE, "MUST"]
    assert "1 fixed" in fixed.stdout and "REGRESSION" not in fixed.stdout
    assert json.loads((tmp_path / "fixed" / "certification.json").read_text())["run"]["target"] == clean.base_url


# ---- the bundle on a synthetic report directory -----------------------------------------------

KEY = base64.b64encode(b"o1:Sup3rSecretValue0001").decode()


def synthetic(report_dir: Path, *, source: Path | None = None, leak: str = "") -> dict:
    """A report directory as a certification run leaves it, and its redacted record."""
    source = source or facts.reference_openapi_path()
    record = {
        "run": {
            "target": "https://api.example.test/ga/api",
            "reference_server": False,
            "suite_version": "0.1.0",
            "spec_revision": "r1",
            "profile": "certification",
            "seed": 42,
            "started_at": "2026-11-02T10:00:00+00:00",
            "id_prefix": "cft0a1b2c",
            "openapi": {"source": str(source), "sha256": hashlib.sha256(source.read_bytes()).hexdigest()},
            "settings": {"clause": [CLAUSE], "profile": "certification", "timeout": 10.0, "api_key": "***"},
            "pytest_args": ["-k", "test_header_selects_later_fields"],
        },
        "clauses": [{"id": CLAUSE, "level": "MUST", "verdict": "fail"}],
    }
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "certification.json").write_text(json.dumps(record))
    (report_dir / "junit.xml").write_text(f"<testsuites><testsuite name='x'>{leak}</testsuite></testsuites>")
    (report_dir / "report.html").write_text(f"<html><body><p>{leak}</p></body></html>")
    return record


@pytest.fixture
def made(tmp_path: Path) -> Path:
    report_dir = tmp_path / "reports"
    return bundle.write_bundle(report_dir, synthetic(report_dir), Redactor([KEY]))


def test_written_atomically_with_a_complete_manifest(made: Path) -> None:
    files = read_zip(made)
    assert manifest_problems(files) == []
    assert set(files) >= {"certification.json", "junit.xml", "report.html", "run.json", "MANIFEST.sha256"}
    assert not [p.name for p in made.parent.iterdir() if p.name.startswith(".")]  # no temp file left


def test_every_text_file_is_redacted_once_more(tmp_path: Path) -> None:
    report_dir = tmp_path / "reports"
    decoded = base64.b64decode(KEY).decode()
    record = synthetic(report_dir, leak=f"echo {KEY} and {decoded}")
    files = read_zip(bundle.write_bundle(report_dir, record, Redactor([KEY])))
    assert all(f.encode() not in data for data in files.values() for f in key_forms(KEY))
    assert b"REDACTED" in files["junit.xml"] and b"REDACTED" in files["report.html"]
    assert manifest_problems(files) == []  # the manifest is of what the bundle holds


def _copied_description(into: Path) -> Path:
    """The reference description and the schemas it references, copied into ``into``: files a test may edit."""
    described = into / "openapi.yaml"
    described.write_bytes(facts.reference_openapi_path().read_bytes())
    for name in ("envelope", "enums", "time", "date", "error-codes"):
        (into / f"{name}.schema.json").write_bytes((facts.schemas_dir() / f"{name}.schema.json").read_bytes())
    return described


def test_a_description_that_changed_since_the_run_is_refused_and_no_stale_bundle_stays(tmp_path: Path) -> None:
    described = _copied_description(tmp_path)
    report_dir = tmp_path / "reports"
    record = synthetic(report_dir, source=described)
    first = bundle.write_bundle(report_dir, record, Redactor([KEY]))
    assert json.loads(read_zip(first)["run.json"])["description"]["file"] == "description/openapi.yaml"

    described.write_bytes(described.read_bytes() + b"\n# edited after the run\n")
    with pytest.raises(bundle.BundleError, match="changed since the run"):
        bundle.write_bundle(report_dir, record, Redactor([KEY]))
    assert not first.exists()


def test_a_referenced_schema_that_changed_since_the_run_is_refused(tmp_path: Path) -> None:
    """The run records every document's sha256 when it starts (run.openapi.documents), not only the root's."""
    described = _copied_description(tmp_path)
    report_dir = tmp_path / "reports"
    record = synthetic(report_dir, source=described)
    record["run"]["openapi"]["documents"] = bundle.description_documents(str(described))
    assert "description/time.schema.json" in record["run"]["openapi"]["documents"]
    (report_dir / "certification.json").write_text(json.dumps(record))
    made = bundle.write_bundle(report_dir, record, Redactor([KEY]))
    bundle.extract(made, tmp_path / "ok")
    files = read_zip(made)

    time_schema = tmp_path / "time.schema.json"
    original = time_schema.read_bytes()
    time_schema.write_bytes(original + b"\n")
    with pytest.raises(bundle.BundleError, match=r"time\.schema\.json changed since the run"):
        bundle.write_bundle(report_dir, record, Redactor([KEY]))

    assert not made.exists()  # no stale bundle stays
    # a bundle whose record names other bytes for a document than it holds (its manifest made to match)
    record["run"]["openapi"]["documents"]["description/time.schema.json"] = "0" * 64
    files["certification.json"] = json.dumps(record).encode()
    files.pop("MANIFEST.sha256")
    files["MANIFEST.sha256"] = bundle.manifest(files).encode()
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    with pytest.raises(bundle.BundleError, match="time.schema.json are not the documents the run used"):
        bundle.extract(forged, tmp_path / "forged")


def test_a_description_holding_a_key_is_not_bundled(tmp_path: Path) -> None:
    described = tmp_path / "openapi.json"
    described.write_text(json.dumps({"openapi": "3.1.0", "info": {"title": KEY, "version": "1"}, "paths": {}}))
    report_dir = tmp_path / "reports"
    with pytest.raises(bundle.BundleError, match="contains an API key"):
        bundle.write_bundle(report_dir, synthetic(report_dir, source=described), Redactor([KEY]))


def test_reports_of_another_run_are_refused(tmp_path: Path) -> None:
    report_dir = tmp_path / "reports"
    record = synthetic(report_dir)
    other = {**record, "run": {**record["run"], "id_prefix": "cftffffff"}}
    with pytest.raises(bundle.BundleError, match="another run"):
        bundle.write_bundle(report_dir, other, Redactor([KEY]))


def _copy(src: Path, dst: Path, change) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = change(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)
    return dst


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda n, d: d.replace(b'"fail"', b'"pass"') if n == "certification.json" else d, "altered: certification"),
        (lambda n, d: None if n == "junit.xml" else d, "missing: junit.xml"),
        (lambda n, d: d + b"x" if n.endswith("reference-openapi.yaml") else d, "altered: description/"),
    ],
    ids=["verdict-edited", "file-removed", "description-edited"],
)
def test_a_tampered_bundle_is_refused_with_exit_2(made: Path, tmp_path: Path, change, needle) -> None:
    tampered = _copy(made, tmp_path / "tampered.zip", change)
    with pytest.raises(bundle.BundleError, match="tampered"):
        bundle.verify(tampered)
    proc = rerun_conformance([str(tampered)], env={"CONFORMANCE_API_KEY": KEY}, cwd=tmp_path)
    assert_one_line_exit_2(proc, needle)
    assert not (tmp_path / "reports" / "rerun").exists()  # nothing ran


def test_a_file_added_to_the_bundle_is_refused(made: Path, tmp_path: Path) -> None:
    extra = _copy(made, tmp_path / "extra.zip", lambda n, d: d)
    with zipfile.ZipFile(extra, "a") as zf:
        zf.writestr("description/extra.yaml", b"{}")
    with pytest.raises(bundle.BundleError, match="not in the manifest: description/extra.yaml"):
        bundle.verify(extra)


def test_unsafe_names_are_refused(made: Path, tmp_path: Path) -> None:
    evil = _copy(made, tmp_path / "evil.zip", lambda n, d: d)
    with zipfile.ZipFile(evil, "a") as zf:
        zf.writestr("../outside.txt", b"x")
    with pytest.raises(bundle.BundleError, match="unsafe file name"):
        bundle.extract(evil, tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()


def _no_manifest(tmp_path: Path) -> Path:
    path = tmp_path / "plain.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("certification.json", b"{}")
    return path


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda tmp: tmp / "absent.zip", "no such file"),
        (lambda tmp: tmp, "not a file"),
        (lambda tmp: (tmp / "text.zip").write_text("not a zip") and tmp / "text.zip", "not a readable zip file"),
        (_no_manifest, "no MANIFEST.sha256"),
    ],
    ids=["missing", "directory", "not-a-zip", "no-manifest"],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, make, needle) -> None:
    proc = rerun_conformance([str(make(tmp_path))], cwd=tmp_path)
    assert_one_line_exit_2(proc, needle)


def test_a_config_file_may_not_change_the_repeated_run(made: Path, tmp_path: Path) -> None:
    (tmp_path / "conformance.toml").write_text('org-timezone = "Europe/Paris"\n')
    proc = rerun_conformance([str(made)], env={"CONFORMANCE_API_KEY": KEY}, cwd=tmp_path)
    assert_one_line_exit_2(proc, "conformance.toml sets org-timezone")


def test_rerun_arguments_repeat_the_run_and_never_carry_keys(made: Path, tmp_path: Path) -> None:
    extracted = bundle.extract(made, tmp_path / "x")
    options, pytest_args = bundle.rerun_arguments(extracted)
    assert options["profile"] == "certification" and options["seed"] == 42 and options["clause"] == [CLAUSE]
    assert options["timeout"] == 10.0 and options["openapi"] == str(extracted.description)
    assert Path(options["openapi"]).read_bytes() == facts.reference_openapi_path().read_bytes()
    assert pytest_args == ["-k", "test_header_selects_later_fields"]
    assert not {"api_key", "second_api_key", "base_url", "ca_bundle", "waivers"} & set(options)


def test_the_waivers_file_is_bundled_and_reused(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.toml"
    waivers.write_text('[[waiver]]\nclause = "VER-1"\nreason = "header routing ships in 2.4"\n')
    report_dir = tmp_path / "reports"
    record = synthetic(report_dir)
    record["run"]["settings"]["waivers"] = str(waivers)
    made = bundle.write_bundle(report_dir, record, Redactor([KEY]))
    assert read_zip(made)["waivers.toml"] == waivers.read_bytes()
    options, _ = bundle.rerun_arguments(bundle.extract(made, tmp_path / "x"))
    assert Path(options["waivers"]).read_bytes() == waivers.read_bytes()


def test_referenced_documents_keep_their_relative_places() -> None:
    root = "https://api.example.test/docs/api/openapi.yaml"
    others = ["https://api.example.test/docs/api/schemas/a%20b.json", "https://api.example.test/docs/common/c.yaml"]
    assert bundle._layout(root, [root, *others]) == {
        root: "description/api/openapi.yaml",
        others[0]: "description/api/schemas/a b.json",
        others[1]: "description/common/c.yaml",
    }
    assert bundle._layout("https://api.example.test/openapi/", ["https://api.example.test/openapi/"]) == {
        "https://api.example.test/openapi/": "description/openapi"
    }


# ---- end to end: the bundled reference server, and a run of another profile ---------------------------


def test_rerun_of_a_reference_server_bundle_starts_a_fresh_one(tmp_path):
    from conftest import run_conformance

    report_dir = tmp_path / "reports"
    run = run_conformance(list(NARROW), report_dir=report_dir)
    assert run.code == 0, run.stdout[-3000:] + run.stderr
    assert json.loads(read_zip(report_dir / "bundle.zip")["run.json"])["reference_server"] is True

    proc = rerun_conformance([str(report_dir / "bundle.zip")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "a fresh bundled reference server" in proc.stdout
    assert "No clause verdict changed." in proc.stdout


def test_a_run_outside_the_certification_profile_writes_no_bundle(certify):
    run = certify(faults=(FAULT,), args=("--profile", "smoke", *NARROW[2:]))
    assert run.verdicts()[CLAUSE] == "fail", run.stdout[-2000:]
    assert not (run.report_dir / "bundle.zip").exists()
    assert "submission bundle" not in run.stdout

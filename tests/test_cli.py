"""Bad input: one clear line and exit 2; nothing listening: one line and exit 3."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from conformance.checks import times
from conftest import run_conformance

KEY = {"CONFORMANCE_API_KEY": "dGVzdDprZXk="}


def _one_line(run) -> str:
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert "Traceback" not in run.stderr and "INTERNALERROR" not in run.stdout + run.stderr
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--profile", "turbo"], {}, "unknown profile"),
        (["--clause", "ENV-99"], {}, "unknown clause"),
        (["--clause", "ENV-I"], {}, "did you mean"),
        (["--base-url", "not a url"], KEY, "not an http(s) URL"),
        (["--base-url", "https://127.0.0.1:9/ga/api"], {}, "CONFORMANCE_API_KEY"),
        (["--openapi", "/nonexistent/openapi.yaml"], {}, "no such file"),
        (["--org-timezone", "Mars/Olympus"], {}, "IANA"),
        (["--base-url", "http://127.0.0.1:9/ga/api"], KEY, "--allow-http"),
        (["--no-such-option"], {}, "unrecognized"),
        (["--timeout", "abc"], {}, "timeout"),
        (["--workers", "0"], {}, "--workers must be between 1 and 64"),
        (["--workers", "many"], {}, "--workers must be a number or auto"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(tmp_path, args, env, needle):
    run = run_conformance(args, env=env, report_dir=tmp_path / "reports")
    assert run.code == 2
    assert needle in _one_line(run)


def test_unparsable_openapi_is_exit_2(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("openapi: 3.1.0\npaths: [unclosed\n")
    run = run_conformance(["--openapi", str(bad)], report_dir=tmp_path / "reports")
    assert run.code == 2
    assert _one_line(run) == f"conformance: {bad}:3: not valid YAML: did not find expected ',' or ']'"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_listening_is_exit_3(tmp_path):
    run = run_conformance(
        ["--base-url", f"https://127.0.0.1:{_closed_port()}/ga/api"], env=KEY, report_dir=tmp_path / "reports"
    )
    assert run.code == 3, run.stdout + run.stderr
    line = _one_line(run)
    assert "target unreachable" in line and f"reports in {tmp_path / 'reports'}" in line  # where to look
    for name in ("certification.json", "junit.xml", "report.html"):  # report.html too, without pytest
        assert name in line and (tmp_path / "reports" / name).exists()
    assert "target unreachable" in (tmp_path / "reports" / "report.html").read_text()
    assert run.record["run"]["cannot_test"].startswith("target unreachable: ")


def test_port_9_contract_example(tmp_path):
    run = run_conformance(["--base-url", "https://127.0.0.1:9/ga/api"], env=KEY, report_dir=tmp_path / "reports")
    assert run.code == 3
    assert "Traceback" not in run.stderr


def test_plain_http_refused_sends_nothing(tmp_path):
    """Without --allow-http an http:// URL is refused before any request (nothing listens; still exit 2)."""
    run = run_conformance(
        ["--base-url", f"http://127.0.0.1:{_closed_port()}/ga/api"], env=KEY, report_dir=tmp_path / "reports"
    )
    assert run.code == 2


def test_precedence_flag_env_file_default(tmp_path):
    from conformance.run.config import resolve

    (tmp_path / "conformance.toml").write_text('profile = "smoke"\ntimeout = 4\nreport-dir = "out"\n')
    env = {"CONFORMANCE_TIMEOUT": "7"}
    s = resolve({"report_dir": "cli-dir"}, env, tmp_path)
    assert (s.profile, s.timeout, s.report_dir) == ("smoke", 7.0, "cli-dir")
    assert s.sources == {
        "profile": "file conformance.toml",
        "timeout": "env CONFORMANCE_TIMEOUT",
        "report_dir": "command line",
    }
    assert resolve({}, {}, tmp_path / "nowhere").profile == "standard"


def test_pyproject_tool_table_is_read(tmp_path):
    from conformance.run.config import resolve

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.conformance]\nclause = "TIME"\n')
    assert resolve({}, {}, tmp_path).clause == ["TIME"]


@pytest.mark.parametrize(
    "text, needle",
    [
        ('api-key = "secret"', "environment"),
        ('base_ur = "x"', "did you mean 'base-url'"),
        ("profile = 3", "wrong type"),
        ("profile = ", "not valid TOML"),
    ],
)
def test_bad_config_file_is_one_line_exit_2(tmp_path, text, needle):
    (tmp_path / "conformance.toml").write_text(text + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--show-config"], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 2 and needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "secret" not in proc.stderr + proc.stdout


def test_show_config_masks_keys_and_names_sources(tmp_path):
    env = {**os.environ, "CONFORMANCE_API_KEY": "topsecretkey123"}
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--show-config", "--profile", "smoke"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "topsecretkey123" not in proc.stdout and "env CONFORMANCE_API_KEY" in proc.stdout
    assert "smoke" in proc.stdout and "command line" in proc.stdout


# -- hints that name the fix ------------------------------------------------------------------
def test_401_on_every_request_hints_at_the_api_key(reference_server, tmp_path):
    handle = reference_server()
    args = ["--base-url", handle.base_url, "--ca-bundle", handle.ca_bundle, "--profile", "smoke", "--clause", "ENV"]
    run = run_conformance(args, env={"CONFORMANCE_API_KEY": "not-the-key"}, report_dir=tmp_path / "reports")
    assert run.code == 1
    assert "got 401: check CONFORMANCE_API_KEY" in run.stdout
    assert any("CONFORMANCE_API_KEY" in h for h in run.record["run"]["hints"])
    good = run_conformance(args, env={"CONFORMANCE_API_KEY": handle.keys[0]}, report_dir=tmp_path / "good")
    assert good.record["run"]["hints"] == [] and "Hint:" not in good.stdout


def test_untrusted_certificate_hints_at_ca_bundle(reference_server, tmp_path):
    """TLS-2 fails; every other clause could not be judged, which is ``not_verified``, never ``skip`` ("does not
    apply"); stderr says so on one line with the fix."""
    handle = reference_server()
    run = run_conformance(
        ["--base-url", handle.base_url, "--profile", "smoke"],
        env={"CONFORMANCE_API_KEY": "not-the-key-0123"},
        report_dir=tmp_path / "reports",
    )
    assert run.code == 1, run.stdout + run.stderr
    tls2 = next(c for c in run.record["clauses"] if c["id"] == "TLS-2")
    assert tls2["verdict"] == "fail"
    assert "--ca-bundle" in tls2["findings"][0]["message"] and "--insecure" in tls2["findings"][0]["message"]
    others = {c["id"]: c for c in run.record["clauses"] if c["id"] != "TLS-2"}
    assert {c["verdict"] for c in others.values()} == {"not_verified"}
    assert all(c["reason"].startswith("not judged: the target cannot be tested: TLS") for c in others.values())
    line = _one_line(run)
    assert line.startswith("conformance: cannot test the target (TLS-2 fails") and "--ca-bundle" in line
    assert run.record["run"]["cannot_test"] == tls2["findings"][0]["message"]


# -- pytest options pass through ----------------------------------------------------------------
def test_pytest_options_pass_through(reference_server, tmp_path):
    """``-- -k IDEM -x --lf`` and ``--hypothesis-seed`` reach pytest and hypothesis, and the record says so."""
    handle = reference_server(faults=("idem-delete-noop",))
    env = {"CONFORMANCE_API_KEY": handle.keys[0], "CONFORMANCE_SECOND_API_KEY": handle.keys[1]}
    base = ["--base-url", handle.base_url, "--ca-bundle", handle.ca_bundle, "--profile", "smoke"]
    reports = tmp_path / "reports"
    first = run_conformance([*base, "--", "-k", "IDEM"], env=env, report_dir=reports)
    failed = {t["nodeid"] for t in first.record["tests"] if t["outcome"] == "failed"}
    assert first.code == 1 and len(failed) >= 2
    ran_first = [t for t in first.record["tests"] if not t["nodeid"].startswith("run::")]
    assert all(any(c.startswith("IDEM") for c in t["clauses"]) for t in ran_first)  # -k matches IDEM markers

    again = run_conformance(
        [*base, "--", "-k", "IDEM", "-x", "--lf", "--hypothesis-seed", "4242"], env=env, report_dir=reports
    )
    ran = [t for t in again.record["tests"] if not t["nodeid"].startswith("run::")]
    assert {t["nodeid"] for t in ran} <= failed  # --lf: only the last run's failures
    assert [t["outcome"] for t in ran].count("failed") == 1  # -x: stopped at the first
    assert again.record["run"]["seed"] == 4242  # --hypothesis-seed is the run's seed
    assert again.record["run"]["tzdata"] == times.tzdata_version() is not None  # TIME-3's offsets come from it
    assert again.record["run"]["pytest_args"] == ["-k", "IDEM", "-x", "--lf", "--hypothesis-seed", "4242"]
    reasons = "\n".join(again.record["not_certifiable_reasons"])
    assert "-k 'IDEM'" in reasons and "--lf" in reasons and "stopped early" in reasons

"""Bad input: one clear line and exit 2; nothing listening: one line and exit 3."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

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
    assert "broken.yaml" in run.stderr + run.stdout
    assert "Traceback" not in run.stderr


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_listening_is_exit_3(tmp_path):
    run = run_conformance(
        ["--base-url", f"https://127.0.0.1:{_closed_port()}/ga/api"], env=KEY, report_dir=tmp_path / "reports"
    )
    assert run.code == 3, run.stdout + run.stderr
    assert "unreachable" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert (tmp_path / "reports" / "certification.json").exists()


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
    from conformance.config import resolve

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
    from conformance.config import resolve

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

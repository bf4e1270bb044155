"""Bad input: one clear line and exit 2; nothing listening: one line and exit 3."""

from __future__ import annotations

import socket

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

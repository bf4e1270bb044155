"""Installing the suite changes nobody else's pytest runs: its plugin adds no fixture, parametrization or
generic option name to a run that is not a conformance run, and it lives beside pytest-base-url (which
pytest-playwright and pytest-selenium bring), reusing its ``--base-url`` instead of colliding with it.

The project's test environment has pytest-base-url installed (the ``test`` extra), so every suite run the
project's tests start also proves the coexistence; ``-p no:base_url`` shows the suite's own option.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_conformance

pytest.importorskip("pytest_base_url")

VENDOR_CONFTEST = """
import pytest

@pytest.fixture(params=["mine", "also mine"])
def resource(request):
    return request.param

@pytest.fixture
def target():
    return "the vendor's own target"
"""

VENDOR_TESTS = """
def test_own_resource(resource):
    assert resource in ("mine", "also mine")

def test_own_target(target):
    assert target == "the vendor's own target"

def test_base_url(base_url):
    assert base_url == "https://app.example.test"
"""


def _vendor_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "vendor"
    tree.mkdir()
    (tree / "conftest.py").write_text(VENDOR_CONFTEST)
    (tree / "test_vendor.py").write_text(VENDOR_TESTS)
    return tree


def _pytest(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=120)


def test_a_vendors_own_tests_run_untouched(tmp_path):
    tree = _vendor_tree(tmp_path)
    proc = _pytest(["--base-url", "https://app.example.test", str(tree)], tree)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 passed" in proc.stdout and "skipped" not in proc.stdout, proc.stdout


def test_no_generic_option_names(tmp_path):
    proc = _pytest(["--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    for own in ("--conformance-seed", "--conformance-profile", "--conformance-workers", "--conformance-timeout"):
        assert own in proc.stdout
    for generic in ("--seed ", "--profile ", "--workers ", "--examples ", "--clause ", "--insecure "):
        assert generic not in proc.stdout, generic
    assert proc.stdout.count("--base-url") == 1  # pytest-base-url's, not a second one


@pytest.mark.parametrize("own_option", [False, True], ids=["pytest-base-url-option", "suite-option"])
def test_a_suite_run_beside_pytest_base_url(certify, reference_server, own_option):
    """``conformance run --base-url`` reaches the suite through pytest-base-url's option, or through the
    suite's own when that plugin is switched off; either way the target is the given server."""
    server = reference_server()
    extra = ("-p", "no:base_url") if own_option else ()
    run = certify(server=server, args=("--clause", "ENV-1", "--profile", "smoke", "--", *extra))
    assert run.code == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.record["run"]["target"] == server.base_url
    assert run.record["run"]["reference_server"] is False


def test_pytest_base_url_settings_do_not_pick_the_target(tmp_path):
    """``PYTEST_BASE_URL`` names the vendor's own application: the suite's target comes from its own
    settings only (here none: the bundled reference server)."""
    env = {"PYTEST_BASE_URL": "https://app.example.test"}
    run = run_conformance(["--clause", "ENV-1", "--profile", "smoke"], env=env, report_dir=tmp_path / "reports")
    assert run.code == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.record["run"]["reference_server"] is True

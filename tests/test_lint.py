"""The package stays ruff- and mypy-clean: the project's CI runs the README's test command (pytest), so the
linters run as tests. Skipped when the tools are not installed (the ``test`` extra brings them)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = ["conformance", "tests", "benchmarks"]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_ruff_check_and_format():
    lint = _run("ruff", "check", *CODE)
    assert lint.returncode == 0, lint.stdout[-4000:]
    fmt = _run("ruff", "format", "--check", *CODE)
    assert fmt.returncode == 0, fmt.stdout[-4000:]


def test_mypy_is_clean():
    pytest.importorskip("mypy")
    typed = _run(sys.executable, "-m", "mypy")
    assert typed.returncode == 0, typed.stdout[-4000:]

"""The CI recipes and the Dockerfile stay honest: they parse, and every option they
pass to `conformance run` exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from conformance.run.config import OPTIONS

ROOT = Path(__file__).resolve().parent.parent
KNOWN = {opt.flag for opt in OPTIONS} | {"--show-config", "--help"}


def _run_commands(text: str) -> list[list[str]]:
    """Every `conformance run ...` command in a recipe, as argv (folded YAML lines joined)."""
    flat = " ".join(text.split())
    return [shlex.split(m) for m in re.findall(r"conformance run[^\n\"']*?(?=\s+-\s|$|\s+-\s*name:)", flat)]


def _options(argv: list[str]) -> list[str]:
    out = []
    for arg in argv:
        if arg == "--":
            break
        if arg.startswith("--"):
            out.append(arg.split("=", 1)[0])
    return out


def test_ci_recipes_parse_and_use_only_real_options():
    recipes = sorted((ROOT / "docs" / "ci").glob("*.yml"))
    assert recipes, "docs/ci holds the CI recipes"
    for path in recipes:
        doc = yaml.safe_load(path.read_text())
        assert isinstance(doc, dict), path
        commands = _run_commands(yaml.safe_dump(doc, width=10_000))
        assert commands, f"{path.name} runs no `conformance run`"
        for argv in commands:
            unknown = [o for o in _options(argv) if o not in KNOWN]
            assert unknown == [], f"{path.name}: unknown options {unknown}"
        assert "CONFORMANCE_API_KEY" in path.read_text()  # the key comes from a secret, never inline


def test_option_check_would_catch_a_typo():
    argv = _run_commands("steps: conformance run --base-url https://x --profle smoke -- -k IDEM\n")[0]
    assert [o for o in _options(argv) if o not in KNOWN] == ["--profle"]


def test_dockerfile_installs_the_package_and_enters_conformance():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", text, re.M)
    assert 'ENTRYPOINT ["conformance"]' in text
    for needed in ("COPY conformance", "COPY schemas", "COPY pyproject.toml"):
        assert needed in text, needed
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd and all(o in KNOWN for o in _options(yaml.safe_load(cmd.group(1))[1:]))

"""An implementation of SPEC.md written independently of the reference server (``tests/independent/``): its
own names and ``{audience_id}`` parameters, UUID ids, ``format: email``, an OpenAPI 3.1 description with
versions only in an ``X-Version`` enum, writes answered ``{id}``, nulls omitted, listings newest first among
another client's data, two organizations in London and Adelaide, and a rule its description states only in
prose. The suite must certify it clean (a false positive costs a vendor its certificate) and catch the
planted faults our own reference server does not imagine. ``tests/independent/evaluate.py`` measures all of
them; these are the clean run and the faults that were missed before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from independent import server as independent

HERE = Path(__file__).parent / "independent"
ZONES = ("--org-timezone", "Europe/London", "--second-org-timezone", "Australia/Adelaide")


@pytest.fixture
def bare_email_description(tmp_path: Path) -> Path:
    """The description with the email field declared by ``format: email`` alone, as most vendors write it."""
    text = (HERE / "openapi.yaml").read_text()
    text = text.replace(', pattern: "^[^@\\\\s]+@[^@\\\\s]+$"', "")
    text = re.sub(r"\n      examples:\n        - \{email_address:[^\n]*", "", text)
    path = tmp_path / "openapi.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def independent_server():
    handles = []

    def start(faults: tuple[str, ...] = ()):
        handle = independent.start(faults=faults)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


def test_the_clean_independent_server_is_certified(certify, independent_server, bare_email_description):
    run = certify(
        server=independent_server(), args=("--openapi", str(bare_email_description), "--profile", "smoke", *ZONES)
    )
    assert run.code == 0, run.stdout[-4000:]
    assert run.failing("MUST") == set()
    assert any("choice" in g["message"] for g in run.record["run"]["description_gaps"])  # its prose-only rule


@pytest.mark.parametrize(
    ("fault", "clause"),
    [("IDEM-1:long-string-500", "IDEM-1"), ("STATUS-3:int-coerces-strings", "STATUS-3")],
)
def test_its_storage_and_coercion_faults_are_caught(certify, independent_server, fault, clause):
    args = ("--openapi", str(HERE / "openapi.yaml"), "--profile", "smoke", "--clause", clause, "--", "-k", "not fuzz")
    run = certify(server=independent_server((fault,)), args=args)
    assert run.verdicts()[clause] == "fail", run.stdout[-3000:]

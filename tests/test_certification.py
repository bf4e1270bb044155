"""The certification workflow: certified mode cannot be narrowed or weakened, a bug in the
suite is an ``error`` (never a vendor failure), waivers and their staleness, and
confirmation re-runs that tell intermittent findings from deterministic ones.

The certified run that *is* certifiable is tests/test_hygiene.py's full run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance.run.config import Settings
from conformance.verdicts import certifiability
from conformance.verdicts.waivers import WaiverError, load
from conftest import run_conformance

PLUGINS = Path(__file__).resolve().parent / "plugins"
CERTIFIED = ("--profile", "certification")


def _reasons(run) -> str:
    return "\n".join(run.record["not_certifiable_reasons"])


# -- certified mode -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (Settings(profile="smoke"), "profile 'smoke': only `--profile certification`"),
        (Settings(profile="standard"), "profile 'standard'"),
        (Settings(profile="certification", clause=["TIME-*"]), "narrowed with --clause TIME-*"),
        (Settings(profile="certification", examples=5), "budget lowered: --examples 5"),
        (Settings(profile="certification", fuzz_examples=1), "budget lowered: --fuzz-examples 1"),
        (Settings(profile="certification", insecure=True), "--insecure"),
        (Settings(profile="certification", base_url="http://127.0.0.1:1", allow_http=True), "plain HTTP"),
    ],
)
def test_each_weakening_alone_is_a_reason(settings, expected):
    assert any(expected in r for r in certifiability.settings_weakenings(settings))


def test_a_plain_certification_run_has_no_settings_reason():
    assert certifiability.settings_weakenings(Settings(profile="certification", base_url="https://x.example")) == []
    assert certifiability.settings_weakenings(Settings(profile="certification", examples=500)) == []  # raised: fine


@pytest.mark.parametrize(
    ("option", "whole", "deselected", "expected"),
    [
        ({"keyword": "IDEM"}, True, 40, "narrowed with -k 'IDEM'"),
        ({"markexpr": "TIME_1"}, True, 40, "narrowed with -m 'TIME_1'"),
        ({"deselect": ["x.py::t"]}, True, 1, "narrowed with --deselect x.py::t"),
        ({"lf": True}, True, 0, "narrowed with --lf"),
        ({"maxfail": 1}, True, 0, "stopped early"),
        ({}, False, 0, "only part of the suite was collected"),
        ({}, True, 3, "3 tests were deselected"),
    ],
)
def test_each_selection_alone_is_a_reason(option, whole, deselected, expected):
    defaults = {"keyword": "", "markexpr": "", "deselect": None, "lf": False, "maxfail": 0}
    reasons = certifiability.selection_weakenings(SimpleNamespace(**{**defaults, **option}), ["x"], whole, deselected)
    assert any(expected in r for r in reasons), reasons
    assert certifiability.selection_weakenings(SimpleNamespace(**defaults), ["x"], True, 0) == []


def test_narrowed_certification_run_records_every_reason(certify):
    """The options reach the record end to end (each is a reason on its own: see above)."""
    node = "conformance/suite/test_tls.py::test_plain_http_is_not_answered_with_data"
    args = (*CERTIFIED, "--clause", "TLS", "--examples", "5", "--", "-k", "tls", "-m", "TLS_1 or TLS_2")
    run = certify(args=(*args, "--deselect", node, "--lf", "-x"))
    assert run.record["certifiable"] is False
    reasons = _reasons(run)
    for expected in (
        "narrowed with --clause TLS",
        "budget lowered: --examples 5",
        "narrowed with -k 'tls'",
        "narrowed with -m 'TLS_1 or TLS_2'",
        f"narrowed with --deselect {node}",
        "narrowed with --lf",
        "stopped early with -x/--maxfail 1",
    ):
        assert expected in reasons, reasons
    assert "Certifiable: NO" in run.stdout


def test_certification_run_without_second_key_or_tls_verification(certify, reference_server, tmp_path):
    handle = reference_server()
    run = certify(args=(*CERTIFIED, "--clause", "AUTH-4"), server=handle, second_key=False)
    assert run.verdicts()["AUTH-4"] == "skip"
    assert "AUTH-4 skip" in _reasons(run) and "CONFORMANCE_SECOND_API_KEY" in _reasons(run)

    insecure = run_conformance(
        ["--base-url", handle.base_url, "--insecure", *CERTIFIED, "--clause", "TLS-1"],
        env={"CONFORMANCE_API_KEY": handle.keys[0], "CONFORMANCE_SECOND_API_KEY": handle.keys[1]},
        report_dir=tmp_path / "insecure-reports",
    )
    assert "TLS verification was turned off (--insecure)" in _reasons(insecure)


def test_other_profiles_are_never_certifiable(certify):
    run = certify(args=("--profile", "smoke", "--", "-k", "tls"))
    assert run.record["certifiable"] is False
    assert "only `--profile certification` runs can certify" in _reasons(run)


# -- error: the suite could not judge --------------------------------------------------------
def test_a_bug_in_a_check_is_an_error_for_its_clause_only(reference_server, tmp_path):
    handle = reference_server()
    env = {
        "CONFORMANCE_API_KEY": handle.keys[0],
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")])),
    }
    args = ["--base-url", handle.base_url, "--ca-bundle", handle.ca_bundle, "--profile", "smoke", "--clause", "TIME"]
    run = run_conformance([*args, "--", "-p", "broken_check"], env=env, report_dir=tmp_path / "reports")
    verdicts = run.verdicts()
    assert verdicts["TIME-4"] == "error", verdicts
    time4 = next(c for c in run.record["clauses"] if c["id"] == "TIME-4")
    assert "planted bug in the TIME-4 check" in time4["reason"] and time4["findings"] == []
    assert {verdicts[c] for c in ("TIME-1", "TIME-2", "TIME-3", "TIME-5")} == {"pass"}, verdicts
    assert run.code == 1 and run.record["certifiable"] is False
    assert "TIME-4 error" in _reasons(run)


# -- waivers ------------------------------------------------------------------------------
def _waivers(tmp_path: Path, *entries: str) -> str:
    path = tmp_path / "waivers.toml"
    path.write_text("\n".join(f"[[waiver]]\n{e}\n" for e in entries))
    return str(path)


def test_waiver_turns_a_failing_clause_into_waived_with_exit_0(certify, tmp_path):
    waivers = _waivers(tmp_path, 'clause = "ENV-1"\nreason = "extra key removed in 4.2"\nexpires = 2099-12-31')
    run = certify(faults=("env-extra-key",), args=("--profile", "smoke", "--clause", "ENV-1", "--waivers", waivers))
    assert run.code == 0, run.stdout[-2000:]
    env1 = next(c for c in run.record["clauses"] if c["id"] == "ENV-1")
    assert env1["verdict"] == "waived" and env1["findings"], env1  # the evidence stays
    assert env1["waiver"]["status"] == "applied"
    assert "ENV-1 waived: extra key removed in 4.2" in _reasons(run)  # a waived MUST is never certifiable
    assert run.record["summary"]["waived"] == ["ENV-1"]
    junit = (run.report_dir / "junit.xml").read_text()
    assert "<failure" not in junit and 'type="waived"' in junit
    html = (run.report_dir / "report.html").read_text()
    assert 'id="waivers"' in html and 'data-status="applied"' in html


def test_stale_and_expired_waivers_are_reported(certify, tmp_path):
    waivers = _waivers(
        tmp_path,
        'clause = "TIME-1"\nreason = "fix in 4.2"',
        'clause = "TIME-4"\nreason = "old bug, fixed since"',
        'clause = "TIME-5"\nreason = "expired deal"\nexpires = 2020-01-01',
    )
    run = certify(faults=("time-z-suffix",), args=("--profile", "smoke", "--clause", "TIME", "--waivers", waivers))
    by_clause = {w["clause"]: w for w in run.record["waivers"]}
    assert by_clause["TIME-1"]["status"] == "applied"
    assert by_clause["TIME-4"]["status"] == "stale" and "now passes" in by_clause["TIME-4"]["note"]
    assert by_clause["TIME-5"]["status"] == "stale" and "expired on 2020-01-01" in by_clause["TIME-5"]["note"]
    verdicts = run.verdicts()
    assert verdicts["TIME-1"] == "waived" and verdicts["TIME-5"] == "fail"  # an expired waiver waives nothing
    assert run.code == 1
    assert sorted(run.record["summary"]["stale_waivers"]) == ["TIME-4", "TIME-5"]
    assert "Stale waiver TIME-4: TIME-4 now passes" in run.stdout
    assert "Stale waiver TIME-5: expired on 2020-01-01" in run.stdout
    assert 'data-stale="2"' in (run.report_dir / "report.html").read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[waiver]]\nclause = "TIME-9"\nreason = "x"', "unknown clause 'TIME-9'; did you mean TIME-"),
        ('[[waiver]]\nclause = "TIME-1"', "needs a reason"),
        ('[[waiver]]\nclause = "TIME-1"\nreason = "x"\nexpires = "soon"', "expires must be a TOML date"),
        ('[[waiver]]\nclause = "TIME-1"\nreason = "x"\nowner = "me"', "unknown key 'owner'"),
        ("[[waiver]\n", "not valid TOML"),
    ],
)
def test_bad_waiver_files_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "w.toml"
    path.write_text(text)
    with pytest.raises(WaiverError, match="--waivers") as info:
        load(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_waiver_file_exits_2_before_sending_anything(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text('[[waiver]]\nclause = "ENV-9"\nreason = "x"\n')
    run = run_conformance(
        ["--base-url", "https://127.0.0.1:9", "--waivers", str(path)], report_dir=tmp_path / "reports"
    )
    assert run.code == 2 and "unknown clause 'ENV-9'" in run.stderr and "Traceback" not in run.stderr


# -- confirmation re-runs ----------------------------------------------------------------------
def test_an_intermittent_finding_is_unconfirmed(certify):
    args = ("--profile", "smoke", "--clause", "IDEM-6", "--confirm", "2", "--", "-k", "test_delete_removes")
    run = certify(faults=("flaky-first-delete-500",), args=args)
    idem6 = next(c for c in run.record["clauses"] if c["id"] == "IDEM-6")
    assert idem6["verdict"] == "fail"  # still shown: an intermittent bug is a bug
    assert idem6["confirmation"]["status"] == "unconfirmed", idem6["confirmation"]
    assert idem6["findings"][0]["reproduced"] == {"attempts": 2, "reproduced": 0, "confirmed": False}
    assert run.record["summary"]["unconfirmed"] == ["IDEM-6"]
    assert "IDEM-6 unconfirmed" in run.stdout
    assert 'data-confirmed="false"' in (run.report_dir / "report.html").read_text()


def test_a_deterministic_finding_is_confirmed(certify):
    """Also on xdist workers (the default): a worker re-runs its own failing tests."""
    args = ("--profile", "smoke", "--clause", "ENV-1", "--confirm", "1", "--workers", "2")
    run = certify(faults=("env-extra-key",), args=args)
    assert run.record["run"]["workers"] == 2
    env1 = next(c for c in run.record["clauses"] if c["id"] == "ENV-1")
    assert env1["verdict"] == "fail" and env1["confirmation"]["status"] == "confirmed", env1["confirmation"]
    assert all(f["reproduced"]["confirmed"] for f in env1["findings"] if "reproduced" in f)
    assert run.record["summary"]["unconfirmed"] == []


def test_records_with_the_new_fields_validate(certify, tmp_path):
    import jsonschema

    from conformance.spec import facts

    schema = json.loads((facts.schemas_dir() / "certification.schema.json").read_text())
    waivers = _waivers(tmp_path, 'clause = "ENV-1"\nreason = "known"')
    run = certify(
        faults=("env-extra-key",),
        args=("--profile", "smoke", "--clause", "ENV-1", "--confirm", "1", "--waivers", waivers),
    )
    jsonschema.validate(run.record, schema, cls=jsonschema.Draft202012Validator)
    assert run.record["schema_version"] == 2

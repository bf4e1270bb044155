"""``conformance report compare``: the clause × run matrix finds the clause on which real runs disagree.

Two small real runs (ENV-1 and ENV-2 at the smoke profile) certify a clean reference server and one with
``env-extra-key``, which breaks ENV-1 only; a third column is the clean record copied where no report.html lies.
The matrix must flag ENV-1 and nothing else, link each cell to the evidence of its own run, say the same in
JSON, escape whatever a record holds, and turn every unusable input into one line and exit 2.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from leaks import leaks
from pages import CHROMIUM, Tags, rendered

from conformance import cli
from conformance.reference.server import start_server
from conformance.report import compare
from conformance.spec import catalogue
from conftest import SuiteRun, run_conformance

ARGS = ("--profile", "smoke", "--no-shrink", "--clause", "ENV-1", "--clause", "ENV-2")


@dataclass
class Runs:
    clean: SuiteRun
    faulty: SuiteRun
    copy: Path  # the clean record alone in a directory: no report.html beside it
    keys: list[str]

    @property
    def files(self) -> list[str]:
        return [
            str(self.clean.report_dir / "certification.json"),
            str(self.faulty.report_dir / "certification.json"),
            str(self.copy),
        ]


def _certify(root: Path, name: str, faults: tuple[str, ...]) -> tuple[SuiteRun, list[str]]:
    handle = start_server(faults=faults)
    try:
        env = {"CONFORMANCE_API_KEY": handle.keys[0], "CONFORMANCE_SECOND_API_KEY": handle.keys[1]}
        (root / name).mkdir()
        tls = ("--ca-bundle", handle.ca_bundle) if handle.ca_bundle else ()
        run = run_conformance(
            ["--base-url", handle.base_url, *tls, *ARGS], env=env, report_dir=root / name / "reports", timeout=120
        )
    finally:
        handle.stop()
    return run, list(handle.keys)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("compare")
    clean, keys = _certify(root, "clean", ())
    faulty, more = _certify(root, "faulty", ("env-extra-key",))
    assert clean.code == 0 and faulty.code == 1, clean.stdout[-2000:] + faulty.stdout[-2000:]
    assert faulty.failing() == {"ENV-1"} and clean.failing() == set()
    (root / "copy").mkdir()
    copy = root / "copy" / "certification.json"
    shutil.copy(clean.report_dir / "certification.json", copy)
    return Runs(clean, faulty, copy, keys + more)


@pytest.fixture(scope="module")
def written(runs: Runs, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("out") / "pages" / "compare.html"
    data = out.parent / "compare.json"
    assert cli.main(["report", "compare", *runs.files, "--out", str(out), "--json", str(data)]) == 0
    return out, data


def _rows(text: str) -> dict[str, dict[str, str]]:
    return {a["data-clause"]: a for a in Tags(text).find("tr") if "clause-row" in a.get("class", "").split()}


def _cells(text: str) -> dict[str, list[tuple[str, str]]]:
    """Per clause row, each cell's (data-verdict, href of its link) in column order."""
    out: dict[str, list[tuple[str, str]]] = {}
    row: list[tuple[str, str]] | None = None
    for tag, attrs in Tags(text).tags:
        if tag == "tr":
            row = out.setdefault(attrs["data-clause"], []) if "data-clause" in attrs else None
        elif tag == "td" and row is not None and "cell" in attrs.get("class", "").split():
            row.append((attrs["data-verdict"], ""))
        elif tag == "a" and row:
            row[-1] = (row[-1][0], attrs["href"])
    return out


def test_only_the_clause_the_runs_disagree_on_is_highlighted(written: tuple[Path, Path], runs: Runs) -> None:
    text = written[0].read_text("utf-8")
    rows = _rows(text)
    assert list(rows) == [c.id for c in catalogue.load()]
    assert [cid for cid, a in rows.items() if "differs" in a["class"].split()] == ["ENV-1"]
    assert rows["ENV-1"]["data-differs"] == "true" and rows["ENV-2"]["data-differs"] == "false"
    cells = _cells(text)
    assert [v for v, _ in cells["ENV-1"]] == ["pass", "fail", "pass"]
    assert [v for v, _ in cells["ENV-2"]] == ["pass", "pass", "pass"]
    assert {v for v, _ in cells["TLS-1"]} == {runs.clean.verdicts()["TLS-1"]} == {"not_verified"}
    groups = {a["data-group"]: a["data-differs"] for a in Tags(text).find("tbody")}
    assert groups == {g: ("true" if g == "ENV" else "false") for g in catalogue.load().groups}
    summary = Tags(text).find("p", id="summary")[0]
    assert summary["data-differing"] == "1" and '<a href="#row-ENV-1">ENV-1</a>' in text


def test_each_cell_links_to_its_own_runs_evidence(written: tuple[Path, Path], runs: Runs) -> None:
    page = written[0]
    cells = _cells(page.read_text("utf-8"))
    clean_link, faulty_link, copy_link = (href for _, href in cells["ENV-1"])
    assert faulty_link.endswith("#findings-ENV-1") and clean_link.endswith("#clause-ENV-1")
    assert "#" not in copy_link  # no report.html beside the copy: its certification.json, no anchor
    for link, expected in (
        (clean_link, runs.clean.report_dir / "report.html"),
        (faulty_link, runs.faulty.report_dir / "report.html"),
        (copy_link, runs.copy),
    ):
        path, _, anchor = link.partition("#")
        assert not Path(path).is_absolute()
        assert (page.parent / path).resolve() == expected.resolve()
        if anchor:
            assert f'id="{anchor}"' in expected.read_text("utf-8")
    headers = [a for a in Tags(page.read_text("utf-8")).find("th") if a.get("class") == "run"]
    assert len(headers) == 3
    assert "no report.html beside it" in page.read_text("utf-8")


def test_columns_are_headed_by_target_profile_date_and_certifiability(written: tuple[Path, Path], runs: Runs) -> None:
    text = written[0].read_text("utf-8")
    for run in (runs.clean, runs.faulty):
        info = run.record["run"]
        assert info["target"] in text and info["started_at"] in text
    names = [c["name"] for c in json.loads(written[1].read_text("utf-8"))["columns"]]
    target = runs.clean.record["run"]["target"].removeprefix("https://")
    # The copy has the clean run's target and start time: told apart by position.
    assert names[0] == f"{target} (smoke) #1" and names[2] == f"{target} (smoke) #2"
    assert compare.disambiguate(["a", "a", "b"], [{"run": {"started_at": t}} for t in ("1", "2", "1")]) == [
        "a @ 1",
        "a @ 2",
        "b",
    ]
    assert compare.disambiguate(["x #1", "x", "x"], [{}, {}, {}]) == ["x #1 [column 1]", "x #1 [column 2]", "x #2"]
    assert names[1] == runs.faulty.record["run"]["target"].removeprefix("https://") + " (smoke)"
    assert text.count('data-certifiable="false"') == 3 and "profile smoke" in text


def test_json_holds_the_same_matrix(written: tuple[Path, Path], runs: Runs) -> None:
    data = json.loads(written[1].read_text("utf-8"))
    assert data["kind"] == "conformance-compare" and data["differing"] == ["ENV-1"]
    assert [r["id"] for r in data["rows"]] == [c.id for c in catalogue.load()]
    for i, run in enumerate((runs.clean, runs.faulty, runs.clean)):
        assert {r["id"]: r["cells"][i]["verdict"] for r in data["rows"]} == run.verdicts()
    env1 = next(r for r in data["rows"] if r["id"] == "ENV-1")
    assert env1["differs"] and env1["level"] == "MUST"
    faulty = env1["cells"][1]
    assert faulty["anchor"] == "findings-ENV-1" and faulty["findings"] == len(
        next(c for c in runs.faulty.record["clauses"] if c["id"] == "ENV-1")["findings"]
    )
    assert "request_id" in faulty["note"]
    assert data["columns"][1]["report"] == str((runs.faulty.report_dir / "report.html").resolve())
    assert data["columns"][2]["report"] is None and env1["cells"][2]["anchor"] is None
    html_cells = _cells(written[0].read_text("utf-8"))
    assert {r["id"]: [c["verdict"] for c in r["cells"]] for r in data["rows"]} == {
        k: [v for v, _ in cells] for k, cells in html_cells.items()
    }


def test_outputs_hold_no_key(written: tuple[Path, Path], runs: Runs) -> None:
    for path in written:
        assert leaks(path.read_bytes(), runs.keys) == []


def _hostile(runs: Runs, tmp_path: Path) -> Path:
    record = json.loads(runs.copy.read_text("utf-8"))
    record["run"]["target"] = 'https://evil.test/"><script>alert(1)</script>'
    record["run"]["profile"] = "<img src=x onerror=alert(2)>"
    env1 = next(c for c in record["clauses"] if c["id"] == "ENV-1")
    env1["verdict"] = "fail"
    env1["findings"] = [{"message": 'bad "</td><script>alert(3)</script>\x1b[31m\x00'}]
    path = tmp_path / "hostile" / "certification.json"
    path.parent.mkdir()
    path.write_text(json.dumps(record), "utf-8")
    return path


def test_everything_a_record_holds_is_escaped(runs: Runs, tmp_path: Path) -> None:
    hostile = _hostile(runs, tmp_path)
    out = tmp_path / "compare.html"
    names = ["<b>vendor</b>", "clean & sound"]
    assert compare.main_compare([str(hostile), runs.files[0], "--out", str(out), *(f"--name={n}" for n in names)]) == 0
    text = out.read_text("utf-8")
    assert text.count("<script") == 1 and "alert" not in text.split("<script>")[1]  # only the page's own
    assert "<img" not in text and "<b>vendor</b>" not in text and "&lt;b&gt;vendor&lt;/b&gt;" in text
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in text and "\x00" not in text and "\x1b" not in text
    assert "clean &amp; sound" in text
    assert 'http-equiv="Content-Security-Policy"' in text and "default-src &#x27;none&#x27;" in text
    assert list(_rows(text)) == [c.id for c in catalogue.load()]
    assert [cid for cid, a in _rows(text).items() if a["data-differs"] == "true"] == ["ENV-1"]


def test_a_clause_one_record_lacks_is_a_difference(runs: Runs, tmp_path: Path) -> None:
    record = json.loads(runs.copy.read_text("utf-8"))
    record["clauses"] = [c for c in record["clauses"] if c["id"] != "ENV-2"]
    record["clauses"].append({**record["clauses"][0], "id": "NEW-1", "verdict": "pass", "findings": []})
    (tmp_path / "older.json").write_text(json.dumps(record), "utf-8")
    data = compare.matrix(compare.load_runs([str(runs.copy), str(tmp_path / "older.json")], ["a", "b"]))
    assert data["differing"] == ["ENV-2", "NEW-1"]
    new = data["rows"][-1]
    assert new["id"] == "NEW-1" and not new["in_catalogue"] and [c["verdict"] for c in new["cells"]] == [None, "pass"]


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda d: d / "missing.json", "cannot read"),
        (lambda d: d, "cannot read"),  # a directory
        (lambda d: _write(d / "bad.json", "{not json"), "is not JSON"),
        (lambda d: _write(d / "list.json", "[1, 2]"), "not a certification.json"),
        (lambda d: _write(d / "other.json", '{"clauses": [], "name": "x"}'), "not a certification.json"),
        (lambda d: _write(d / "future.json", '{"schema_version": 99, "clauses": []}'), "schema_version 99"),
        (lambda d: _write(d / "v.json", '{"schema_version": "2", "clauses": []}'), "schema_version '2'"),
        (
            lambda d: _write(
                d / "clause.json", '{"schema_version": 2, "certifiable": false, "run": {}, "clauses": [1]}'
            ),
            "clause entry",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    make: Any, needle: str, runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = make(tmp_path)
    out = tmp_path / "never.html"
    assert compare.main_compare([runs.files[0], str(bad), "--out", str(out)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("conformance report compare: ") and needle in line and str(bad) in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["ONE"], "two or more"),
        (["A", "B", "--name", "x"], "--name given 1 times for 2 files"),
        (["A", "B", "--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    args: list[str], needle: str, runs: Runs, capsys: pytest.CaptureFixture[str]
) -> None:
    real = {"ONE": runs.files[0], "A": runs.files[0], "B": runs.files[1]}
    assert cli.main(["report", "compare", *(real.get(a, a) for a in args)]) == 2
    assert needle in _one_line(capsys.readouterr().err)


def test_report_usage_lists_both_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "--help"]) == 0
    assert cli.main(["report"]) == 2
    out = capsys.readouterr().out
    assert out.count("usage: conformance report {diff, compare}") == 2 and "  compare " in out
    assert cli.main(["report", "frob"]) == 2
    assert "report frob" in _one_line(capsys.readouterr().err)
    assert cli.main(["--help"]) == 0
    assert "report compare" in capsys.readouterr().out


def test_command_line_writes_json_to_standard_output(runs: Runs, tmp_path: Path) -> None:
    """The installed command end to end: exit 0 although a run failed, the JSON alone on standard output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "report", "compare", *runs.files[:2], "--json", "-"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert json.loads(proc.stdout)["differing"] == ["ENV-1"]
    assert (tmp_path / "reports" / "compare.html").is_file() and "differing: ENV-1" in proc.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium or chromium-browser on PATH")
def test_differences_only_toggle_runs_under_the_pages_policy(written: tuple[Path, Path], tmp_path: Path) -> None:
    """The page's script runs in a real browser despite its Content-Security-Policy (its hash is right): opened
    at ``#only-differences``, the toggle is on."""
    assert CHROMIUM is not None
    dom = rendered(written[0].resolve().as_uri() + "#only-differences", tmp_path / "profile", budget_ms=3000)
    table = Tags(dom).find("table", id="compare-matrix")[0]
    assert "only-differences" in table["class"].split()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path

"""Parallel runs: `--workers` (default auto) spreads the tests over pytest-xdist workers, and the
controller's reports are those of one process: the same verdicts, findings and cleanup."""

from __future__ import annotations

import json

import pytest

from conformance.run import workers
from conformance.run.config import MAX_AUTO_WORKERS, ConfigError, cpu_quota, resolve, worker_count


def test_two_workers_reach_the_verdicts_of_one_process(certify, reference_server):
    handle = reference_server(faults=("env-extra-key", "idem-merge"))
    args = ("--profile", "smoke", "--seed", "4242")
    one = certify(args=(*args, "--workers", "1"), server=handle)
    two = certify(args=(*args, "--workers", "2"), server=handle)
    assert one.code == two.code == 1, two.stdout[-3000:]
    assert one.failing("MUST") == two.failing("MUST") and {"ENV-1", "IDEM-3"} <= two.failing("MUST")
    assert (one.record["run"]["workers"], two.record["run"]["workers"]) == (1, 2)
    assert one.record["summary"]["tests"] == two.record["summary"]["tests"]
    env1 = next(c for c in two.record["clauses"] if c["id"] == "ENV-1")
    assert env1["verdict"] == "fail" and len({f["test_id"] for f in env1["findings"]}) > 1  # one row, many tests
    for run in (one, two):
        cleanup = run.record["cleanup"]
        assert cleanup["attempted"] > 0 and cleanup["deleted"] == cleanup["attempted"] and cleanup["leftover"] == []
    failed = [t["message"] for t in two.record["tests"] if t["outcome"] == "failed"]
    assert any(m.startswith("[") for m in failed), failed[:3]  # "[ENV-1] …", not the exception's class path
    assert not any(m.startswith("conformance.verdicts.violation.") for m in failed), failed[:3]
    assert two.record["run"]["pytest_args"] == []  # the -n the plugin set is not the user's
    assert '<tr data-key="workers"><th>Workers</th><td>2</td></tr>' in (two.report_dir / "report.html").read_text()
    assert not (two.report_dir / workers.HANDOVER_DIR).exists()


def test_auto_is_the_usable_cpus_within_bounds(monkeypatch):
    monkeypatch.setattr("conformance.run.config.cpu_quota", lambda: None)
    for cpus, expected in ((1, 1), (2, 2), (3, 3), (16, MAX_AUTO_WORKERS)):
        monkeypatch.setattr("os.sched_getaffinity", lambda _pid, n=cpus: set(range(n)))
        assert worker_count("auto") == expected
    assert worker_count("3") == 3
    monkeypatch.setattr("conformance.run.config.cpu_quota", lambda: 1)  # a container allowed one CPU of sixteen
    assert worker_count("auto") == 1


@pytest.mark.parametrize(
    ("text", "cpus"), [("max 100000\n", None), ("200000 100000\n", 2), ("150000 100000", 2), ("50000 100000", 1)]
)
def test_a_cgroup_cpu_quota_bounds_auto(tmp_path, text, cpus):
    (tmp_path / "cpu.max").write_text(text)
    assert cpu_quota(tmp_path / "cpu.max") == cpus
    assert cpu_quota(tmp_path / "absent") is None


def test_workers_from_a_config_file_or_the_environment(tmp_path):
    (tmp_path / "conformance.toml").write_text("workers = 3\n")
    assert resolve({}, environ={}, cwd=tmp_path).workers == 3
    assert resolve({}, environ={"CONFORMANCE_WORKERS": "1"}, cwd=tmp_path).workers == 1
    assert resolve({}, environ={}, cwd=tmp_path / "elsewhere").workers == "auto"
    (tmp_path / "conformance.toml").write_text("workers = true\n")
    with pytest.raises(ConfigError, match="wrong type"):
        resolve({}, environ={}, cwd=tmp_path)


def test_a_worker_that_never_handed_over_is_named_as_leftover(tmp_path):
    """What an interrupted controller reads back: the hand-overs on disk; a worker without one is named."""
    payload = {"conformance_cleanup": {"attempted": 3, "deleted": 3, "leftover": []}}
    (tmp_path / workers.HANDOVER_DIR).mkdir()
    (tmp_path / workers.HANDOVER_DIR / "cftabc-gw0.json").write_text(json.dumps(payload))
    (tmp_path / workers.HANDOVER_DIR / "cftother-gw1.json").write_text(json.dumps(payload))  # another run's
    found, missing = workers.unreported(tmp_path, "cftabc", {"gw0", "gw1"})
    assert found == [payload] and missing == ["gw1"]
    workers.tidy(tmp_path, "cftabc")
    assert [p.name for p in (tmp_path / workers.HANDOVER_DIR).iterdir()] == ["cftother-gw1.json"]

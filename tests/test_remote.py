"""Remote targets (issue 19): the run follows the target's round trip, not only the CPUs, and stays polite.
A loopback proxy of the project's own (``benchmarks/latency.py``) adds the round trip; no timed assertions:
the tests check the behaviour (the workers chosen, the connection cap, the record), never a wall time."""

from __future__ import annotations

import gc
import socket
import sys
import time
from pathlib import Path

import pytest

from conformance.http.client import Client
from conformance.http.redact import Redactor
from conformance.run.config import (
    MAX_REMOTE_WORKERS,
    ConfigError,
    Settings,
    connections_per_worker,
    resolve,
    worker_count,
)
from conformance.run.session import measure_rtt, preflight

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from latency import LatencyProxy  # noqa: E402


def test_auto_workers_follow_the_round_trip(monkeypatch):
    monkeypatch.setattr("conformance.run.config.cpu_quota", lambda: None)
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 1})
    assert worker_count("auto", rtt_ms=None) == 2  # the bundled server, or a target not measured
    assert worker_count("auto", rtt_ms=1.0) == 2  # loopback: the CPUs are the limit
    assert worker_count("auto", rtt_ms=40.0) == MAX_REMOTE_WORKERS
    assert worker_count("auto", rtt_ms=40.0, max_connections=4) == 4  # each worker keeps one connection at least
    assert worker_count("5", rtt_ms=40.0) == 5  # an explicit count is the user's
    assert [connections_per_worker(16, 8), connections_per_worker(16, 1), connections_per_worker(3, 8)] == [2, 16, 1]


def test_more_workers_than_connections_is_a_usage_error(tmp_path):
    with pytest.raises(ConfigError, match="--max-connections"):
        resolve({"workers": "8", "max_connections": "4"}, environ={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="--max-connections must be"):
        resolve({"max_connections": "0"}, environ={}, cwd=tmp_path)
    assert resolve({}, environ={"CONFORMANCE_MAX_CONNECTIONS": "6"}, cwd=tmp_path).max_connections == 6


def test_a_far_target_runs_more_workers_within_the_connection_cap(certify, reference_server):
    """30 ms away, ``--workers auto`` measures the round trip and runs more workers than the CPUs; never more
    connections are open at once than ``--max-connections`` allows (counted by the proxy), and the record says
    how many requests went out over what round trip with what concurrency."""
    server = reference_server()
    port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    with LatencyProxy("127.0.0.1", port, rtt_ms=30) as proxy:  # far enough for six workers (one per 5 ms)
        args = ("--profile", "smoke", "--workers", "auto", "--max-connections", "6", "--clause", "IDEM-1")
        run = certify(server=_through(server, proxy), args=args, env={"CONFORMANCE_WORKERS": "auto"})
        peak = proxy.peak_connections
    assert run.code == 0, run.stdout[-3000:]
    record = run.record["run"]
    assert record["rtt_ms"] >= 30
    assert record["concurrency"] == {"workers": 6, "connections_per_worker": 1, "max_connections": 6}
    assert record["requests"] > 0
    assert peak <= 6


class _through:
    """A server handle as the suite should reach it: through the proxy."""

    def __init__(self, server, proxy: LatencyProxy) -> None:
        self.base_url = proxy.url(server.base_url)
        self.ca_bundle, self.keys = server.ca_bundle, server.keys


def test_verdicts_are_the_same_near_and_far(certify, reference_server):
    """One seed, one faulty server, judged directly (one request at a time) and 20 ms away, where a property's
    examples are in flight together (the proxy saw several connections at once): the same verdicts, from the
    same failing tests."""
    server = reference_server(("idem-stale-read",))
    args = ("--profile", "smoke", "--seed", "7", "--clause", "IDEM-4", "--workers", "1", "--", "-k", "not fuzz")
    near = certify(server=server, args=args)
    port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    with LatencyProxy("127.0.0.1", port, rtt_ms=20) as proxy:  # far: examples go out together above 5 ms
        far = certify(server=_through(server, proxy), args=args)
        peak = proxy.peak_connections
    assert far.record["run"]["rtt_ms"] >= 20 and peak > 1
    assert near.verdicts()["IDEM-4"] == "fail", near.stdout[-3000:]
    assert far.verdicts() == near.verdicts()
    failed = [{t["nodeid"] for t in run.record["tests"] if t["outcome"] == "failed"} for run in (near, far)]
    assert failed[0] == failed[1] and failed[0]


def test_the_run_s_own_probes_leave_no_connection_open(reference_server):
    """The reachability probe and the round-trip measurement close their connections: kept alive beside every
    worker's, one would be a connection more than ``--max-connections`` (the proxy counts what is open)."""
    server = reference_server()
    port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    with LatencyProxy("127.0.0.1", port, rtt_ms=2) as proxy:
        settings = Settings(base_url=proxy.url(server.base_url), ca_bundle=server.ca_bundle)
        gc.disable()  # what closes a connection is the suite, not a collection of the client that held it
        try:
            assert preflight(settings, Redactor([])) is None
            assert measure_rtt(settings, Redactor([])) is not None
            deadline = time.monotonic() + 2
            while proxy.open_connections and time.monotonic() < deadline:
                time.sleep(0.02)
            assert proxy.open_connections == 0 and proxy.total_connections >= 2
        finally:
            gc.enable()


def test_a_probe_outside_the_pool_stays_within_the_connection_cap(reference_server):
    """TLS-1's plain-HTTP probe opens a connection the client's pool does not make: one of the pool's slots is
    held empty meanwhile, so the connections open never exceed the cap (here 1)."""
    server = reference_server()
    port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    with LatencyProxy("127.0.0.1", port, rtt_ms=2) as proxy:
        client = Client(proxy.url(server.base_url), None, verify=server.ca_bundle, max_connections=1)
        assert client.request("GET", "/", auth=None, observe=False).status == 401  # its one connection: open
        with client.connection_set_aside():
            time.sleep(0.1)  # the pool's connection closed: the proxy has read its end
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5):
                time.sleep(0.1)
        assert client.request("GET", "/", auth=None, observe=False).status == 401  # the slot is back
        assert proxy.total_connections == 3 and proxy.peak_connections == 1


def test_a_uniqueness_rule_far_away_is_no_finding(certify, reference_server):
    """20 ms away, where examples could go out together: a server keeping names and emails unique within an
    organization (a legal rule of its own) passes IDEM. Examples in flight together took each other's values
    (a refused write's probe at a fresh id holds the value while another example writes it), and a PUT refused
    meanwhile read as a finding; the tidied IDEM examples run one after another."""
    server = reference_server(variants=("names-unique-per-org",))
    args = ("--profile", "smoke", "--clause", "IDEM-2", "--clause", "IDEM-3", "--clause", "IDEM-4", "--workers", "1")
    port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    with LatencyProxy("127.0.0.1", port, rtt_ms=20) as proxy:
        run = certify(server=_through(server, proxy), args=(*args, "--", "-k", "not fuzz and not crud"))
    assert run.record["run"]["rtt_ms"] >= 20
    assert run.failing() == set(), run.stdout[-3000:]

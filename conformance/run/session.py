"""The hooks of an active run that span the session: the target resolved at its start (the bundled reference
server, or a preflight of the given URL), workers given the target and handed back their results, and the
end: cleanup, the record, the reports, the exit code."""

from __future__ import annotations

import os
import statistics
import sys
from typing import Any

import pytest

from conformance.http.client import Client, Credential, TargetError
from conformance.http.exchange import Finding
from conformance.http.redact import Redactor
from conformance.model import TargetModel
from conformance.run import interrupts, workers
from conformance.run.collect import await_workers, log_report, merge_outside, take_over
from conformance.run.config import Settings
from conformance.run.record import EXIT_UNREACHABLE, build_record, write_page, write_reports
from conformance.run.state import RunState

_LEDGER_MARK = pytest.StashKey[int]()


class RunSession:
    """The hooks of an active run, registered as one plugin object holding its state."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        state = self.state
        if not state.is_worker:
            _resolve_target(state)
            if state.rtt_ms is None and state.fatal is None:
                state.rtt_ms = measure_rtt(state.settings, state.redactor)
        state.connect()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        state, s = self.state, self.state.settings
        node.workerinput["conformance_target"] = {
            "base_url": s.base_url,
            "api_key": s.api_key,
            "second_api_key": s.second_api_key,
            "ca_bundle": s.ca_bundle,
            "prefix": state.prefix,
            "seed": state.seed,
            "fatal": state.fatal,
            "rtt_ms": state.rtt_ms,
        }
        state.workers_started.add(node.gateway.id)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        self.state.workers_down.add(node.gateway.id)
        handed = workers.received(getattr(node, "workeroutput", {}) or {})
        if handed is not None:
            self.state.workers_reported.add(node.gateway.id)
            take_over(self.state, handed)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.state.deselected += len(items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        # after set-up: what fixtures made (module-scoped ones too) is not the test's, and stays to the end
        if self.state.target is not None:
            item.stash[_LEDGER_MARK] = self.state.target.test_begins()

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        mark = item.stash.get(_LEDGER_MARK, None)
        if self.state.target is not None and mark is not None:
            self.state.target.test_ended(mark)  # after the test's own fixtures: what it created may go

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.state.is_worker:
            log_report(self.state, report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus == pytest.ExitCode.INTERRUPTED and not self.state.is_worker:
            self.state.interrupted = True
            cause = interrupts.cause()
            self.state.weakenings.append(f"the run was interrupted ({cause}) before every test ran")
        try:
            _finish(self.state, session)
        except Exception as exc:  # the suite's own failure must not cost the results it already has
            _finish_after_failure(self.state, session, exc)


def _finish(state: RunState, session: pytest.Session) -> None:
    cleanup = state.target.cleanup() if state.target is not None else {}
    outside = state.recorder.outside.to_dict()
    throttled = state.target.client.throttled if state.target is not None else []
    sent = state.target.client.sent.value if state.target is not None else 0
    if state.is_worker:
        payload = state.redactor.obj(  # it also lands on disk (conformance.run.workers): masked like every output
            {
                "conformance_cleanup": cleanup,
                "conformance_outside": outside,
                "conformance_throttled": throttled[:50],
                "conformance_requests": sent,
            }
        )
        workers.hand_over(session.config, state.settings.report_dir, state.prefix, payload)
        return
    await_workers(state, session.config)
    state.requests += sent
    state.throttled.extend(throttled)
    if cleanup:
        state.cleanups.append(cleanup)
    merge_outside(state, state.redactor.obj(outside))
    state.record = build_record(state)
    write_reports(state)
    session.exitstatus = state.record.exit_code


def _finish_after_failure(state: RunState, session: pytest.Session, exc: Exception) -> None:
    reason = f"the suite failed while finishing the run: {type(exc).__name__}: {exc}"
    print(f"conformance: {state.redactor.text(reason)}", file=sys.stderr)
    if state.is_worker:
        return
    state.weakenings.append(reason)
    try:
        state.record = build_record(state)
        write_reports(state)
        session.exitstatus = max(1, state.record.exit_code)
    except Exception:
        session.exitstatus = 1


def _resolve_target(state: RunState) -> None:
    """Start the bundled reference server, or check that the given URL answers at all."""
    s = state.settings
    if s.base_url is None:
        from conformance.reference.server import start_server

        state.server = start_server()
        s.base_url = state.server.base_url
        s.ca_bundle = s.ca_bundle or state.server.ca_bundle
        s.api_key = state.server.keys[0]
        s.second_api_key = s.second_api_key or (state.server.keys[1] if len(state.server.keys) > 1 else None)
        s.sources.setdefault("base_url", "bundled reference server")
        return
    checked = s.base_url in CHECKED  # by `conformance run`, before pytest started: it said so on stderr
    problem = preflight(s, state.redactor)
    if problem and "TLS" in problem:
        state.fatal = tls_problem(problem)
        state.run_findings.append(Finding("TLS-2", state.fatal))
        if not checked:
            print(f"conformance: {untested_line(state.fatal)}", file=sys.stderr)
        return
    stop = f"target unreachable: {problem}" if problem else None
    if stop is None and not checked:
        stop = missing_paths(s, state.model, state.redactor)
    if stop:
        state.record = build_record(state, stopped=stop)
        write_reports(state)
        state.paths["html"] = write_page(state)
        names = ", ".join(path.name for path in state.paths.values())
        pytest.exit(f"conformance: {stop}; reports in {s.report_dir} ({names})", returncode=EXIT_UNREACHABLE)


RTT_PROBES = 4


def _probe(s: Settings, key: Credential | None, redactor: Redactor) -> Client:
    """A client of its own for a question asked before the run (close its session after)."""
    assert s.base_url is not None
    return Client(
        s.base_url, key, verify=s.verify, timeout=s.timeout, allow_http=s.allow_http, redactor=redactor, proxy=s.proxy
    )


def measure_rtt(s: Settings, redactor: Redactor) -> float | None:
    """The target's round trip in milliseconds: the median of unauthenticated requests on one kept-alive
    connection after the first (which pays the TCP and TLS handshakes). None when it does not answer."""
    assert s.base_url is not None
    probe = _probe(s, None, redactor)
    times = []
    try:
        for _ in range(RTT_PROBES):
            ex = probe.request("GET", "/", auth=None, observe=False)
            times.append(ex.elapsed * 1000)
    except TargetError:
        return None
    finally:
        probe.session.close()
    return round(statistics.median(times[1:]), 1)


CHECKED: set[str] = set()  # base URLs whose preflight (with its stderr line) `conformance run` did in this process


def tls_problem(reason: str) -> str:
    """TLS-2's finding for a target whose certificate does not validate, with the fix."""
    return f"{reason} (give the target's CA with --ca-bundle PEM, or --insecure to skip verification)"


def untested_line(fatal: str) -> str:
    """The one stderr line of a run whose target cannot be tested (its clauses are then ``not_verified``)."""
    return f"cannot test the target (TLS-2 fails, every other clause is not verified): {fatal}"


PATH_PROBES = 3  # described collection paths asked before the run


def probe_paths(model: TargetModel, limit: int = PATH_PROBES) -> list[str]:
    """Collection paths the description lists with a GET and no parameter left to fill (the top-level ones)."""
    described = model.description.get("paths")
    described = described if isinstance(described, dict) else {}
    out: list[str] = []
    for r in model.resources:
        path = r.collection_path
        if r.parent is not None or not path or "{" in path or path in out:
            continue
        item = described.get(r.described_collection_path or path)
        if isinstance(item, dict) and "get" in item:
            out.append(path)
    return out[:limit]


def missing_paths(s: Settings, model: TargetModel, redactor: Redactor) -> str | None:
    """Why the run stops when the base URL misses the API (``https://host`` for ``https://host/ga/api``): every
    described collection path asked, with the key, answered 404. Nothing else stops it: a 200, 401 or 403, a
    redirect, a 5xx or no answer at all says the paths may be there (a correct server never answers its own
    collection 404), and is judged in the run. A 404 proves nothing in either direction by its body: the
    bundled reference server itself answers paths outside its root with an enveloped 404."""
    assert s.base_url is not None
    paths = probe_paths(model)
    if not paths:
        return None
    key = Credential(s.api_key, "CONFORMANCE_API_KEY") if s.api_key else None
    probe = _probe(s, key, redactor)
    try:
        for path in paths:
            if probe.request("GET", path, observe=False).status != 404:
                return None
    except TargetError:
        return None
    finally:
        probe.session.close()
    asked = ", ".join(paths)
    return f"no described path answers at {s.base_url}: is the base URL right? (GET {asked}: 404)"


_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy")


def _proxy_hint(s: Settings) -> str:
    """A target out of reach while the environment names a proxy: the suite does not read it (on purpose: only
    what the user gives decides where requests, and keys, go)."""
    named = next((v for v in _PROXY_VARIABLES if os.environ.get(v)), None)
    if s.proxy or not named:
        return ""
    return f" ({named} is set, but the suite reads no proxy from the environment: give it with --proxy)"


def preflight(s: Settings, redactor: Redactor) -> str | None:
    """Why the target cannot be reached at all (None when it answers anything)."""
    assert s.base_url is not None
    probe = _probe(s, None, redactor)
    try:
        probe.request("GET", "/", auth=None)
    except TargetError as exc:
        return str(exc) + _proxy_hint(s)
    finally:  # kept alive, it would stay open beside every worker's: one more than --max-connections
        probe.session.close()
    return None

"""The pytest plugin (entry point ``pytest11``): options, clause markers, fixtures
and the hooks that turn a pytest run into a certification record.

It stays inert unless the session runs the shipped clause tests (``conformance
run``, ``pytest --pyargs conformance`` or a path inside ``conformance/suite``),
so installing the suite never changes anyone else's pytest runs.

Flow: configure (settings, model) -> sessionstart (target: the bundled reference
server or a preflight of the given URL) -> every response through the check layer
(:mod:`conformance.recorder`) -> findings ride on test reports (xdist-safe) ->
sessionfinish (cleanup, verdicts, reports, exit code).
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance import __version__
from conformance.checks import times
from conformance.checks.context import CheckContext
from conformance.http.client import Client, Ledger, TargetError
from conformance.http.exchange import Finding
from conformance.http.politeness import RateLimiter, per_worker_rps
from conformance.http.redact import Redactor
from conformance.model import DescriptionError, TargetModel, load_model
from conformance.run import interrupts, workers
from conformance.run.capture import Recorder
from conformance.run.config import OPTIONS, ConfigError, Settings, resolve, worker_count
from conformance.spec import catalogue
from conformance.suite._support.target import Ids, SetupFailed, Target, credential_pair, new_run_prefix
from conformance.verdicts.certifiability import CERTIFICATION_PROFILE, selection_weakenings, settings_weakenings
from conformance.verdicts.decide import RunRecord, TestRecord, certifiability, decide, exit_code
from conformance.verdicts.notes import notes_of
from conformance.verdicts.violation import ClauseViolation, find_violation

if TYPE_CHECKING:
    from conformance.reference.server import ServerHandle

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # conformance/
SUITE_DIR = PACKAGE_DIR / "suite"
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130
MESSAGE_CHARS = 3000
GAPS_CAP = 100  # distinct description gaps kept in the record
OBSERVATIONS_CAP = 50_000  # run-wide (instant, offset) pairs: far more than a certification run sees

STATE = pytest.StashKey["RunState"]()


# -- options and markers -----------------------------------------------------------------
BASE_URL_PLUGIN = "base_url"  # pytest-base-url's entry point name; it owns --base-url when installed


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Every option is ``--conformance-<name>`` (``--conformance-seed``, ...), except ``--base-url``, which is
    pytest-base-url's when that plugin is there (pytest-playwright and pytest-selenium bring it): the suite then
    reads that option instead of adding a second one, which would end every pytest run in argparse's conflict."""
    group = parser.getgroup("conformance", "conformance suite (see `conformance run --help`)")
    theirs = base_url_is_theirs(pluginmanager)
    for opt in OPTIONS:
        if opt.dest == "base_url" and theirs:
            continue
        kwargs: dict[str, Any] = {"dest": f"conformance_{opt.dest}", "help": opt.help}
        if opt.kind == "flag":
            kwargs.update(action="store_true", default=False)
        elif opt.kind == "list":
            kwargs.update(action="append", default=[], metavar=opt.metavar)
        else:
            kwargs.update(default=None, metavar=opt.metavar)
        group.addoption(opt.plugin_flag, **kwargs)


def base_url_is_theirs(pluginmanager: pytest.PytestPluginManager) -> bool:
    """Whether pytest-base-url defines ``--base-url`` in this pytest run (registered already, or about to be:
    entry points load in no fixed order)."""
    if pluginmanager.has_plugin(BASE_URL_PLUGIN):
        return True
    if pluginmanager.is_blocked(BASE_URL_PLUGIN) or os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    from importlib.util import find_spec

    return find_spec("pytest_base_url") is not None


def _cli_values(config: pytest.Config) -> dict[str, Any]:
    values = {opt.dest: config.getoption(f"conformance_{opt.dest}", None) for opt in OPTIONS}
    if values["base_url"] is None and _given_base_url(config):
        values["base_url"] = config.getoption("base_url", None)  # pytest-base-url's option
    return values


def _given_base_url(config: pytest.Config) -> bool:
    """``--base-url`` on this run's command line (or its addopts): pytest-base-url also fills its option from
    ``PYTEST_BASE_URL`` and its ini key, which name the vendor's own application, not the suite's target."""
    import shlex

    args = [str(a) for a in config.invocation_params.args]
    args += shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))
    args += [str(a) for a in config.getini("addopts")]
    return any(a == "--base-url" or a.startswith("--base-url=") for a in args)


def _is_suite_run(config: pytest.Config) -> bool:
    if "conformance_target" in getattr(config, "workerinput", {}):
        return True
    for arg in config.args:
        head = str(arg).split("::")[0]
        if config.option.pyargs and (head == "conformance" or head.startswith("conformance.suite")):
            return True
        path = Path(head).resolve()
        if path in (SUITE_DIR, PACKAGE_DIR) or SUITE_DIR in path.parents:
            return True
    return False


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config):
    """``--workers`` becomes pytest-xdist's ``-n`` here, before xdist reads it (a wrapper runs ahead of
    every plain implementation). Options the user gave xdist, ``--pdb`` and collection-only runs win."""
    _parallelize(config)
    return (yield)


def _parallelize(config: pytest.Config) -> None:
    wanted = config.getoption("conformance_workers", None)
    if wanted in (None, "") or hasattr(config, "workerinput") or not hasattr(config.option, "numprocesses"):
        return
    if config.option.numprocesses is not None or getattr(config.option, "tx", None):
        return
    if config.getoption("usepdb", False) or config.getoption("collectonly", False) or not _is_suite_run(config):
        return
    try:
        count = worker_count(wanted)
    except ConfigError:
        return  # pytest_configure reports it, on one line
    if count > 1:
        config.option.numprocesses = count


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for clause in catalogue.load():
        config.addinivalue_line("markers", f"{clause.marker}: {clause.id} ({clause.level}) {clause.title}")
    if not _is_suite_run(config):
        return
    try:
        settings = resolve(_cli_values(config))
    except ConfigError as exc:
        pytest.exit(f"conformance: {exc}", returncode=EXIT_USAGE)
    try:
        model = load_model(
            settings.openapi or str(_reference_description()),
            timeout=settings.timeout,
            verify=settings.verify,
            path_params=settings.path_params,
        )
    except DescriptionError as exc:
        pytest.exit(f"conformance: {exc}", returncode=EXIT_USAGE)
    state = RunState(config, settings, model)
    config.stash[STATE] = state
    config.pluginmanager.register(RunHooks(state), "conformance-run")
    if settings.budget.confirm:
        from conformance.run.confirm import Confirmer

        config.pluginmanager.register(Confirmer(settings.budget.confirm, state.recorder), "conformance-confirm")
    if not state.is_worker:
        state.run_findings.extend(description_findings(model))
        from conformance.report.bundle import description_documents

        parsed = (model.sha256, model.description)
        state.documents = description_documents(model.source, settings.timeout, settings.verify, parsed)
        report_dir = Path(settings.report_dir)
        try:
            report_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            pytest.exit(f"conformance: cannot create --report-dir {report_dir}: {exc.strerror}", returncode=EXIT_USAGE)
        if config.pluginmanager.hasplugin("html") and not getattr(config.option, "htmlpath", None):
            config.option.htmlpath = str(report_dir / "report.html")
            config.option.self_contained_html = True
        if getattr(config.option, "htmlpath", None):
            from conformance.report.html import HtmlMatrixPlugin

            config.pluginmanager.register(HtmlMatrixPlugin(lambda: state.record, state.redactor), "conformance-html")
    if state.is_worker or not getattr(config.option, "numprocesses", None):  # where tests run: not in a controller
        if getattr(config.option, "hypothesis_seed", None) is None and hasattr(config.option, "hypothesis_seed"):
            config.option.hypothesis_seed = state.seed
        _configure_hypothesis(state)


def description_findings(model: TargetModel) -> list[Finding]:
    """What the description itself shows before anything is sent: an ``enum`` that is a spec set plus vendor
    values (SPEC ambiguity 20) violates that set's ENUM clause; a response carrying an extra value confirms it
    (the check layer judges every response against the spec's set)."""
    out = []
    for resource in model.resources:
        for f in resource.fields.values():
            if f.enum_extras and f.enum_clause:
                extras = ", ".join(repr(v) for v in f.enum_extras)
                out.append(
                    Finding(
                        f.enum_clause,
                        f"the description's {resource.name}.{f.name} enumerates the spec's {f.enum_set} values and "
                        f"{extras}: values outside the spec's set",
                        None,
                        f"description::{resource.name}.{f.name}",
                        {"extra_values": list(f.enum_extras)},
                    )
                )
    return out


def _reference_description() -> Path:
    from conformance.spec import facts

    return facts.reference_openapi_path()


def _configure_hypothesis(state: RunState) -> None:
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    _use_user_cache_for_hypothesis()
    profile = state.target_profile
    settings.register_profile(
        "conformance",
        max_examples=profile.examples,
        deadline=None,
        database=DirectoryBasedExampleDatabase(str(Path(state.settings.report_dir) / ".hypothesis")),
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, *([] if state.settings.no_shrink else [Phase.shrink])],
        print_blob=False,  # its @reproduce_failure advice is for test authors; the run's seed replays it
        stateful_step_count=profile.stateful_steps,
    )
    settings.load_profile("conformance")
    from hypothesis import core

    core.global_force_seed = state.seed  # type: ignore[assignment]  # every property test and fuzzer of the run, whatever the plugin order


def _use_user_cache_for_hypothesis() -> None:
    """Hypothesis' Unicode tables (seconds to build) live in a per-user cache, not in the vendor's working tree.

    The example database stays in the report directory (it belongs to the run).
    """
    import os

    from hypothesis.configuration import set_hypothesis_home_dir

    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    home = base / "conformance" / "hypothesis"
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # read-only home: hypothesis falls back to its default
    set_hypothesis_home_dir(home)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# -- run state ---------------------------------------------------------------------------
class RunState:
    """Everything one process knows about the run."""

    def __init__(self, config: pytest.Config, settings: Settings, model: TargetModel) -> None:
        self.config = config
        self.settings = settings
        self.model = model
        self.workerinput = getattr(config, "workerinput", None)
        self.is_worker = self.workerinput is not None
        shared = (self.workerinput or {}).get("conformance_target", {})
        self.seed: int = (
            shared.get("seed")
            or settings.seed
            or _int_or_none(getattr(config.option, "hypothesis_seed", None))
            or random.getrandbits(32)
        )
        self.prefix: str = shared.get("prefix") or new_run_prefix()
        self.started = time.time()
        self.catalogue = catalogue.load()
        self.server: ServerHandle | None = None  # the bundled reference server, when we started it
        self.paths: dict[str, Path] = {}  # the reports written
        self.target: Target | None = None
        self.recorder = Recorder(CheckContext(model, settings.zone), settings.second_zone)
        self.tests: dict[str, TestRecord] = {}
        self.run_findings: list[Finding] = []
        self.observations: set[tuple[int, int]] = set()  # (instant, offset) of the first key's times, run-wide
        self.zone_candidates: list[str] | None = None
        self.gaps: dict[tuple[str, ...], dict[str, Any]] = {}  # description gaps, with how often each was seen
        self.cleanups: list[dict[str, Any]] = []
        self.workers_started: set[str] = set()  # xdist workers (gateway ids), in the controller
        self.workers_reported: set[str] = set()  # ... whose hand-over arrived
        self.fatal: str | None = None  # set when the target cannot be tested at all
        self.record: RunRecord | None = None
        self.weakenings: list[str] = []
        self.interrupted = False
        self.throttled: list[str] = []  # requests the target answered 429 and the suite retried
        self.outside_errors: dict[str, str] = {}  # check crashes on set-up and cleanup responses
        self.keyed: Counter = Counter()  # responses to requests with the first key: "sent", "401"
        self.documents: dict[str, str] = {}  # sha256 of each document of the description, read at the start
        self.deselected = 0  # tests dropped from the run by any selection (-k, -m, --lf, --clause, plugins)
        self.clause_deselected = 0  # ... of which by --clause
        if shared:
            settings.base_url = shared["base_url"]
            settings.api_key = shared["api_key"]
            settings.second_api_key = shared.get("second_api_key")
            settings.ca_bundle = shared.get("ca_bundle")
            self.fatal = shared.get("fatal")

    def add_gaps(self, gaps: list[dict[str, Any]]) -> None:
        for gap in gaps:
            key = (gap["resource"], gap["method"], str(gap["version"]), gap["body"])
            entry = self.gaps.setdefault(key, {**gap, "seen": 0})
            entry["seen"] += 1

    def observe(self, pairs: Any) -> None:
        """Merge one test's (instant, offset) observations for the run-wide TIME-3 zone check."""
        room = OBSERVATIONS_CAP - len(self.observations)
        if room > 0:
            self.observations.update((int(t), int(o)) for t, o in list(pairs)[:room])

    @property
    def target_profile(self):
        return self.settings.budget

    @property
    def redactor(self) -> Redactor:
        return Redactor([self.settings.api_key, self.settings.second_api_key])

    def connect(self) -> None:
        s = self.settings
        first, second = credential_pair(s)
        ledger = Ledger(self.prefix)
        worker = (self.workerinput or {}).get("workerid", "")
        ids = Ids(self.prefix, worker.replace("gw", "w") if worker else "")
        pacer = None
        if s.max_rps:
            workers = int((self.workerinput or {}).get("workercount", 1))
            pacer = RateLimiter(per_worker_rps(s.max_rps, workers))
        assert s.base_url is not None  # resolved at session start (the bundled server's, or the given one)
        client = Client(
            s.base_url,
            first,
            verify=s.verify,
            timeout=s.timeout,
            allow_http=s.allow_http,
            redactor=self.redactor,
            observer=self.recorder.observe,
            ledger=ledger,
            pacer=pacer,
        )
        other = client.with_credential(second) if second else None
        self.target = Target(s, self.model, client, other, ledger, ids, on_gap=self.recorder.gap)


class RunHooks:
    """The hooks of an active run, registered as one plugin object holding its state."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if not self.state.is_worker:
            _resolve_target(self.state)
        self.state.connect()

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
        }
        state.workers_started.add(node.gateway.id)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        handed = workers.received(getattr(node, "workeroutput", {}) or {})
        if handed is not None:
            self.state.workers_reported.add(node.gateway.id)
            _take_over(self.state, handed)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.state.deselected += len(items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.state.is_worker:
            _log_report(self.state, report)

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


def _finish_after_failure(state: RunState, session: pytest.Session, exc: Exception) -> None:
    reason = f"the suite failed while finishing the run: {type(exc).__name__}: {exc}"
    print(f"conformance: {state.redactor.text(reason)}", file=sys.stderr)
    if state.is_worker:
        return
    state.weakenings.append(reason)
    try:
        state.record = _build_record(state)
        _write_reports(state)
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
    problem = preflight(s, state.redactor)
    if problem:
        text = problem
        if "TLS" in text:
            state.fatal = f"{text} (give the target's CA with --ca-bundle PEM, or --insecure to skip verification)"
            state.run_findings.append(Finding("TLS-2", state.fatal))
            return
        state.record = _build_record(state, unreachable=text)
        _write_reports(state)
        pytest.exit(f"conformance: target unreachable: {text}", returncode=EXIT_UNREACHABLE)


def preflight(s: Settings, redactor: Redactor) -> str | None:
    """Why the target cannot be reached at all (None when it answers anything)."""
    assert s.base_url is not None
    probe = Client(s.base_url, None, verify=s.verify, timeout=s.timeout, allow_http=s.allow_http, redactor=redactor)
    try:
        probe.request("GET", "/", auth=None)
    except TargetError as exc:
        return str(exc)
    return None


def write_unreachable(config_like: Any, s: Settings, model: TargetModel, reason: str) -> None:
    """The reports of a run that never reached its target (all clauses ``error``)."""
    state = RunState.__new__(RunState)
    RunState.__init__(state, config_like, s, model)
    state.record = _build_record(state, unreachable=reason)
    _write_reports(state)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    selected = state.settings.selected_clauses
    if selected is None:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        (keep if set(_clauses_of(item)) & selected else drop).append(item)
    if drop:
        state.clause_deselected = len(drop)
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _clauses_of(item: pytest.Item) -> list[str]:
    out = []
    for mark in item.iter_markers():
        cid = catalogue.clause_id_from_marker(mark.name)
        if cid and cid not in out:
            out.append(cid)
    return out


# -- per-test capture --------------------------------------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    state = item.config.stash.get(STATE, None)
    if state is not None:
        state.recorder.begin(item.nodeid)
    yield
    if state is not None:
        state.recorder.end()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Attach the test's result for the controller as ``report.conformance`` (JSON text: see
    :mod:`conformance.workers`). The outermost wrapper, so it sees what every other plugin added to the
    report; a failure of its own is this test's ``error``, never the run's ``INTERNALERROR``."""
    outcome = yield
    state = item.config.stash.get(STATE, None)
    if state is None:
        return
    report = outcome.get_result()
    clauses = _clauses_of(item)
    try:
        info = _test_result(state, item, call, report, clauses)
        _redact_report(item.config, report, state.redactor)
        report.conformance = workers.to_wire(info)
    except Exception as exc:
        report.conformance = workers.to_wire(_suite_error(clauses, "recording this test's result", exc))
    if state.is_worker:
        problem = workers.unsendable(item.config, report)
        if problem is not None:
            _make_sendable(item.config, report)
            reason = f"the test's data could not be handed to the controller ({problem})"
            report.conformance = workers.to_wire(
                {"clauses": clauses, "kind": "error", "message": reason, "when": call.when}
            )


def _test_result(
    state: RunState, item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport, clauses: list[str]
) -> dict[str, Any]:
    redactor = state.redactor
    info: dict[str, Any] = {"clauses": clauses}
    if call.excinfo is not None and report.failed:
        violation = find_violation(call.excinfo.value)
        if violation is not None:
            info["kind"] = "violation"
            info["violation"] = {
                "clause": violation.clause,
                "evidence": redactor.obj(violation.exchange.evidence()) if violation.exchange else None,
            }
        elif call.excinfo.errisinstance(SetupFailed):
            info["kind"] = "setup"
        else:
            info["kind"] = "error"
            info["traceback"] = _suite_traceback(call.excinfo, redactor)
        info["message"] = _message(call.excinfo, violation, redactor)
    elif report.skipped and isinstance(report.longrepr, tuple):
        info["message"] = redactor.text(str(report.longrepr[2]))
    if call.when == "teardown" and state.recorder.current is not None:
        info["capture"] = redactor.obj(state.recorder.current.to_dict())
    if call.when == "teardown":
        info["notes"] = redactor.obj(notes_of(report))
    return info


TRACEBACK_CHARS = 6000
TRACEBACK_FRAMES = 12


def _suite_traceback(excinfo: pytest.ExceptionInfo, redactor: Redactor) -> str:
    """The last frames of an exception that is not a clause violation, for the run record: where the suite (or a
    test's precondition) failed, so that an ``error`` can be reported and fixed. Empty when the target could not
    be reached (its account is the message). Formatted by :mod:`traceback`, which reads lines, not parse trees:
    a target failing every request must not make each failure cost a parse of its modules."""
    import traceback

    if excinfo.errisinstance(TargetError):
        return ""
    lines = traceback.format_tb(excinfo.tb)[-TRACEBACK_FRAMES:]
    text = "".join(lines) + "".join(traceback.format_exception_only(excinfo.type, excinfo.value))
    return redactor.text(text[-TRACEBACK_CHARS:])


def _suite_error(clauses: list[str], doing: str, exc: BaseException) -> dict[str, Any]:
    """The result of a test the suite itself could not record: its clauses are ``error``, with the reason."""
    return {"clauses": clauses, "kind": "error", "message": f"the suite failed {doing}: {type(exc).__name__}: {exc}"}


def _make_sendable(config: pytest.Config, report: pytest.TestReport) -> None:
    """Drop what xdist cannot send of a report: each attribute whose serialized form execnet refuses (other
    plugins' additions, where unsendable values come from), and the longrepr's structure (kept as text)."""
    data = config.hook.pytest_report_to_serializable(config=config, report=report) or {}
    for name, value in data.items():
        if name in vars(report) and name != "longrepr" and not workers.sendable(value):
            delattr(report, name)
    if report.longrepr is not None and not workers.sendable(data.get("longrepr")):
        report.longrepr = str(report.longrepr)


def _redact_report(config: pytest.Config, report: pytest.TestReport, redactor: Redactor) -> None:
    """Mask the keys in what pytest itself prints of a test: the traceback of a failure shows every frame's
    arguments (the client's request headers hold ``Authorization: Basic <key>``; ``--showlocals`` shows more),
    and captured output may hold an echo. The terminal, junit and html all render it from the report.
    The report is masked through its serialized form (as xdist ships it), so every string of it is covered."""
    if not redactor.active:
        return
    if report.sections:
        report.sections = [(title, redactor.text(text)) for title, text in report.sections]
    if report.longrepr is None:
        return
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, message)
        path, line, message = report.longrepr
        report.longrepr = (path, line, redactor.text(str(message)))
        return
    data = config.hook.pytest_report_to_serializable(config=config, report=report)
    if data is None or "longrepr" not in data:
        report.longrepr = redactor.text(str(report.longrepr))
        return
    data["longrepr"] = redactor.obj(data["longrepr"])
    clean = config.hook.pytest_report_from_serializable(config=config, data=data)
    report.longrepr = clean.longrepr if clean is not None else redactor.text(str(report.longrepr))


HYPOTHESIS_NOTES = ("Falsifying example", "You can reproduce this example", "@reproduce_failure", "Failing test case")


def _message(excinfo: pytest.ExceptionInfo, violation: ClauseViolation | None, redactor: Redactor) -> str:
    """What went wrong, in the suite's words: a violation's own ``[CLAUSE] message``, any other exception as
    ``Type: message``. Hypothesis' notes (its falsifying example, ``@reproduce_failure``, which a vendor
    running the installed suite cannot use) are left out: the record's seed and each finding's curl line
    replay it."""
    if violation is not None:
        text = str(violation)
    elif type(excinfo.value).__name__ == "Unsatisfiable":
        text = (
            "no generated example could be judged: the target refused every body by rules its description does "
            "not state (see the description gaps)"
        )
    else:
        exc = excinfo.value
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(HYPOTHESIS_NOTES))
    if len(text) > MESSAGE_CHARS:
        text = text[:MESSAGE_CHARS] + " …"
    return redactor.text(text)


def _log_report(state: RunState, report: pytest.TestReport) -> None:
    wire = getattr(report, "conformance", None)
    if wire is None:
        if report.failed and report.when not in ("setup", "call", "teardown"):  # xdist: the worker died in it
            _lost(state, report)
        return
    try:
        info = workers.from_wire(wire)
        _merge_result(state, report, info)
    except Exception as exc:  # a result the suite cannot read is this test's error, not the run's end
        rec = state.tests.setdefault(report.nodeid, TestRecord(report.nodeid, []))
        rec.outcome, rec.message = "error", _suite_error([], "reading this test's result", exc)["message"]


def _lost(state: RunState, report: pytest.TestReport) -> None:
    """A test whose worker died while running it (xdist reports it for the worker): its clauses are ``error``
    with xdist's account, instead of silently ``not_verified``."""
    rec = state.tests.setdefault(report.nodeid, TestRecord(report.nodeid, _clauses_by_nodeid(report.nodeid)))
    rec.outcome, rec.message = "error", f"the suite lost this test: {report.longrepr}"


def _clauses_by_nodeid(nodeid: str) -> list[str]:
    """The clauses of a suite test known only by its node id (the controller of a parallel run collects no
    tests): read from the test function's and its module's markers."""
    import importlib

    path, _, name = nodeid.partition("::")
    module_name = "conformance.suite." + Path(path).stem
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return []
    obj: Any = module
    for part in name.split("[")[0].split("::"):
        obj = getattr(obj, part, None)
    marks = [*getattr(module, "pytestmark", []), *getattr(obj, "pytestmark", [])]
    out: list[str] = []
    for mark in marks:
        cid = catalogue.clause_id_from_marker(mark.name)
        if cid and cid not in out:
            out.append(cid)
    return out


def _merge_result(state: RunState, report: pytest.TestReport, info: dict[str, Any]) -> None:
    rec = state.tests.setdefault(report.nodeid, TestRecord(report.nodeid, info["clauses"]))
    rec.duration += report.duration
    if report.failed or info.get("kind") == "error":
        kind = info.get("kind", "error")
        if report.when != "call" or kind in ("error", "setup"):
            if rec.outcome != "failed":
                rec.outcome = "error"
                rec.message = info.get("message", "")
                rec.traceback = info.get("traceback", "")
        else:
            rec.outcome = "failed"
            rec.message = info.get("message", "")
            rec.violation = info.get("violation")
    elif report.skipped and rec.outcome == "passed":
        rec.outcome = "skipped"
        rec.message = info.get("message", "")
    capture = info.get("capture")
    if capture:
        rec.findings.extend(Finding.from_dict(f) for f in capture["findings"])
        for cid, n in capture["checked"].items():
            rec.checked[cid] = rec.checked.get(cid, 0) + n
        for cid, reason in capture.get("errors", {}).items():
            rec.check_errors.setdefault(cid, reason)
        state.keyed.update(capture.get("keyed", {}))
        state.observe(capture.get("observations", []))
        state.add_gaps(capture.get("gaps", []))
    for note in info.get("notes", []):
        if note not in rec.notes:
            rec.notes.append(note)
    if info.get("confirmation"):
        rec.confirmation = info["confirmation"]


# -- the end of the run ---------------------------------------------------------------
def _take_over(state: RunState, output: dict[str, Any]) -> None:
    """Merge one worker's hand-over (conformance.workers) into the controller's state."""
    state.throttled.extend(output.get("conformance_throttled", []))
    if "conformance_cleanup" in output:
        state.cleanups.append(output["conformance_cleanup"])
        _merge_outside(state, output.get("conformance_outside") or {})


def _merge_outside(state: RunState, outside: dict[str, Any]) -> None:
    """What the check layer found on a process's set-up and cleanup responses (outside any test)."""
    state.run_findings.extend(Finding.from_dict(f) for f in outside.get("findings", []))
    state.outside_errors.update(outside.get("errors", {}))
    state.keyed.update(outside.get("keyed", {}))
    state.observe(outside.get("observations", []))
    state.add_gaps(outside.get("gaps", []))


def _await_workers(state: RunState, config: pytest.Config) -> None:
    """The hand-overs of workers xdist did not deliver (an interrupted run): read from disk once they are down."""
    silent = state.workers_started - state.workers_reported
    if silent:
        workers.stop_workers(config)
        found, missing = workers.unreported(state.settings.report_dir, state.prefix, silent)
        for output in found:
            _take_over(state, output)
        for worker in missing:
            state.cleanups.append(
                {"leftover": [f"objects created by worker {worker}: it ended without reporting its cleanup"]}
            )
    if state.workers_started:
        workers.tidy(state.settings.report_dir, state.prefix)


def _finish(state: RunState, session: pytest.Session) -> None:
    cleanup = state.target.cleanup() if state.target is not None else {}
    outside = state.recorder.outside.to_dict()
    throttled = state.target.client.throttled if state.target is not None else []
    if state.is_worker:
        payload = state.redactor.obj(  # it also lands on disk (conformance.workers): masked like every output
            {"conformance_cleanup": cleanup, "conformance_outside": outside, "conformance_throttled": throttled[:50]}
        )
        workers.hand_over(session.config, state.settings.report_dir, state.prefix, payload)
        return
    _await_workers(state, session.config)
    state.throttled.extend(throttled)
    if cleanup:
        state.cleanups.append(cleanup)
    _merge_outside(state, state.redactor.obj(outside))
    state.record = _build_record(state)
    _write_reports(state)
    session.exitstatus = state.record.exit_code


def _zone_consistency(state: RunState) -> TestRecord | None:
    """TIME-3 across the run when no zone was given: one IANA zone must fit every (instant, offset) the first
    key's responses showed, in every test (each test alone may be consistent: a server can use one zone for
    one resource and another for the next). The zones that fit are recorded as ``run.zone_candidates``."""
    if state.settings.zone is not None:
        return None
    state.zone_candidates = times.candidate_zones(state.observations) if state.observations else []
    if not state.observations:
        return None
    rec = TestRecord("run::time-zone-consistency", [], checked={"TIME-3": len(state.observations)})
    if not state.zone_candidates:
        closest = times.closest_zones(state.observations)
        near = "; ".join(f"{times.name_zones(zones)} fit {fits} of {of}" for zones, fits, of in closest)
        message = f"no single IANA zone fits the {len(state.observations)} (instant, offset) pairs of this run"
        if closest:
            best = closest[0][0][0]
            misses = [pair for pair in sorted(state.observations) if not times.fits(best, *pair)]
            strays = ", ".join(times.describe_pair(*pair) for pair in misses[:6])
            message += f"; closest: {near}; {best} does not fit {len(misses)} of them, e.g. {strays}"
        rec.findings.append(Finding("TIME-3", message, None, rec.nodeid, {"closest_zones": near}))
    return rec


def _build_record(state: RunState, unreachable: str | None = None) -> RunRecord:
    s = state.settings
    tests = list(state.tests.values())
    zone_rec = _zone_consistency(state) if unreachable is None else None
    if zone_rec is not None:
        tests.append(zone_rec)
    if state.outside_errors:
        tests.append(TestRecord("run::set-up-and-cleanup", [], check_errors=dict(state.outside_errors)))
    selected = s.selected_clauses
    verdicts = decide(state.catalogue, tests, state.run_findings, selected=selected)
    weakenings = [*state.weakenings, *settings_weakenings(s), *_selection_weakenings(state)]
    waived = _apply_waivers(state, verdicts) if not unreachable else []
    if unreachable:
        for cv in verdicts:
            cv.verdict, cv.reason = "error", f"target unreachable: {unreachable}"
        weakenings.append(f"target unreachable: {unreachable}")
    ok, reasons = certifiability(verdicts, weakenings)
    code = EXIT_UNREACHABLE if unreachable else exit_code(verdicts)
    if state.interrupted:
        code = EXIT_INTERRUPTED
    leftover = [item for c in state.cleanups for item in c.get("leftover", [])]
    identity = {
        "target": s.base_url,
        "reference_server": state.server is not None,
        "suite_version": __version__,
        "spec_revision": state.catalogue.spec_revision,
        "profile": s.profile,
        "seed": state.seed,
        "started_at": datetime.fromtimestamp(state.started, UTC).isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - state.started, 2),
        "openapi": {"source": state.model.source, "sha256": state.model.sha256, "documents": state.documents},
        "org_timezone": s.org_timezone,
        "second_org_timezone": s.second_org_timezone,
        "zone_candidates": state.zone_candidates,
        "description_gaps": sorted(state.gaps.values(), key=lambda g: (g["resource"], g["method"], g["body"]))[
            :GAPS_CAP
        ],
        "id_prefix": state.prefix,
        "throttled": {"retries": len(state.throttled), "sample": state.throttled[:10]},
        "hints": _hints(state),
        "settings": s.public(),
        "pytest_args": state.redactor.obj(passthrough_args(state.config)),
        "workers": _worker_count(state.config),
        "python": sys.version.split()[0],
        "platform": sys.platform,
        "tzdata": times.tzdata_version(),
    }
    return RunRecord(
        identity=identity,
        clauses=verdicts,
        tests=tests,
        certifiable=ok,
        reasons=reasons,
        cleanup={
            "prefix": state.prefix,
            "attempted": sum(c.get("attempted", 0) for c in state.cleanups),
            "deleted": sum(c.get("deleted", 0) for c in state.cleanups),
            "leftover": leftover,
        },
        exit_code=code,
        waivers=waived,
    )


def _hints(state: RunState) -> list[str]:
    """What the user most likely has to fix, when the record shows a telltale pattern."""
    hints = []
    sent, refused = state.keyed.get("sent", 0), state.keyed.get("401", 0)
    if sent >= 5 and refused == sent:
        hints.append(
            f"all {sent} requests sent with the API key got 401: check CONFORMANCE_API_KEY "
            "(the organization's key exactly as its page shows it; the suite sends `Authorization: Basic <key>`)"
        )
    return hints


def _apply_waivers(state: RunState, verdicts: list) -> list[dict[str, Any]]:
    if not state.settings.waivers:
        return []
    from conformance.verdicts import waivers

    return waivers.apply(verdicts, waivers.load(state.settings.waivers), datetime.now(UTC).date())


def _selection_weakenings(state: RunState) -> list[str]:
    config = state.config
    option = getattr(config, "option", None)
    args = [str(a) for a in getattr(config, "args", [])]
    if option is None or not hasattr(config, "invocation_params"):
        return []  # the record of a run that never started pytest (target unreachable)
    whole = any(_covers_suite(a, bool(getattr(option, "pyargs", False))) for a in args)
    return selection_weakenings(option, args, whole, state.deselected - state.clause_deselected)


def _covers_suite(arg: str, pyargs: bool) -> bool:
    if "::" in arg:
        return False
    if pyargs and arg in ("conformance", "conformance.suite"):
        return True
    return Path(arg).resolve() in (SUITE_DIR, PACKAGE_DIR)


def _write_reports(state: RunState) -> None:
    from conformance.report import write_all

    assert state.record is not None
    state.paths = write_all(state.record, Path(state.settings.report_dir), state.redactor)
    html = getattr(state.config.option, "htmlpath", None)
    if html:
        state.paths["html"] = Path(html)


def _write_bundle(state: RunState) -> None:
    """A certified run's submission bundle; written last, once report.html is final."""
    from conformance.report import certification
    from conformance.report.bundle import BundleError, write_bundle

    assert state.record is not None
    try:
        path = write_bundle(
            Path(state.settings.report_dir), certification.to_json(state.record, state.redactor), state.redactor
        )
    except BundleError as exc:
        print(f"conformance: no bundle.zip: {exc}", file=sys.stderr)
        return
    print(f"conformance: submission bundle {path}")


def _worker_count(config: pytest.Config) -> int:
    """The xdist workers that ran the tests (1: this process alone)."""
    return max(1, int(getattr(config.option, "numprocesses", None) or 1))


def passthrough_args(config: pytest.Config) -> list[str]:
    """The pytest options the user added (after ``--``): everything but what ``conformance run`` itself passes."""
    own = {opt.plugin_flag: opt.kind for opt in OPTIONS}
    params = getattr(config, "invocation_params", None)  # absent when the run never reached pytest
    args, out, i = list(params.args if params else ()), [], 0
    while i < len(args):
        arg = str(args[i])
        if arg in ("--pyargs", "conformance.suite"):
            i += 1
        elif arg in ("-c", "-o") and i + 1 < len(args) and (arg == "-c" or str(args[i + 1]).startswith("cache_dir=")):
            i += 2
        elif arg in own:
            i += 1 if own[arg] == "flag" else 2
        else:
            out.append(arg)
            i += 1
    return out


def pytest_terminal_summary(terminalreporter: Any) -> None:
    state = terminalreporter.config.stash.get(STATE, None)
    if state is None or state.is_worker or state.record is None:
        return
    from conformance.report.terminal import render

    terminalreporter.write_line("")
    terminalreporter.write(render(state.record, state.paths, redactor=state.redactor, color=terminalreporter.hasmarkup))


@pytest.hookimpl(tryfirst=True)
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo) -> None:
    """Before pytest prints the interrupt: a traceback it cannot print would end the run with exit 1, not 130."""
    if excinfo is not None:
        interrupts.repair_traceback(excinfo)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    html = getattr(config.option, "htmlpath", None)
    if html and not state.is_worker and Path(html).exists():
        from conformance.report.html import redact_report

        redact_report(Path(html), state.redactor)
    if not state.is_worker and state.record is not None:
        if state.settings.profile == CERTIFICATION_PROFILE:
            _write_bundle(state)
        else:  # an older certified run's bundle would not match the reports next to it
            (Path(state.settings.report_dir) / "bundle.zip").unlink(missing_ok=True)
    if state.server is not None:
        state.server.stop()

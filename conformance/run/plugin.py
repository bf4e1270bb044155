"""The pytest plugin (entry point ``pytest11``): options, clause markers, fixtures
and the hooks that turn a pytest run into a certification record.

It stays inert unless the session runs the shipped clause tests (``conformance
run``, ``pytest --pyargs conformance`` or a path inside ``conformance/suite``),
so installing the suite never changes anyone else's pytest runs.

Flow: configure (settings, model) -> sessionstart (target: the bundled reference
server or a preflight of the given URL) -> every response through the check layer
(:mod:`conformance.run.capture`) -> findings ride on test reports (xdist-safe) ->
sessionfinish (cleanup, verdicts, reports, exit code).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from conformance.http.redact import Redactor
from conformance.model import DescriptionError, load_model
from conformance.run import interrupts
from conformance.run.config import OPTIONS, ConfigError, resolve, worker_count
from conformance.run.record import description_findings, write_bundle
from conformance.run.results import ResultCapture, clauses_of
from conformance.run.session import RunSession, measure_rtt
from conformance.run.state import PACKAGE_DIR, RTT_MS, STATE, SUITE_DIR, RunState, configure_hypothesis
from conformance.spec import catalogue
from conformance.verdicts.certifiability import CERTIFICATION_PROFILE

EXIT_USAGE = 2


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
        settings = resolve(_cli_values(config))
    except ConfigError:
        return  # pytest_configure reports it, on one line
    rtt = None
    if wanted == "auto" and settings.base_url:  # a given target: is it near (CPU-bound run) or far?
        rtt = measure_rtt(settings, Redactor(settings.secrets))
        config.stash[RTT_MS] = rtt
    count = worker_count(wanted, rtt, settings.max_connections)
    if count > 1:
        config.option.numprocesses = count
        if config.option.dist == "no" and not config.option.distload:
            # Tests differ in length a hundredfold across a network (a chain of dependent requests against a
            # single probe): an idle worker takes half of a busy one's queue instead of waiting at the end.
            config.option.dist = "worksteal"


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
    config.pluginmanager.register(RunSession(state), "conformance-run")
    config.pluginmanager.register(ResultCapture(state), "conformance-results")
    if settings.budget.confirm:
        from conformance.run.confirm import Confirmer

        config.pluginmanager.register(Confirmer(settings.budget.confirm, state.recorder), "conformance-confirm")
    if not state.is_worker:
        from conformance.run.progress import Progress, progress_interval

        def write(line: str) -> None:  # the terminal reporter is registered after this hook (tryfirst) ran
            reporter = config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.ensure_newline()
                reporter.write_line(line)  # counts only: nothing of the target's

        every = progress_interval(os.environ)
        if every > 0:
            config.pluginmanager.register(Progress(write, every), "conformance-progress")
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
        configure_hypothesis(state)


def _reference_description() -> Path:
    from conformance.spec import facts

    return facts.reference_openapi_path()


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
        (keep if set(clauses_of(item)) & selected else drop).append(item)
    if drop:
        state.clause_deselected = len(drop)
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter: Any) -> None:
    state = terminalreporter.config.stash.get(STATE, None)
    if state is None or state.is_worker or state.record is None:
        return
    from conformance.report.terminal import render

    terminalreporter.write_line("")
    hidden = terminalreporter.config.getoption("tbstyle", "auto") == "no"
    terminalreporter.write(
        render(
            state.record,
            state.paths,
            redactor=state.redactor,
            color=terminalreporter.hasmarkup,
            tracebacks_hidden=hidden,
        )
    )


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
        from conformance.report.html_redact import redact_report

        redact_report(Path(html), state.redactor)
    if not state.is_worker and state.record is not None:
        if state.settings.profile == CERTIFICATION_PROFILE:
            write_bundle(state)
        else:  # an older certified run's bundle would not match the reports next to it
            (Path(state.settings.report_dir) / "bundle.zip").unlink(missing_ok=True)
    if state.server is not None:
        state.server.stop()

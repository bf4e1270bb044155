"""``conformance run | rerun | serve | clauses | report diff | report compare`` — a thin layer over pytest.

``run`` validates the contract's options (so bad input is one line and exit 2,
never a traceback), then hands everything to ``pytest.main`` on the shipped
clause tests; the plugin does the rest, exactly as ``pytest --pyargs conformance``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.run import interrupts
from conformance.run.config import OPTIONS, ConfigError, resolve
from conformance.run.options import TERMINAL_DEFAULTS
from conformance.spec import catalogue

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # Ctrl-C: what ran is reported, the run is not certifiable
SUITE_INI = Path(__file__).resolve().parent / "suite" / "pytest.ini"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line with exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"conformance: {message} (see `{self.prog} --help`)\n")


def _run_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="conformance run",
        description="Certify a server against SPEC.md; with no --base-url, the bundled reference server.",
        epilog="Keys: CONFORMANCE_API_KEY, CONFORMANCE_SECOND_API_KEY. Exit: 0 pass, 1 MUST failed, "
        "2 usage error, 3 target cannot be tested (unreachable, or no described path answers at the URL). "
        "Anything after `--` goes to pytest (`-- --tb=short` prints the tracebacks report.html holds).",
    )
    for opt in OPTIONS:
        if opt.kind == "flag":
            p.add_argument(opt.flag, dest=opt.dest, action="store_true", help=opt.help)
        elif opt.kind == "list":
            p.add_argument(opt.flag, dest=opt.dest, action="append", default=[], metavar=opt.metavar, help=opt.help)
        else:
            p.add_argument(opt.flag, dest=opt.dest, metavar=opt.metavar, help=opt.help)
    p.add_argument(
        "--show-config", action="store_true", help="print the effective settings and their sources, then exit"
    )
    return p


def show_config(settings) -> int:
    """The effective settings and where each came from (keys masked); nothing is sent."""
    public = settings.public()
    width = max(len(opt.flag) for opt in OPTIONS)
    for opt in OPTIONS:
        source = settings.sources.get(opt.dest, "default")
        print(f"{opt.flag:<{width}}  {public[opt.dest]!s:<40}  ({source})")
    return 0


def run(argv: list[str]) -> int:
    interrupts.arm()
    own, passthrough = _split(argv)
    args = _run_parser().parse_args(own)
    show = vars(args).pop("show_config", False)
    try:
        settings = resolve(vars(args))
    except ConfigError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if show:
        return show_config(settings)
    if settings.openapi and not passthrough_only_help(passthrough):
        problem = _description_problem(settings)
        if problem:
            print(f"conformance: {problem}", file=sys.stderr)
            return EXIT_USAGE
    if settings.base_url and not passthrough_only_help(passthrough):
        code = _preflight(settings)
        if code:
            return code
    import pytest

    pytest_args = [
        "--pyargs",
        "conformance.suite",
        "-c",
        str(SUITE_INI),
        "-o",
        f"cache_dir={Path(settings.report_dir).resolve() / '.pytest_cache'}",
    ]
    quiet = not _asks_for_tracebacks(passthrough)  # the clause matrix says what failed; report.html the rest
    if quiet:
        pytest_args += list(TERMINAL_DEFAULTS)
    args.workers = settings.workers  # also from the environment or a config file: the plugin turns it into -n
    for opt in OPTIONS:
        value = getattr(args, opt.dest)
        if opt.secret or value in (None, False, []):
            continue  # secrets stay out of argv (visible in `ps`); the plugin reads the environment
        if opt.kind == "flag":
            pytest_args.append(opt.plugin_flag)
        elif opt.kind == "list":
            for item in value:
                pytest_args += [opt.plugin_flag, item]
        else:
            pytest_args += [opt.plugin_flag, str(value)]
    import os

    for opt in OPTIONS:
        if opt.secret and getattr(args, opt.dest):
            os.environ[opt.env] = getattr(args, opt.dest)
    watch = _InternalErrors()
    code = int(pytest.main(pytest_args + passthrough, plugins=[watch, *([_QuietTerminal()] if quiet else [])]))
    if watch.seen and code == 3:  # pytest's INTERNALERROR shares 3 with the contract's "target unreachable"
        print(
            "conformance: the suite itself failed (INTERNALERROR above); this is not the target's fault",
            file=sys.stderr,
        )
        return 1
    return _exit_code(code)


class _InternalErrors:
    """Plugin object: notes an INTERNALERROR, so that pytest's exit code 3 for it is not read as the contract's
    3, target unreachable."""

    seen = False

    def pytest_internalerror(self, excrepr: object, excinfo: object) -> None:
        self.seen = True


class _QuietTerminal:
    """Plugin object: no tracebacks in the terminal. Each failure's report keeps its full traceback (pytest
    renders it with ``--tb``'s style when the test ends: report.html shows it), and only the terminal's
    summary, after the session, reads ``--tb=no``."""

    def pytest_sessionfinish(self, session: Any) -> None:
        option = session.config.option
        if getattr(option, "tbstyle", "auto") == "auto" and not getattr(option, "fulltrace", False):
            option.tbstyle = "no"


def _asks_for_tracebacks(passthrough: list[str]) -> bool:
    """``-- --tb=short`` (or ``--full-trace``, ``-l``, ``-r...``): the user's pytest terminal, not the quiet one."""
    return any(a.startswith(("--tb", "--full-trace", "--showlocals", "-r", "-l")) for a in passthrough)


def passthrough_only_help(passthrough: list[str]) -> bool:
    return any(a in ("-h", "--help", "--co", "--collect-only") for a in passthrough)


def _description_problem(settings) -> str | None:
    """Why the --openapi description cannot be used (file:line where it does not parse), before pytest starts."""
    from conformance.model import DescriptionError, load_model

    try:
        load_model(settings.openapi, timeout=settings.timeout, verify=settings.verify, path_params=settings.path_params)
    except DescriptionError as exc:
        return str(exc)
    return None


def _preflight(settings) -> int:
    """Exit 3 with one line, and reports written, when the target cannot be tested at all: nothing answers at
    the URL, or none of the described paths is there (a base URL without its path). A certificate that does not
    validate is TLS-2's verdict, judged in the run; one line says so."""
    from conformance.http.redact import Redactor
    from conformance.model import DescriptionError, load_model
    from conformance.run import session
    from conformance.run.record import EXIT_UNREACHABLE, write_unreachable
    from conformance.spec import facts

    redactor = Redactor(settings.secrets)
    reason = session.preflight(settings, redactor)
    session.CHECKED.add(settings.base_url)  # the run's own preflight then neither asks again nor says it twice
    if reason and "TLS" in reason:
        print(f"conformance: {session.untested_line(session.tls_problem(reason))}", file=sys.stderr)
        return 0
    try:
        model = load_model(
            settings.openapi or str(facts.reference_openapi_path()),
            timeout=settings.timeout,
            verify=settings.verify,
            path_params=settings.path_params,
        )
    except DescriptionError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    stop = f"target unreachable: {reason}" if reason else session.missing_paths(settings, model, redactor)
    if stop is None:
        return 0
    paths = write_unreachable(settings, model, stop)
    names = ", ".join(path.name for path in paths.values())
    print(f"conformance: {redactor.text(stop)}; reports in {settings.report_dir} ({names})", file=sys.stderr)
    return EXIT_UNREACHABLE


def _exit_code(code: int) -> int:
    """pytest's own codes mapped onto the contract (0, 1, 2, 3, 130)."""
    if code in (0, 1, 2, 3, EXIT_INTERRUPTED):
        return code
    if code == 4:  # pytest usage error, e.g. a bad passthrough option
        return EXIT_USAGE
    return 1


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


RERUN_REPORT_DIR = "reports/rerun"


# The rerunner's own settings (TLS trust, keys) may come from the environment as in `conformance run`; every
# other CONFORMANCE_* variable is set aside during a rerun, so that the repeated run is the bundle's.
def _rerun_environment(reference_server: bool) -> dict[str, str]:
    from conformance.report.bundle import RERUNNER_OWN

    own = {opt.env for opt in OPTIONS if opt.dest in RERUNNER_OWN}
    if reference_server:  # the fresh bundled server brings its own CA
        own -= {opt.env for opt in OPTIONS if opt.dest in ("ca_bundle", "insecure", "allow_http")}
    return {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_") or k in own}


def _rerun_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="conformance rerun",
        description="Repeat a submission bundle's run (same description, profile, seed, clauses, zones, budgets "
        "and pytest arguments), then show what changed against the bundle's certification.json.",
        epilog="Keys come from CONFORMANCE_API_KEY / CONFORMANCE_SECOND_API_KEY, never from the bundle. Exit: 0 no "
        "regression, 1 a clause regressed, 2 bad bundle or usage error, 3 target unreachable, 130 interrupted.",
    )
    p.add_argument("bundle", metavar="BUNDLE.zip", help="a bundle.zip written by a --profile certification run")
    p.add_argument("--base-url", metavar="URL", help="rerun against this URL instead of the bundle's target")
    p.add_argument(
        "--report-dir", metavar="DIR", default=RERUN_REPORT_DIR, help=f"reports go here ({RERUN_REPORT_DIR})"
    )
    p.add_argument("--ca-bundle", metavar="PEM", help="PEM file of CA certificates to verify the target with")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (not certifiable)")
    p.add_argument("--allow-http", action="store_true", help="allow a plain http:// base URL (not certifiable)")
    return p


def rerun(argv: list[str]) -> int:
    """``conformance rerun BUNDLE.zip``: verify, extract, repeat the run, diff against the bundle's record."""
    from conformance.report.bundle import RERUNNER_OWN, BundleError, extract, rerun_arguments
    from conformance.report.diff import main_diff

    interrupts.arm()
    args = _rerun_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="conformance-rerun-") as tmp:
        try:
            bundle = extract(Path(args.bundle), Path(tmp))
            options, pytest_args = rerun_arguments(bundle)
        except BundleError as exc:
            print(f"conformance rerun: {exc}", file=sys.stderr)
            return EXIT_USAGE
        info = bundle.info
        base_url = args.base_url or (None if info.get("reference_server") else info.get("target"))
        if base_url is None and not info.get("reference_server"):
            print("conformance rerun: the bundle names no target URL; give one with --base-url", file=sys.stderr)
            return EXIT_USAGE
        if base_url is None and (args.ca_bundle or args.insecure or args.allow_http):
            print(
                "conformance rerun: the bundle's run was against the bundled reference server, which brings its own "
                "CA; --ca-bundle, --insecure and --allow-http apply with --base-url",
                file=sys.stderr,
            )
            return EXIT_USAGE
        cli = {
            **options,
            "base_url": base_url,
            "report_dir": args.report_dir,
            "ca_bundle": args.ca_bundle,
            "insecure": args.insecure,
            "allow_http": args.allow_http,
        }
        environ = _rerun_environment(reference_server=base_url is None)
        try:
            settings = resolve(cli, environ=environ)
        except ConfigError as exc:
            print(f"conformance rerun: {exc}", file=sys.stderr)
            return EXIT_USAGE
        for opt in OPTIONS:  # a config file in the working directory must not change the repeated run
            source = settings.sources.get(opt.dest, "")
            if opt.dest not in RERUNNER_OWN and source.startswith("file "):
                print(
                    f"conformance rerun: {source[5:]} sets {opt.flag.lstrip('-')}, which the bundle's run did not "
                    "have; rerun from a directory without it",
                    file=sys.stderr,
                )
                return EXIT_USAGE
        where = base_url or "a fresh bundled reference server"
        print(
            f"conformance rerun: {info.get('profile')} run of {info.get('target')} (seed {info.get('seed')}, "
            f"suite {info.get('suite_version')}) repeated against {where}"
        )
        if info.get("suite_version") != __version__:
            print(
                f"conformance rerun: note: the bundle was made by suite {info.get('suite_version')}, this is "
                f"{__version__}; verdicts may differ for that reason alone",
                file=sys.stderr,
            )
        with _environment(environ):
            code = run([*_as_run_argv(cli), "--", *pytest_args])
        if code in (EXIT_USAGE, 3, EXIT_INTERRUPTED):
            return code
        print("")
        return main_diff([str(bundle.certification), str(Path(args.report_dir) / "certification.json")])


def _as_run_argv(values: dict[str, Any]) -> list[str]:
    """``conformance run`` options for the non-secret settings in ``values`` (dest -> value)."""
    out: list[str] = []
    for opt in OPTIONS:
        value = values.get(opt.dest)
        if opt.secret or value is None or value is False or value == []:
            continue
        if opt.kind == "flag":
            out.append(opt.flag)
        elif opt.kind == "list":
            for item in value:
                out += [opt.flag, str(item)]
        else:
            out += [opt.flag, str(value)]
    return out


@contextmanager
def _environment(environ: dict[str, str]) -> Iterator[None]:
    """``os.environ`` replaced for the duration (the plugin reads it), then restored."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def clauses(argv: list[str]) -> int:
    p = _Parser(prog="conformance clauses", description="List the clause catalogue.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--markdown", action="store_true", help="the published catalogue: clauses and what decides each")
    args = p.parse_args(argv)
    if args.markdown:
        from conformance.spec.catalogue_doc import markdown

        sys.stdout.write(markdown())
        return 0
    cat = catalogue.load()
    if args.json:
        print(json.dumps([c.__dict__ for c in cat], indent=2))
        return 0
    for c in cat:
        print(f"{c.id:<10} {c.level:<6} {c.title}")
    return 0


class _ClosedPipeSafe:
    """Standard output that outlives its reader: ``conformance clauses | head`` closes the pipe early. The rest
    of the output goes to the null device instead of ending the command (or a run, which must still write its
    reports and clean up) in a BrokenPipeError traceback."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_null()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_null()

    def _to_null(self) -> None:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, self._stream.fileno())
        os.close(null)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


REPORT_COMMANDS = {
    "diff": "what changed between two certification.json files (exit 1: a clause regressed)",
    "compare": "clause × run matrix of two or more certification.json files (HTML, JSON; exit 0)",
}


def report(argv: list[str]) -> int:
    """``conformance report diff|compare``; with no subcommand or ``--help``, their usage."""
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: conformance report {{{', '.join(REPORT_COMMANDS)}}} ...  (each has --help)")
        for name, text in REPORT_COMMANDS.items():
            print(f"  {name:<9} {text}")
        return 0 if argv else EXIT_USAGE
    if argv[0] == "diff":
        from conformance.report.diff import main_diff

        return main_diff(argv[1:])
    if argv[0] == "compare":
        from conformance.report.compare import main_compare

        return main_compare(argv[1:])
    expected = ", ".join(REPORT_COMMANDS)
    print(f"conformance: unknown command {'report ' + argv[0]!r}; expected report {{{expected}}}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    if not isinstance(sys.stdout, _ClosedPipeSafe):
        sys.stdout = _ClosedPipeSafe(sys.stdout)
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = "run, rerun, serve, clauses, report"
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: conformance {{{commands}}} ...  (conformance {__version__})")
        print("  run             certify a server (default: the bundled reference server)")
        print("  rerun           repeat a submission bundle's run and diff the verdicts")
        print("  serve           run the bundled reference server")
        print("  clauses         list the clause catalogue")
        print("  report diff     what changed between two certification.json files")
        print("  report compare  clause × run matrix of two or more certification.json files")
        return 0 if argv else EXIT_USAGE
    command, rest = argv[0], argv[1:]
    try:
        if command == "run":
            return run(rest)
        if command == "rerun":
            return rerun(rest)
        if command == "serve":
            from conformance.reference.server import main_serve

            return main_serve(rest)
        if command == "clauses":
            return clauses(rest)
        if command == "report":
            return report(rest)
        if command == "--version":
            print(__version__)
            return 0
    except KeyboardInterrupt:
        print("conformance: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"conformance: unknown command {' '.join(argv[:2])!r}; expected one of: {commands}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

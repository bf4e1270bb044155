"""``conformance run | serve | clauses | report diff`` — a thin layer over pytest.

``run`` validates the contract's options (so bad input is one line and exit 2,
never a traceback), then hands everything to ``pytest.main`` on the shipped
clause tests; the plugin does the rest, exactly as ``pytest --pyargs conformance``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from conformance import __version__, catalogue
from conformance.config import OPTIONS, ConfigError, resolve

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
        "2 usage error, 3 target unreachable. Anything after `--` goes to pytest.",
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


def _interruptible() -> None:
    """Ctrl-C and a CI job's cancellation (SIGTERM) both end the run the same way: cleanup,
    reports, exit 130. SIGINT is re-armed because a parent may have left it ignored (a
    non-interactive shell's background job, a test runner's worker process)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def run(argv: list[str]) -> int:
    _interruptible()
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
    code = pytest.main(pytest_args + passthrough)
    return _exit_code(int(code))


def passthrough_only_help(passthrough: list[str]) -> bool:
    return any(a in ("-h", "--help", "--co", "--collect-only") for a in passthrough)


def _preflight(settings) -> int:
    """Exit 3 with one line, and reports written, when nothing answers at the URL."""
    from types import SimpleNamespace

    from conformance import plugin, spec
    from conformance.model import DescriptionError, load_model
    from conformance.redact import Redactor

    redactor = Redactor([settings.api_key, settings.second_api_key])
    reason = plugin.preflight(settings, redactor)
    if reason is None or "TLS" in reason:
        return 0  # a TLS failure is TLS-2's verdict, judged in the run
    try:
        model = load_model(
            settings.openapi or str(spec.reference_openapi_path()), timeout=settings.timeout, verify=settings.verify
        )
    except DescriptionError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    config = SimpleNamespace(option=SimpleNamespace(htmlpath=None, hypothesis_seed=None))
    plugin.write_unreachable(config, settings, model, reason)
    print(f"conformance: target unreachable: {reason}", file=sys.stderr)
    return plugin.EXIT_UNREACHABLE


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


def clauses(argv: list[str]) -> int:
    p = _Parser(prog="conformance clauses", description="List the clause catalogue.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--markdown", action="store_true", help="the published catalogue: clauses and what decides each")
    args = p.parse_args(argv)
    if args.markdown:
        from conformance.published import markdown

        sys.stdout.write(markdown())
        return 0
    cat = catalogue.load()
    if args.json:
        print(json.dumps([c.__dict__ for c in cat], indent=2))
        return 0
    for c in cat:
        print(f"{c.id:<10} {c.level:<6} {c.title}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = "run, serve, clauses, report diff"
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: conformance {{{commands}}} ...  (conformance {__version__})")
        print("  run            certify a server (default: the bundled reference server)")
        print("  serve          run the bundled reference server")
        print("  clauses        list the clause catalogue")
        print("  report diff    compare two certification.json files")
        return 0 if argv else EXIT_USAGE
    command, rest = argv[0], argv[1:]
    try:
        if command == "run":
            return run(rest)
        if command == "serve":
            from conformance.reference.server import main_serve

            return main_serve(rest)
        if command == "clauses":
            return clauses(rest)
        if command == "report" and rest[:1] == ["diff"]:
            from conformance.report.diff import main_diff

            return main_diff(rest[1:])
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

"""The option table: every setting of a run, once, with its flag, its kind and its help. The CLI, the pytest
plugin (``--conformance-<name>``), the environment (``CONFORMANCE_<NAME>``) and ``conformance.toml`` all read
it (:mod:`conformance.run.config` resolves and validates the values)."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.spec.profiles import DEFAULT_PROFILE, PROFILES

MAX_AUTO_WORKERS = 4  # beyond this, workers' start-up outweighs the ~200 tests they share, and a vendor's
# staging server sees more concurrent clients than a politeness default should send
MAX_WORKERS = 64
DEFAULT_MAX_CONNECTIONS = 16
# A target farther than this round trip keeps the suite waiting on the network more than on its CPUs: then
# ``--workers auto`` runs one worker per this many milliseconds of round trip (up to MAX_REMOTE_WORKERS), so
# that requests overlap across the wire as they would from a client with many connections.
REMOTE_RTT_MS = 5.0
MAX_REMOTE_WORKERS = 8
# What `conformance run` adds to pytest's arguments unless the user asks for tracebacks after `--`: no short
# summary of failed test ids (the terminal shows the clause matrix and one line per failing clause; with no
# traceback either, see conformance.cli: the tracebacks are in report.html).
TERMINAL_DEFAULTS = ("-rN",)


@dataclass(frozen=True)
class Option:
    flag: str
    dest: str
    help: str
    kind: str = "str"  # str | float | int | count (an int or "auto") | flag | list
    metavar: str | None = None
    secret: bool = False
    pytest_flag: str | None = None  # its name under plain pytest, where that is not --conformance-<flag>

    @property
    def plugin_flag(self) -> str:
        """The option's name under plain pytest: ``--conformance-seed`` for ``--seed``, so that the suite's
        generic names (``--seed``, ``--profile``, ``--workers``, ``--timeout``) never collide with another
        plugin's in a vendor's environment. ``--base-url`` keeps its name (shared with pytest-base-url)."""
        return self.pytest_flag or "--conformance-" + self.flag.removeprefix("--")

    @property
    def env(self) -> str:
        return "CONFORMANCE_" + self.dest.upper()


OPTIONS: tuple[Option, ...] = (
    Option(
        "--base-url",
        "base_url",
        "API root of the target; omit to certify the bundled reference server",
        metavar="URL",
        pytest_flag="--base-url",
    ),
    Option(
        "--openapi",
        "openapi",
        "target description (file or URL); default: the bundled reference description",
        metavar="PATH_OR_URL",
    ),
    Option(
        "--org-timezone",
        "org_timezone",
        "IANA zone of the key's organization; TIME-3 is then checked exactly",
        metavar="TZ",
    ),
    Option(
        "--second-org-timezone",
        "second_org_timezone",
        "IANA zone of the second key's organization; its times are then checked exactly too",
        metavar="TZ",
    ),
    Option(
        "--path-param",
        "path_param",
        "value of a described path parameter the client does not choose, such as a tenant or environment "
        "segment (NAME=VALUE; repeatable)",
        kind="list",
        metavar="NAME=VALUE",
    ),
    Option("--ca-bundle", "ca_bundle", "PEM file of CA certificates to verify the target with", metavar="PEM"),
    Option("--insecure", "insecure", "do not verify TLS certificates (the run is not certifiable)", kind="flag"),
    Option(
        "--allow-http", "allow_http", "allow a plain http:// base URL (local development; not certifiable)", kind="flag"
    ),
    Option(
        "--proxy",
        "proxy",
        "HTTP proxy to reach the target through, http://[USER:PASSWORD@]HOST:PORT (TLS to the target runs end to "
        "end through it); the suite reads no HTTPS_PROXY, HTTP_PROXY or .netrc from the environment",
        metavar="URL",
    ),
    Option("--profile", "profile", f"budget: {' | '.join(PROFILES)} (default {DEFAULT_PROFILE})", metavar="NAME"),
    Option(
        "--seed",
        "seed",
        "hypothesis seed (default random; every report records it: pass it back to replay a run's examples)",
        kind="int",
        metavar="N",
    ),
    Option(
        "--examples",
        "examples",
        "hypothesis examples per property test (overrides the profile's)",
        kind="int",
        metavar="N",
    ),
    Option(
        "--fuzz-examples",
        "fuzz_examples",
        "schemathesis examples per operation and mode (overrides the profile's)",
        kind="int",
        metavar="N",
    ),
    Option(
        "--max-rps",
        "max_rps",
        "cap on requests per second, across all workers (for a shared staging server)",
        kind="float",
        metavar="N",
    ),
    Option(
        "--no-shrink",
        "no_shrink",
        "report failing examples as found, without shrinking them (faster when a target fails a lot)",
        kind="flag",
    ),
    Option(
        "--waivers",
        "waivers",
        "TOML file of expected deviations (clause, reason, expires): failing waived clauses do not fail the run",
        metavar="FILE",
    ),
    Option(
        "--confirm",
        "confirm",
        "re-run each failing test up to N times and record how often its findings reproduce "
        "(default 0; 2 in the certification profile)",
        kind="int",
        metavar="N",
    ),
    Option(
        "--workers",
        "workers",
        f"parallel worker processes (pytest-xdist): N, or auto = the usable CPUs, at most {MAX_AUTO_WORKERS} "
        "(default auto; 1 runs everything in one process)",
        kind="count",
        metavar="N|auto",
    ),
    Option(
        "--max-connections",
        "max_connections",
        f"most connections open to the target at once, across all workers (default {DEFAULT_MAX_CONNECTIONS})",
        kind="int",
        metavar="N",
    ),
    Option("--clause", "clause", "run only these clauses (ID, group or glob; repeatable)", kind="list", metavar="ID"),
    Option(
        "--report-dir",
        "report_dir",
        "where report.html, junit.xml and certification.json go (default reports/)",
        metavar="DIR",
    ),
    Option(
        "--timeout",
        "timeout",
        "seconds per request (default 10)",
        kind="float",
        metavar="S",
    ),
    Option(
        "--api-key",
        "api_key",
        "API key (prefer the CONFORMANCE_API_KEY environment variable)",
        secret=True,
        metavar="KEY",
    ),
    Option(
        "--second-api-key",
        "second_api_key",
        "a second organization's key, enables AUTH-4 (prefer CONFORMANCE_SECOND_API_KEY)",
        secret=True,
        metavar="KEY",
    ),
)

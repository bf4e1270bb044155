"""Settings of a run: one option table read by the CLI and the pytest plugin alike.

A value comes from the command line, else from its ``CONFORMANCE_*`` environment
variable, else from a config file in the working directory (``conformance.toml``, or
``[tool.conformance]`` in ``pyproject.toml``), else from the default. Validation turns bad input into a
:class:`ConfigError` carrying one line that names the fix.
"""

from __future__ import annotations

import base64
import difflib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from conformance.run.options import (
    DEFAULT_MAX_CONNECTIONS,
    MAX_AUTO_WORKERS,
    MAX_REMOTE_WORKERS,
    MAX_WORKERS,
    OPTIONS,
    REMOTE_RTT_MS,
    Option,
)
from conformance.spec import catalogue
from conformance.spec.profiles import DEFAULT_PROFILE, PROFILES, Profile

MAX_CONFIRM = 10  # re-runs per failing test; beyond this a flaky target is a flaky target


class ConfigError(Exception):
    """Bad input from the user: exit 2 with this one-line message."""


@dataclass
class Settings:
    base_url: str | None = None
    openapi: str | None = None
    org_timezone: str | None = None
    second_org_timezone: str | None = None
    path_param: list[str] = field(default_factory=list)
    ca_bundle: str | None = None
    insecure: bool = False
    allow_http: bool = False
    proxy: str | None = None
    profile: str = DEFAULT_PROFILE
    clause: list[str] = field(default_factory=list)
    seed: int | None = None
    examples: int | None = None
    fuzz_examples: int | None = None
    no_shrink: bool = False
    waivers: str | None = None
    confirm: int | None = None
    workers: str | int = "auto"
    max_rps: float | None = None
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    report_dir: str = "reports"
    timeout: float = 10.0
    api_key: str | None = None
    second_api_key: str | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def selected_clauses(self) -> set[str] | None:
        if not self.clause:
            return None
        return {c.id for c in catalogue.load().select(self.clause)}

    @property
    def path_params(self) -> dict[str, str]:
        """``--path-param`` as a mapping (validated: every entry is NAME=VALUE)."""
        return dict(entry.split("=", 1) for entry in self.path_param)

    @property
    def verify(self) -> bool | str:
        if self.insecure:
            return False
        return self.ca_bundle or True

    @property
    def budget(self) -> Profile:
        """The profile with the user's overrides applied."""
        base = PROFILES[self.profile]
        return replace(
            base,
            examples=self.examples or base.examples,
            fuzz_examples=self.fuzz_examples or base.fuzz_examples,
            confirm=base.confirm if self.confirm is None else self.confirm,
        )

    @property
    def zone(self) -> ZoneInfo | None:
        return ZoneInfo(self.org_timezone) if self.org_timezone else None

    @property
    def second_zone(self) -> ZoneInfo | None:
        return ZoneInfo(self.second_org_timezone) if self.second_org_timezone else None

    @property
    def secrets(self) -> list[str]:
        """What no output may show: the keys, and the proxy's password (and its Proxy-Authorization form)."""
        out = [v for v in (self.api_key, self.second_api_key) if v]
        parts = urlsplit(self.proxy) if self.proxy else None
        if parts is not None and parts.password:
            pair = f"{unquote(parts.username or '')}:{unquote(parts.password)}"
            out += [unquote(parts.password), parts.password, base64.b64encode(pair.encode()).decode()]
        return out

    def public(self) -> dict[str, Any]:
        """The effective settings with secrets masked, for reports and --show-config."""
        out: dict[str, Any] = {}
        for opt in OPTIONS:
            value = getattr(self, opt.dest)
            out[opt.dest] = ("***" if value else None) if opt.secret else value
        out["proxy"] = shown_proxy(self.proxy)
        return out


def resolve(cli: dict[str, Any], environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Merge command line, environment and config file into validated settings."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    file_values, file_name = read_config_file(Path.cwd() if cwd is None else cwd)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for opt in OPTIONS:
        given = cli.get(opt.dest)
        if given not in (None, False, []):
            values[opt.dest], sources[opt.dest] = given, "command line"
        elif env.get(opt.env):
            values[opt.dest], sources[opt.dest] = _from_env(opt, env[opt.env]), f"env {opt.env}"
        elif opt.dest in file_values:
            values[opt.dest], sources[opt.dest] = file_values[opt.dest], f"file {file_name}"
    settings = Settings(**values, sources=sources)
    validate(settings)
    return settings


CONFIG_FILE = "conformance.toml"


def read_config_file(cwd: Path) -> tuple[dict[str, Any], str | None]:
    """The settings in ``conformance.toml`` or ``pyproject.toml``'s ``[tool.conformance]``.

    Keys are the long option names (``base-url`` or ``base_url``). API keys are refused
    here: a file gets committed, the environment does not."""
    import tomllib

    for name, table_of in (
        (CONFIG_FILE, lambda d: d),
        ("pyproject.toml", lambda d: d.get("tool", {}).get("conformance")),
    ):
        path = cwd / name
        if not path.is_file():
            continue
        try:
            table = table_of(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{name}: not valid TOML ({exc})") from None
        if table is None:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: [tool.conformance] must be a table")
        return {
            _file_option(name, key).dest: _file_value(name, _file_option(name, key), v) for key, v in table.items()
        }, name
    return {}, None


def _file_option(file: str, key: str) -> Option:
    by_name = {opt.flag.lstrip("-"): opt for opt in OPTIONS}
    opt = by_name.get(key.replace("_", "-"))
    if opt is None:
        close = difflib.get_close_matches(key.replace("_", "-"), list(by_name), n=1)
        raise ConfigError(f"{file}: unknown setting {key!r}" + (f"; did you mean {close[0]!r}?" if close else ""))
    if opt.secret:
        raise ConfigError(f"{file}: {key} does not belong in a file; set {opt.env} in the environment")
    return opt


def _file_value(file: str, opt: Option, value: Any) -> Any:
    kinds: dict[str, type | tuple[type, ...]] = {
        "flag": bool,
        "list": (list, str),
        "int": int,
        "count": (int, str),
        "float": (int, float),
    }
    expected = kinds.get(opt.kind, str)
    if not isinstance(value, expected) or (opt.kind in ("int", "count") and isinstance(value, bool)):
        raise ConfigError(f"{file}: {opt.flag.lstrip('-')} has the wrong type ({type(value).__name__})")
    if opt.kind == "list":
        return [value] if isinstance(value, str) else [str(v) for v in cast(list, value)]
    return value


def _from_env(opt: Option, raw: str) -> Any:
    if opt.kind == "flag":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if opt.kind == "list":
        return [part for part in raw.replace(",", " ").split() if part]
    return raw


def worker_count(
    workers: str | int, rtt_ms: float | None = None, max_connections: int = DEFAULT_MAX_CONNECTIONS
) -> int:
    """How many xdist workers ``--workers`` asks for (1: none, everything in one process). ``auto`` follows the
    CPUs, and the target's round trip (``rtt_ms``) where the network, not the CPUs, is what the run waits on;
    never more workers than ``max_connections`` (each keeps one connection at least)."""
    if workers == "auto":
        cpus = _cpu_workers()
        wanted = cpus
        if rtt_ms is not None and rtt_ms >= REMOTE_RTT_MS:
            wanted = max(cpus, min(MAX_REMOTE_WORKERS, math.ceil(rtt_ms / REMOTE_RTT_MS)))
        return max(1, min(wanted, max_connections))
    try:
        count = int(workers)
    except (TypeError, ValueError):
        raise ConfigError(f"--workers must be a number or auto, not {workers!r}") from None
    if not 1 <= count <= MAX_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {MAX_WORKERS}, or auto")
    return count


def connections_per_worker(max_connections: int, workers: int) -> int:
    """Each worker's share of ``--max-connections`` (the pool it may open; threads beyond it wait)."""
    return max(1, max_connections // max(1, workers))


def _cpu_workers() -> int:
    try:
        usable = len(os.sched_getaffinity(0))  # a container's CPU set, not the host's
    except AttributeError:
        usable = os.cpu_count() or 1
    quota = cpu_quota()
    if quota is not None:
        usable = min(usable, quota)
    return max(1, min(usable, MAX_AUTO_WORKERS))


CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cpu_quota(path: Path = CPU_MAX) -> int | None:
    """The CPUs a cgroup v2 quota allows (a CI pod limited to 2 CPUs on a 64-CPU host: 2), rounded up;
    ``None`` without a quota."""
    try:
        quota, period = path.read_text().split()[:2]
        return max(1, -(-int(quota) // int(period)))
    except (OSError, ValueError):  # no cgroup v2 file, or "max": no quota
        return None


def validate(s: Settings) -> None:
    if s.profile not in PROFILES:
        raise ConfigError(f"unknown profile {s.profile!r}; choose one of {', '.join(PROFILES)}")
    for flag, dest, least in (
        ("--seed", "seed", 0),
        ("--examples", "examples", 1),
        ("--fuzz-examples", "fuzz_examples", 1),
        ("--confirm", "confirm", 0),
    ):
        value = getattr(s, dest)
        if value is None:
            continue
        try:
            setattr(s, dest, int(value))
        except (TypeError, ValueError):
            raise ConfigError(f"{flag} must be an integer, not {value!r}") from None
        if getattr(s, dest) < least:
            raise ConfigError(f"{flag} must be at least {least}")
    try:
        s.max_connections = int(s.max_connections)
    except (TypeError, ValueError):
        raise ConfigError(f"--max-connections must be an integer, not {s.max_connections!r}") from None
    if not 1 <= s.max_connections <= 1024:
        raise ConfigError("--max-connections must be between 1 and 1024")
    if s.workers != "auto":
        worker_count(s.workers)
        s.workers = int(s.workers)
        if s.workers > s.max_connections:
            raise ConfigError(
                f"--workers {s.workers} needs at least as many connections: raise --max-connections "
                f"(now {s.max_connections})"
            )
    if s.max_rps is not None:
        try:
            s.max_rps = float(s.max_rps)
        except (TypeError, ValueError):
            raise ConfigError(f"--max-rps must be a number, not {s.max_rps!r}") from None
        if not s.max_rps > 0:
            raise ConfigError("--max-rps must be above 0")
    try:
        s.timeout = float(s.timeout)
    except (TypeError, ValueError):
        raise ConfigError(f"--timeout must be a number of seconds, got {s.timeout!r}") from None
    if not 0 < s.timeout <= 600:
        raise ConfigError(f"--timeout must be between 0 and 600 seconds, got {s.timeout:g}")
    cat = catalogue.load()
    for pattern in s.clause:
        try:
            cat.select([pattern])
        except KeyError:
            names = [c.id for c in cat] + list(cat.groups)
            close = difflib.get_close_matches(pattern.upper(), names, n=1)
            hint = f"; did you mean {close[0]}?" if close else "; see `conformance clauses`"
            raise ConfigError(f"unknown clause {pattern!r}{hint}") from None
    for flag, tz in (("--org-timezone", s.org_timezone), ("--second-org-timezone", s.second_org_timezone)):
        if not tz:
            continue
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{flag} {tz!r} is not an IANA time zone (e.g. America/Chicago)") from None
    for entry in s.path_param:
        name, eq, value = entry.partition("=")
        if not eq or not name.strip() or not value or "/" in value or name != name.strip():
            raise ConfigError(f"--path-param {entry!r} must be NAME=VALUE (one path segment), e.g. environment=sandbox")
    if s.confirm is not None and s.confirm > MAX_CONFIRM:
        raise ConfigError(f"--confirm must be at most {MAX_CONFIRM}")
    if s.waivers:
        from conformance.verdicts.waivers import WaiverError, load

        try:
            load(s.waivers)
        except WaiverError as exc:
            raise ConfigError(str(exc)) from None
    if s.insecure and s.ca_bundle:
        raise ConfigError("--ca-bundle and --insecure exclude each other")
    if s.ca_bundle and not Path(s.ca_bundle).is_file():
        raise ConfigError(f"--ca-bundle {s.ca_bundle!r} is not a readable file")
    if s.openapi and "://" not in s.openapi and not Path(s.openapi).is_file():
        raise ConfigError(f"--openapi {s.openapi!r}: no such file")
    if s.proxy:
        _validate_proxy(s.proxy)
    if s.base_url is not None:
        _validate_url(s)


def shown_proxy(proxy: str | None) -> str | None:
    """The proxy URL as reports show it: its password masked."""
    if not proxy:
        return None
    parts = urlsplit(proxy)
    if parts.password is None:
        return proxy
    netloc = f"{parts.username}:***@{parts.netloc.rsplit('@', 1)[1]}"
    return urlunsplit(parts._replace(netloc=netloc))


def _validate_proxy(proxy: str) -> None:
    try:
        parts = urlsplit(proxy)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"--proxy {shown_proxy(proxy)!r} is not a valid URL") from None
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ConfigError(
            f"--proxy {shown_proxy(proxy)!r}: give an HTTP proxy as http://HOST:PORT (the target's TLS runs end to "
            "end through it; https:// and SOCKS proxies are not supported)"
        )


def _validate_url(s: Settings) -> None:
    url = s.base_url or ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"--base-url {url!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--base-url {url!r} is not an http(s) URL like https://api.example.com/ga/api")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(
            "--base-url must not carry a query, fragment or credentials; keys come from CONFORMANCE_API_KEY"
        )
    if parts.scheme == "http" and not s.allow_http:
        raise ConfigError(
            f"--base-url {url!r} is plain HTTP; the spec requires HTTPS (use --allow-http for local development)"
        )
    if not s.api_key:
        raise ConfigError("no API key for the target: set CONFORMANCE_API_KEY (or pass --api-key)")
    s.base_url = url.rstrip("/")

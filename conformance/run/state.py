"""What one process knows about a run (:class:`RunState`), kept in the pytest config's stash under
:data:`STATE`: settings, the target model, the target and its client, and, in the controller, every test's
result as it arrives. The plugin objects of :mod:`conformance.run` share it; nothing else holds run state."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks.context import CheckContext
from conformance.http.client import Client, Ledger
from conformance.http.exchange import Finding
from conformance.http.politeness import RateLimiter, SharedPause, per_worker_rps
from conformance.http.redact import Redactor
from conformance.model import TargetModel
from conformance.run.capture import Recorder
from conformance.run.config import Settings, connections_per_worker
from conformance.run.workers import pause_file
from conformance.spec import catalogue
from conformance.spec.profiles import Profile
from conformance.suite._support.target import Ids, Target, credential_pair, new_run_prefix
from conformance.verdicts.decide import RunRecord, TestRecord

if TYPE_CHECKING:
    from conformance.reference.server import ServerHandle

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # conformance/

SUITE_DIR = PACKAGE_DIR / "suite"

GAPS_CAP = 100  # distinct description gaps kept in the record

OBSERVATIONS_CAP = 50_000  # run-wide (instant, offset) pairs: far more than a certification run sees

STATE = pytest.StashKey["RunState"]()
RTT_MS = pytest.StashKey["float | None"]()  # the target's round trip, when measured to choose the workers


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class RunState:
    """Everything one process knows about the run."""

    def __init__(self, config: pytest.Config | None, settings: Settings, model: TargetModel) -> None:
        """``config`` is None for the record of a run that never reached pytest (the target unreachable)."""
        self.config = config
        self.settings = settings
        self.model = model
        self.workerinput = getattr(config, "workerinput", None)
        self.is_worker = self.workerinput is not None
        shared = (self.workerinput or {}).get("conformance_target", {})
        self.seed: int = (
            shared.get("seed")
            or settings.seed
            or _int_or_none(getattr(getattr(config, "option", None), "hypothesis_seed", None))
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
        self.workers_down: set[str] = set()  # ... that ended (with or without a hand-over: a crash)
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
        self.rtt_ms: float | None = config.stash.get(RTT_MS, None) if config is not None else None
        self.requests = 0  # sent by the workers that handed over (the controller's own are added at the end)
        if shared:
            settings.base_url = shared["base_url"]
            settings.api_key = shared["api_key"]
            settings.second_api_key = shared.get("second_api_key")
            settings.ca_bundle = shared.get("ca_bundle")
            self.fatal = shared.get("fatal")
            self.rtt_ms = shared.get("rtt_ms")

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
    def target_profile(self) -> Profile:
        return self.settings.budget

    @property
    def redactor(self) -> Redactor:
        return Redactor(self.settings.secrets)

    @property
    def workers(self) -> int:
        """The processes sending requests: the xdist workers, or this one."""
        if self.workerinput is not None:
            return int(self.workerinput.get("workercount", 1))
        return max(1, int(getattr(getattr(self.config, "option", None), "numprocesses", None) or 1))

    def connect(self) -> None:
        s = self.settings
        first, second = credential_pair(s)
        ledger = Ledger(self.prefix)
        worker = (self.workerinput or {}).get("workerid", "")
        ids = Ids(self.prefix, worker.replace("gw", "w") if worker else "")
        pacer = None
        workers = self.workers
        if s.max_rps:
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
            max_connections=connections_per_worker(s.max_connections, workers),
            pause=SharedPause(pause_file(s.report_dir, self.prefix) if workers > 1 else None),
            proxy=s.proxy,
        )
        other = client.with_credential(second) if second else None
        self.target = Target(s, self.model, client, other, ledger, ids, on_gap=self.recorder.gap, rtt_ms=self.rtt_ms)


def configure_hypothesis(state: RunState) -> None:
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

"""The target as clause tests use it: objects addressed through the model, created
under the run's id prefix, remembered in a ledger and deleted at the end.

The suite only ever addresses ids it minted itself, so it never reads, writes or
deletes a vendor's own objects.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

from conformance.checks.success import is_success
from conformance.http.client import UNSET, Client, CreatedObject, Credential, Ledger, TargetError
from conformance.http.exchange import Exchange
from conformance.model import Resource, TargetModel
from conformance.run.config import Settings
from conformance.spec.profiles import Profile
from conformance.suite._support.acceptance import Acceptance, DescriptionGap, candidates, gap_of, refused_by_rule
from conformance.suite._support.asserts import assert_written
from conformance.suite._support.reaper import Reaper
from conformance.verdicts.violation import ClauseViolation

_MISSING = object()


def new_run_prefix() -> str:
    """``cft`` + 6 hex chars: short, and matches any sane id pattern ([a-z0-9])."""
    return "cft" + secrets.token_hex(3)


class Ids:
    def __init__(self, prefix: str, worker: str = "") -> None:
        self.prefix = prefix + worker
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def new(self) -> str:
        with self._lock:
            n = next(self._counter)
        return f"{self.prefix}{n:04d}{secrets.token_hex(2)}"


@dataclass
class Obj:
    """An object the suite created: where it lives and the exchange that made it."""

    resource: Resource
    path: str
    ids: dict[str, str]
    created: Exchange
    body: Any = None  # what was written (the body the target accepted)


@dataclass(frozen=True)
class _Write:
    """Where and how a body was written: what the probes of a refusal repeat at fresh ids."""

    resource: Resource
    path: str
    method: str
    version: int
    via: str
    client: Client | None


class SetupFailed(Exception):
    """The target refused a write the suite needs as a precondition (not a verdict)."""


class NoAcceptedBody(SetupFailed):
    """Every body the description allows that the suite tried was refused by the target's own rules: the
    clauses that needed one cannot be judged (``error``), never ``pass`` and never ``fail``."""

    def __init__(self, message: str, refusal: Exchange | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal  # the last refusal, as evidence where a caller can conclude more


T = TypeVar("T")

MAX_DISCARDS = 8  # bodies refused by the target's own rules before a resource with no accepted body is given up


class Target:
    def __init__(
        self,
        settings: Settings,
        model: TargetModel,
        client: Client,
        second: Client | None,
        ledger: Ledger,
        ids: Ids,
        on_gap: Callable[[DescriptionGap], None] | None = None,
        rtt_ms: float | None = None,
    ) -> None:
        self.settings = settings
        self.rtt_ms = rtt_ms  # the target's round trip, measured at the start: how far it is
        self.model = model
        self.client = client
        self.second = second
        self.ledger = ledger
        self.ids = ids
        self.acceptance = Acceptance()
        self.on_gap = on_gap or (lambda gap: None)
        self._memo: dict[Hashable, Any] = {}
        self._memo_locks: dict[Hashable, threading.Lock] = {}
        self._memo_locks_lock = threading.Lock()
        self._reaper: Reaper | None = None

    def memo(self, key: Hashable, build: Callable[[], T], *, stale: Callable[[T], bool] | None = None) -> T:
        """What the run's tests share, kept for the run: the value kept under ``key``, built by ``build`` the
        first time it is asked for, and again whenever ``stale`` says the kept one will not do. Keys are tuples
        whose first item names what is kept (``("parents", item path, version)``)."""
        kept = self._memo.get(key, _MISSING)
        if kept is not _MISSING and not (stale is not None and stale(kept)):
            return kept
        with self._memo_locks_lock:
            lock = self._memo_locks.setdefault(key, threading.Lock())
        with lock:  # examples in flight together build a shared object once (the others wait for it)
            kept = self._memo.get(key, _MISSING)
            if kept is not _MISSING and not (stale is not None and stale(kept)):
                return kept
            with self.ledger.keeping():  # what a test builds for the run's tests stays until the run ends
                value = self._memo[key] = build()
            return value

    @property
    def profile(self) -> Profile:
        return self.settings.budget

    @property
    def zone(self) -> ZoneInfo | None:
        return self.settings.zone

    def new_id(self, resource: Resource | None = None) -> str:
        """A fresh id of the run; shaped as ``resource``'s description declares its ids (SPEC ambiguity 22)."""
        return shaped_id(self.ids.new(), resource.id_schema if resource is not None else {})

    def version_for(self, resource: Resource) -> int:
        """The version the CRUD tests use: the latest the target describes."""
        return self.model.latest_version

    # -- writes and reads ------------------------------------------------------------
    def write(
        self,
        resource: Resource,
        path: str,
        body: Any = UNSET,
        *,
        method: str = "POST",
        version: int | None = None,
        via: str = "path",
        client: Client | None = None,
        data: bytes | str | None = None,
    ) -> Exchange:
        client = client or self.client
        # Claimed before it is sent: a write cut short (Ctrl-C, a timeout) may still have created the object.
        # Only the server's own answer that it did not is reason to forget a path first written here.
        claimed = client.credential is not None and self.ledger.claim(
            CreatedObject(path, version, client.credential, len(resource.chain()))
        )
        ex = client.request(method, path, version=version, via=via, json=body, data=data, resource=resource.name)
        if claimed and client.credential is not None and not is_success(ex.status):
            self.ledger.discard(client.credential, path)
        return ex

    def get(
        self,
        resource: Resource | None,
        path: str,
        *,
        version: int | None = None,
        via: str = "path",
        client: Client | None = None,
        **kw: Any,
    ) -> Exchange:
        return (client or self.client).request(
            "GET", path, version=version, via=via, resource=resource.name if resource else None, **kw
        )

    def delete(
        self, resource: Resource, path: str, *, version: int | None = None, client: Client | None = None
    ) -> Exchange:
        client = client or self.client
        ex = client.request("DELETE", path, version=version, resource=resource.name)
        if is_success(ex.status) and client.credential is not None:
            self.ledger.discard(client.credential, path)
            self.acceptance.forget(path)
        return ex

    # -- objects with their parents ------------------------------------------------------
    def shared_parents(self, resource: Resource, version: int | None = None) -> list[str]:
        """Ancestors created once per run and reused, so property tests stay cheap."""
        version = self.version_for(resource) if version is None else version
        return self.memo(("parents", resource.item_path, version), lambda: self.ancestors(resource, version))

    def ancestors(
        self, resource: Resource, version: int | None = None, via: str = "path", client: Client | None = None
    ) -> list[str]:
        """Create the chain of parents ``resource`` needs; their ids, root first."""
        level_ids: list[str] = []
        for node in resource.chain()[:-1]:
            obj = self.create(node, version=version, via=via, parent_ids=level_ids, client=client)
            level_ids = [*level_ids, obj.ids[node.id_param]]
        return level_ids

    def create(
        self,
        resource: Resource,
        body: Any = None,
        *,
        version: int | None = None,
        method: str = "POST",
        via: str = "path",
        parent_ids: list[str] | None = None,
        client: Client | None = None,
        full: bool = False,
    ) -> Obj:
        """Create a fresh object (and its parents); a refusal is a failed precondition. Without a ``body``, the
        first body the description allows that the target accepts (:meth:`accepted_body`; with ``full``,
        one setting every field if the target accepts such a body)."""
        version = self.version_for(resource) if version is None else version
        path, ids = self.fresh_path(resource, version, parent_ids, via, client)
        if body is None:
            body, ex = self.accepted_body(
                resource, path, version=version, method=method, via=via, client=client, full=full
            )
        else:
            ex = self.write(resource, path, body, method=method, version=version, via=via, client=client)
        if not is_success(ex.status):
            raise SetupFailed(
                f"could not create a {resource.name} at {path} to test with: HTTP {ex.status} "
                f"{(ex.envelope or {}).get('error_message', '')!s:.200}"
            )
        self.acceptance.accept(resource, version, body, path)
        return Obj(resource, path, ids, ex, body)

    def accepted_body(
        self,
        resource: Resource,
        path: str,
        *,
        version: int | None = None,
        method: str = "POST",
        via: str = "path",
        client: Client | None = None,
        record_gaps: bool = True,
        full: bool = False,
        **fixed: Any,
    ) -> tuple[dict[str, Any], Exchange]:
        """Write to the fresh ``path`` the first candidate body (with ``fixed`` values) the target does not refuse
        by its own rules: one it accepted before, then what the description offers
        (:func:`conformance.acceptance.candidates`). Returns that body and the answer (a success, or another
        failure for the caller to judge). Each refused candidate is a description gap; when every one is
        refused, :class:`NoAcceptedBody`."""
        version = self.version_for(resource) if version is None else version
        known = [b for b in self.acceptance.known(resource, version) if all(b.get(k) == v for k, v in fixed.items())]
        refused: Exchange | None = None
        first = [] if full else known[:1]
        for body in itertools.chain(first, candidates(resource, version, fixed, full)):  # lazily: searches cost
            ex = self.write(resource, path, body, method=method, version=version, via=via, client=client)
            if not refused_by_rule(ex):  # accepted, or an answer for the caller to judge (a 5xx is a finding)
                if is_success(ex.status):
                    self.acceptance.accept(resource, version, body, path)
                return body, ex
            refused = ex
            if record_gaps:
                self.on_gap(gap_of(resource, method, version, body, ex))
        why = f" (last: {(refused.envelope or {}).get('error_message', '')!s:.200})" if refused is not None else ""
        values = f" with {fixed}" if fixed else ""
        raise NoAcceptedBody(
            f"the target refused every {resource.name} body{values} the description allows that the suite "
            f"tried{why}: rules its description does not state (see the description gaps)",
            refused,
        )

    def write_valid(
        self,
        resource: Resource,
        path: str,
        body: Any,
        clause: str,
        what: str,
        *,
        method: str = "POST",
        version: int | None = None,
        via: str = "path",
        client: Client | None = None,
    ) -> Exchange:
        """Write a body the description allows and expect success, reading a ``403 validation_failed`` as SPEC
        ambiguity 15 does (:meth:`_judge_refusal`): conclusive when the same body is accepted elsewhere at once,
        else the vendor's own rule: a description gap, and the example is discarded."""
        version = self.version_for(resource) if version is None else version
        ex = self.write(resource, path, body, method=method, version=version, via=via, client=client)
        if refused_by_rule(ex):
            ex = self._judge_refusal(_Write(resource, path, method, version, via, client), body, clause, what, ex)
        assert_written(ex, clause, what)
        self.acceptance.accept(resource, version, body, path)
        return ex

    def _judge_refusal(self, at: _Write, body: Any, clause: str, what: str, ex: Exchange) -> Exchange:
        """The answer that stands for a write refused with ``403 validation_failed`` (see :meth:`write_valid`).

        Accepted at a fresh id, the body is a finding only if it is refused again at ``at``'s id once that fresh
        object is gone: a rule that counts the organization's other objects (a unique name) may have refused it
        because of one that another client, or the vendor's own data, removed meanwhile. Accepted then, that
        answer stands for the write."""
        resource, path, method, version, via, client = at.resource, at.path, at.method, at.version, at.via, at.client
        reason = (ex.envelope or {}).get("error_message", "")
        refused = f"{what}: refused with 403 validation_failed ({reason!s:.200})"
        if self.acceptance.last_at(path, body):
            raise ClauseViolation(
                clause, f"{refused}, though this body is what the target accepted at this id just before", ex
            )
        params = path_params(resource.item_path)
        values = dict(zip(params, _path_values(resource, path), strict=False))
        parents = [values[p] for p in params[:-1]]
        other = "PUT" if method == "POST" else "POST"
        for probe_method, probe_clause, how in (
            (method, clause, f"by the same {method} at a fresh id"),
            (other, "IDEM-2", f"by {other} at a fresh id (PUT must behave exactly like POST)"),
        ):
            fresh, _ = self.fresh_path(resource, version, parents, via, client)
            probe = self.write(resource, fresh, body, method=probe_method, version=version, via=via, client=client)
            if is_success(probe.status):
                self.remove_paths([fresh])
                again = self.write(resource, path, body, method=method, version=version, via=via, client=client)
                if not refused_by_rule(again):
                    return again
                raise ClauseViolation(
                    probe_clause,
                    f"{refused}, yet the same body was accepted {how}, and refused again here once that object "
                    "was deleted: validity is a property of the body",
                    ex,
                )
            if not refused_by_rule(probe):
                return ex  # judged on the first answer by the caller's expectation
        self.on_gap(gap_of(resource, method, version, body, ex))
        self.discard(
            resource, version, f"the target refuses this {resource.name} body by its own rules: {reason!s:.200}"
        )

    def discard(self, resource: Resource, version: int, reason: str) -> NoReturn:
        """Drop the current example as refused by the target's own rules. Once a resource has had
        ``MAX_DISCARDS`` refused and no accepted body, the test stops asking: :class:`NoAcceptedBody`."""
        if self.acceptance.discarded(resource, version) >= MAX_DISCARDS:
            raise NoAcceptedBody(f"{reason} (and {MAX_DISCARDS} more such bodies, none accepted)")
        discard(reason)

    def fresh_path(
        self,
        resource: Resource,
        version: int | None = None,
        parent_ids: list[str] | None = None,
        via: str = "path",
        client: Client | None = None,
    ) -> tuple[str, dict[str, str]]:
        """An item path for a new id whose parents exist (nothing created at it yet)."""
        if parent_ids is None:
            version = self.version_for(resource) if version is None else version
            parent_ids = self.ancestors(resource, version, via, client)
        ids = dict(zip(path_params(resource.item_path), [*parent_ids, self.new_id(resource)], strict=True))
        return resource.path_for(ids), ids

    # -- cleanup ------------------------------------------------------------------------
    def test_begins(self) -> int:
        """A mark of what the ledger held as a test's call begins (:meth:`test_ended`)."""
        return self.ledger.mark()

    def test_ended(self, mark: int) -> None:
        """Against a far target, the objects the test that began at ``mark`` created go now, in the background
        (:mod:`~conformance.suite._support.reaper`); near, they wait for the end like the rest."""
        from conformance.suite._support.together import in_flight

        if in_flight(self) <= 1:
            return
        if self._reaper is None:
            self._reaper = Reaper(self.remove)
        self._reaper.hand(self.ledger.since(mark))

    def free(self, resource: Resource, path: str, version: int | None = None) -> None:
        """Delete (judged) an object a test is done with before its body is written at another id: what the vendor
        keeps unique within the organization (a name, ambiguity 15) then never refuses the next write. A DELETE
        that fails is IDEM-6's to judge; the next write goes out all the same."""
        if "DELETE" in resource.methods:
            self.delete(resource, path, version=version)

    def remove_paths(self, paths: Iterable[str]) -> None:
        """DELETE now (not judged), children first, the ledger's objects at ``paths``: a test done with them."""
        wanted = set(paths)
        for obj in self.ledger.pending():  # children first
            if obj.path in wanted:
                self.remove(obj)

    def remove(self, obj: CreatedObject) -> str | None:
        """DELETE an object the ledger holds; ``None`` when it is gone (or was already), else why it stayed."""
        client = self.client if obj.credential == self.client.credential else self.second
        if client is None:
            return "no client"
        try:
            ex = client.request("DELETE", obj.path, version=obj.version, observe=False)
        except TargetError as exc:
            return str(exc)
        if is_success(ex.status) or ex.status == 404:
            self.ledger.discard(obj.credential, obj.path)
            return None
        return f"DELETE answered HTTP {ex.status}"

    def cleanup(self, budget_s: float = 60.0) -> dict[str, Any]:
        """Delete everything the ledger holds, children first; report what stayed.

        Objects of one depth do not depend on each other, so against a far target they are deleted together
        (:func:`~conformance.suite._support.together.in_flight`); the next depth waits for the one below."""
        from conformance.suite._support.together import in_flight

        stop = threading.Event()
        during_run = 0
        if self._reaper is not None:
            try:
                during_run = self._reaper.stop(timeout=self.settings.timeout + 1)
            except KeyboardInterrupt:  # a second Ctrl-C: what the reaper did not delete is reported as staying
                during_run = self._reaper.deleted
                stop.set()
        pending = self.ledger.pending()
        deadline = time.monotonic() + budget_s
        outcomes: dict[int, str | None] = {}  # index in pending -> None (deleted) or why it stayed

        def delete(n: int) -> None:
            if stop.is_set() or time.monotonic() > deadline:
                outcomes[n] = "cleanup interrupted" if stop.is_set() else "cleanup budget exhausted"
                return
            outcomes[n] = self.remove(pending[n])

        levels = [list(group) for _, group in itertools.groupby(range(len(pending)), key=lambda n: pending[n].depth)]
        width = in_flight(self)
        if width <= 1:
            try:
                for n in range(len(pending)):
                    delete(n)
            except KeyboardInterrupt:  # a second Ctrl-C: stop deleting, but still report what stayed
                stop.set()
        else:
            with ThreadPoolExecutor(width, thread_name_prefix="conformance-cleanup") as pool:
                try:
                    for level in levels:
                        for future in [pool.submit(delete, n) for n in level]:
                            future.result()
                except KeyboardInterrupt:
                    stop.set()
                    pool.shutdown(wait=False, cancel_futures=True)
        leftover = [
            {"path": obj.path, "reason": outcomes.get(n) or "cleanup interrupted"}
            for n, obj in enumerate(pending)
            if outcomes.get(n, "cleanup interrupted") is not None
        ]
        deleted = sum(1 for why in outcomes.values() if why is None)
        return {
            "prefix": self.ids.prefix,
            "attempted": len(pending) + during_run,
            "deleted": deleted + during_run,
            "during_run": during_run,
            "leftover": leftover,
        }


def _path_values(resource: Resource, path: str) -> list[str]:
    """The values of ``path``'s parameters, in the item path's order."""
    pattern = re.escape(resource.item_path)
    for name in path_params(resource.item_path):
        pattern = pattern.replace(re.escape("{" + name + "}"), "([^/]+)")
    found = re.search(pattern + "$", path)
    return list(found.groups()) if found else []


def discard(reason: str) -> NoReturn:
    """Drop the current example: ``reject()`` inside a hypothesis test (it draws another), otherwise the test
    cannot be judged (:class:`NoAcceptedBody`)."""
    from hypothesis import currently_in_test_context, reject

    if currently_in_test_context():
        reject()
    raise NoAcceptedBody(reason)


def shaped_id(run_id: str, schema: dict[str, Any]) -> str:
    """``run_id`` (the run's prefix and a counter: unique, lower-case alphanumerics) in the shape the description
    declares for the id: a UUID, digits for an integer, upper case, or within ``maxLength`` (its unique tail).
    The ledger, not the shape, is what keeps the suite to its own objects."""
    if not isinstance(schema, dict):
        return run_id
    if schema.get("format") == "uuid":
        return str(uuid.uuid4())
    if schema.get("type") == "integer":
        return str(secrets.randbelow(2**53 - 2**40) + 2**40)
    pattern = schema.get("pattern") if isinstance(schema.get("pattern"), str) else None
    least: int = schema["minLength"] if isinstance(schema.get("minLength"), int) else 0
    most: int | None = schema["maxLength"] if isinstance(schema.get("maxLength"), int) else None
    lead = _literal_lead(pattern) if pattern else ""

    def fits(candidate: str) -> bool:
        if len(candidate) < least or (most is not None and len(candidate) > most):
            return False
        try:
            return not pattern or re.search(pattern, candidate) is not None
        except re.error:  # an ECMA-262 pattern Python cannot compile: the write's answer will tell
            return True

    digits = str(int(run_id.encode().hex(), 16) % 10**18)
    for base in (run_id, run_id.upper(), digits):
        for text in _sizes(base, digits if base is digits else secrets.token_hex(16), least, most):
            for candidate in (text, lead + text) if lead else (text,):
                if fits(candidate):
                    return candidate
    return run_id  # a pattern the suite cannot meet: the write's refusal will say so


def _sizes(base: str, filler: str, least: int, most: int | None) -> list[str]:
    """``base`` as is, grown to ``minLength`` (more of ``filler``), then cut to shorter unique tails (its
    counter and random end stay), longest first: sizes an id pattern may ask for (``{12}``, ``{8,10}``)."""
    grown = base + (filler * (1 + least // max(1, len(filler))))[: max(0, least - len(base))]
    top = len(grown) if most is None else min(len(grown), most)
    return [grown, *(grown[-n:] for n in range(top, 5, -1) if n != len(grown))]


def _literal_lead(pattern: str) -> str:
    """The literal text an anchored pattern starts with (``lst_`` of ``^lst_[a-z0-9]{12}$``): vendors prefix
    ids with their kind."""
    found = re.match(r"\^((?:[A-Za-z0-9_]|-|\\[-_.:])*)", pattern)
    return re.sub(r"\\(.)", r"\1", found.group(1)) if found else ""


def path_params(path: str) -> list[str]:
    return re.findall(r"{([^}]+)}", path)


def credential_pair(settings: Settings) -> tuple[Credential | None, Credential | None]:
    first = Credential(settings.api_key, "CONFORMANCE_API_KEY") if settings.api_key else None
    second = Credential(settings.second_api_key, "CONFORMANCE_SECOND_API_KEY") if settings.second_api_key else None
    return first, second

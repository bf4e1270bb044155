"""Valid variants of a server with a life of its own: a vendor's staging server.

It holds other data (thousands of objects, listed in any order), other clients write while the suite
runs, its clock is not the suite's, and it drops idle connections early. None of that breaks a clause;
the suite must pass each (SPEC ambiguity 21: a listing that cannot show the suite's objects proves
nothing either way).
"""

from __future__ import annotations

import copy
import itertools
import random
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from conformance.model import Resource
from conformance.reference import times
from conformance.reference.behaviour import Ctx, Services
from conformance.reference.faults.switch import Group
from conformance.reference.store import Key, Record

SWITCHES = Group()
Starter = Callable[[Services], list[Callable[[], None]]]  # the correct start
Lister = Callable[[Ctx, list[Record]], list[Record]]  # the correct listing

PRE_EXISTING = 2500  # objects in each top-level collection of each organization when the server starts
SEEDED_CHILDREN = 150  # children a new parent comes with, per child collection: more than a page (limit 100)
CLOCK_SKEW = timedelta(minutes=6, seconds=41)
IDLE_CLOSE = 0.1  # seconds; uvicorn's default is 5, Node's http server's too (the classic ECONNRESET race)
WRITER_PAUSE = (0.002, 0.02)  # seconds between the background writer's operations
WRITER_OBJECTS = 200  # the most top-level objects the background writer keeps


def _fields(resource: Resource, version: int) -> dict[str, Any]:
    """Stored fields of a small valid object, as a write would store them (times as instants)."""
    from hypothesis import HealthCheck, Phase, find, settings  # only when a lively server starts

    from conformance.model.strategies import valid_bodies

    quick = settings(database=None, phases=[Phase.generate], max_examples=20, suppress_health_check=list(HealthCheck))
    body = find(valid_bodies(resource, version), lambda b: True, settings=quick, random=random.Random(0))
    out: dict[str, Any] = {}
    for f in resource.fields.values():
        if f.read_only:
            continue
        if f.name in body:
            value = body[f.name]
            if f.kind == "time" and isinstance(value, str):
                value = times.parse_time(value)
            elif f.kind == "date" and isinstance(value, str):
                value = times.parse_date(value)
            out[f.name] = value
        elif f.has_default or f.nullable:
            out[f.name] = f.default()
    return out


def _touched(old: Record | None, now: Any) -> Record:
    if old is None:  # the writer's own object, which only it deletes
        raise LookupError("the background writer's object went away")
    return Record(old.ids, old.fields, old.created, now)


class _Maker:
    """Builds records of every resource of the served model, ids under a prefix of their own."""

    def __init__(self, services: Services, prefix: str) -> None:
        self.services = services
        self.prefix = prefix
        version = max(services.model.versions)
        self.fields = {r.name: _fields(r, version) for r in services.model.resources}
        self.params = {r.name: re.findall(r"{([^}]+)}", r.item_path) for r in services.model.resources}
        self.children = {
            r.name: [c for c in services.model.resources if c.parent is r] for r in services.model.resources
        }
        self._n = itertools.count(1)

    def record(self, resource: Resource, parent: Key, at: datetime) -> tuple[Key, Record]:
        key = (*parent, (resource.name, f"{self.prefix}{next(self._n):06d}"))
        ids = dict(zip(self.params[resource.name], (value for _, value in key), strict=True))
        return key, Record(ids, copy.deepcopy(self.fields[resource.name]), at, at)

    def put(self, org: int, resource: Resource, parent: Key, at: datetime) -> Key:
        key, record = self.record(resource, parent, at)
        self.services.store.write(org, key, lambda old: record)
        return key


def _top_level(services: Services) -> list[Resource]:
    return [r for r in services.model.resources if r.parent is None and r.collection_path]


# -- thousands of objects, and every new parent comes with a page and a half of children -----------
def _crowd(default: Starter, services: Services) -> list[Callable[[], None]]:
    stops = default(services)
    maker = _Maker(services, "pre")
    services.scratch["crowd"] = maker
    start = times.now() - timedelta(days=400)
    for org in services.orgs:
        for resource in _top_level(services):
            at = (start + timedelta(minutes=3 * n) for n in range(PRE_EXISTING))
            services.store.seed(org.number, (maker.record(resource, (), t) for t in at))
    return stops


def _with_children(
    default: Callable[[Ctx, Record | None, Record], None], ctx: Ctx, old: Record | None, new: Record
) -> None:
    """A server-side automation: a new parent is filled with sample children, before the caller adds any."""
    default(ctx, old, new)
    maker = ctx.services.scratch.get("crowd")
    if old is not None or ctx.route is None or maker is None:
        return
    for child in maker.children[ctx.route.resource.name]:
        seeds = (maker.record(child, ctx.route.key, new.created) for _ in range(SEEDED_CHILDREN))
        ctx.services.store.seed(ctx.org_id, seeds)


def _newest_first(default: Lister, ctx: Ctx, records: list[Record]) -> list[Record]:
    return list(reversed(default(ctx, records)))  # the store lists in creation order


SWITCHES.variant(
    "crowded-oldest-first",
    f"Holds {PRE_EXISTING:,} older objects in each top-level collection of each organization, and every new "
    f"parent comes with {SEEDED_CHILDREN} children in each child collection (a sample import); collections "
    "list oldest first, so the suite's objects are past the largest page (Ambiguity 21).",
    start=_crowd,
    stored=_with_children,
)
SWITCHES.variant(
    "crowded-newest-first",
    f"The same {PRE_EXISTING:,} older objects and {SEEDED_CHILDREN} seeded children per new parent, listed "
    "newest first.",
    start=_crowd,
    stored=_with_children,
    listing=_newest_first,
)


def _shuffled(default: Lister, ctx: Ctx, records: list[Record]) -> list[Record]:
    out = list(default(ctx, records))
    random.shuffle(out)
    return out


SWITCHES.variant(
    "collection-shuffled",
    "Lists a collection in a different order on every request (SPEC.md sets no order).",
    listing=_shuffled,
)


# -- other clients writing during the run --------------------------------------------------------------
class _Writer:
    """Another client of the same organizations: creates, updates and deletes objects of its own."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.maker = _Maker(services, "bgw")
        self.mine: list[tuple[int, Key]] = []  # (organization, key) of its top-level objects
        self.stop = threading.Event()
        self.random = random.Random(7)
        self.thread = threading.Thread(target=self._run, name="reference-background-writer", daemon=True)

    def _run(self) -> None:
        tops = _top_level(self.services)
        while tops and not self.stop.wait(self.random.uniform(*WRITER_PAUSE)):
            self._step(tops)

    def _step(self, tops: list[Resource]) -> None:
        store, r = self.services.store, self.random
        now = times.now()
        roll = r.random()
        if not self.mine or roll < 0.45:
            org, resource = r.choice(self.services.orgs).number, r.choice(tops)
            key = self.maker.put(org, resource, (), now)
            self.mine.append((org, key))
            for child in self.maker.children[resource.name]:
                self.maker.put(org, child, key, now)
        elif roll < 0.75:
            org, key = r.choice(self.mine)
            store.write(org, key, lambda old: _touched(old, now))  # only it deletes them
        else:
            org, key = self.mine.pop(r.randrange(len(self.mine)))
            store.delete(org, key)
        if len(self.mine) > WRITER_OBJECTS:
            org, key = self.mine.pop(0)
            store.delete(org, key)


def _background_writer(default: Starter, services: Services) -> list[Callable[[], None]]:
    stops = default(services)
    writer = _Writer(services)
    writer.thread.start()

    def stop() -> None:
        writer.stop.set()
        writer.thread.join(timeout=5)

    return [*stops, stop]


SWITCHES.variant(
    "background-writer",
    "Another client creates, updates and deletes objects of its own in both organizations throughout the run.",
    start=_background_writer,
)

# -- a clock of its own, and connections it drops early ---------------------------------------------
SWITCHES.variant(
    "clock-skew",
    f"The server's clock runs {int(CLOCK_SKEW.total_seconds()) // 60} min {int(CLOCK_SKEW.total_seconds()) % 60} "
    "s ahead of the client's: every stamp is in the client's future.",
    clock=lambda default, ctx: default(ctx) + CLOCK_SKEW,
)
SWITCHES.variant(
    "keepalive-short",
    f"Closes a keep-alive connection idle for {IDLE_CLOSE:g} s (uvicorn and Node close after 5 s): pooled "
    "connections go stale between requests.",
    keep_alive=lambda default: IDLE_CLOSE,
)

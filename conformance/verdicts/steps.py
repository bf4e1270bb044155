"""The requests a finding's reproduction replays: the set-up writes of the violating object and its parents, and
the violating exchange.

:class:`StepLog` keeps, in each process, a compact record of every exchange of the running test (and of the
writes that created each object, run-wide: a parent is created once per run and reused by later tests), with
the object paths it addressed read from the target model's item and collection paths. :meth:`StepLog.steps_for`
picks, for one violating exchange, the writes on its object (or, for a listing, on the objects of that
collection), the creates of its parents and the exchange itself: the ``steps`` of the finding's evidence, from
which :mod:`conformance.report.repro` writes the shell script.
"""

from __future__ import annotations

import re
import weakref
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from conformance.http.exchange import Exchange
from conformance.model import Resource, TargetModel

STEPS_PER_TEST = 400  # exchanges of one test kept for its findings (a property test's last examples)
CREATES_KEPT = 5000  # run-wide creates remembered (parents shared by tests)
STEPS_PER_FINDING = 16  # requests in one reproduction at most (parents' creates first, the violation last)
BODY_CHARS = 20_000  # a longer request body is cut (and the step marked): the script would not send the same
READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class _Shape:
    resource: Resource
    item: re.Pattern[str]
    collection: re.Pattern[str] | None


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^{}/]+\})", template)
    body = "".join("([^/?#]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(r"(?:/v\d+)?(" + body + r")/?$")


class Paths:
    """An exchange's URL read against the model: the item (or collection) path it addressed, its ids, its parents."""

    def __init__(self, model: TargetModel | None) -> None:
        resources = sorted(model.resources if model else [], key=lambda r: -len(r.item_path))
        self._shapes = [
            _Shape(r, _pattern(r.item_path), _pattern(r.collection_path) if r.collection_path else None)
            for r in resources
        ]

    def read(self, url: str) -> dict[str, Any]:
        path = urlsplit(url).path
        for shape in self._shapes:
            m = shape.item.search(path)
            if m:
                ids = list(m.groups()[1:])
                return {"item": m.group(1), "ids": ids, "parents": _parents(shape.resource, ids), "kind": "item"}
        for shape in self._shapes:
            m = shape.collection.search(path) if shape.collection else None
            if m:
                ids = list(m.groups()[1:])
                parents = _parents(shape.resource, ids)
                return {"collection": m.group(1), "ids": ids, "parents": parents, "kind": "collection"}
        return {}


def _parents(resource: Resource, ids: list[str]) -> list[str]:
    """The item paths of ``resource``'s ancestors (root first) for the ids of its path, its own last."""
    out = []
    chain = resource.chain()[:-1]
    for depth, node in enumerate(chain):
        names = re.findall(r"{([^}]+)}", node.item_path)
        if len(names) > len(ids) or depth >= len(ids):
            break
        out.append(node.path_for(dict(zip(names, ids[: len(names)], strict=True))))
    return out


def step_of(exchange: Exchange, where: dict[str, Any]) -> dict[str, Any]:
    """One request as a reproduction replays it (already redacted by the client: keys appear as ``$VARIABLE``)."""
    body = exchange.request_body
    text = None if body is None else body.decode("utf-8", errors="replace")
    step: dict[str, Any] = {
        "method": exchange.method,
        "url": exchange.url,
        "headers": dict(exchange.request_headers),
        "body": text[:BODY_CHARS] if text is not None else None,
        "status": exchange.status,
    }
    if text is not None and len(text) > BODY_CHARS:
        step["body_cut"] = True
    step.update({k: v for k, v in where.items() if k in ("item", "collection", "ids", "parents") and v})
    return step


class StepLog:
    """Per process: the running test's requests and, run-wide, the write that created each object."""

    def __init__(self, model: TargetModel | None) -> None:
        self.paths = Paths(model)
        self._log: deque[tuple[Any, dict[str, Any]]] = deque(maxlen=STEPS_PER_TEST)
        self._creates: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def begin(self) -> None:
        self._log.clear()

    def add(self, exchange: Exchange) -> None:
        step = step_of(exchange, self.paths.read(exchange.url))
        self._log.append((weakref.ref(exchange), step))
        item, ok = step.get("item"), 200 <= exchange.status < 300
        if item and ok and exchange.method in ("POST", "PUT"):
            self._creates[item] = step
            self._creates.move_to_end(item)
            while len(self._creates) > CREATES_KEPT:
                self._creates.popitem(last=False)
        elif item and ok and exchange.method == "DELETE":
            self._creates.pop(item, None)

    def steps_for(self, exchange: Exchange | None) -> list[dict[str, Any]]:
        """The requests that reproduce what ``exchange`` shows: parents' creates, the writes on its object (for a
        listing, on the object last written in that collection), then the exchange itself; the exchange alone when
        it is not in this test's log."""
        if exchange is None:
            return []
        entries = list(self._log)
        at = next((i for i in range(len(entries) - 1, -1, -1) if entries[i][0]() is exchange), None)
        if at is None:
            return [step_of(exchange, self.paths.read(exchange.url))]
        target = entries[at][1]
        before = [step for _, step in entries[:at]]
        item, collection = target.get("item"), target.get("collection")

        def on_object(step: dict[str, Any]) -> bool:
            return step["method"] not in READS and step.get("item") is not None and step.get("item") == item

        if item is None and collection is not None:  # a listing: it shows the object written last in it
            item = next(
                (
                    s["item"]
                    for s in reversed(before)
                    if s["method"] not in READS and s.get("item") and s["item"].rsplit("/", 1)[0] == collection
                ),
                None,
            )

        writes = [s for s in before if on_object(s)]
        parents: list[str] = []
        for step in [*writes, target]:
            for p in step.get("parents", []):
                if p not in parents and p != step.get("item"):
                    parents.append(p)
        made = {s.get("item") for s in writes}
        setup = []
        for p in parents:
            if p in made:
                continue
            create = next(
                (s for s in reversed(before) if s.get("item") == p and s["method"] in ("POST", "PUT") and _ok(s)),
                None,
            )
            create = create or self._creates.get(p)
            if create is not None:
                setup.append(create)
        room = STEPS_PER_FINDING - 1 - len(setup)
        writes = writes[-room:] if room > 0 else []
        return [*setup, *writes, target]


def _ok(step: dict[str, Any]) -> bool:
    return 200 <= int(step.get("status") or 0) < 300

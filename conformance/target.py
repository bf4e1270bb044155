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
from dataclasses import dataclass
from typing import Any

from conformance.client import UNSET, Client, CreatedObject, Credential, Ledger, TargetError
from conformance.config import Settings
from conformance.exchange import Exchange
from conformance.model import Resource, TargetModel
from conformance.profiles import Profile


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


class SetupFailed(Exception):
    """The target refused a write the suite needs as a precondition (not a verdict)."""


class Target:
    def __init__(
        self,
        settings: Settings,
        model: TargetModel,
        client: Client,
        second: Client | None,
        ledger: Ledger,
        ids: Ids,
    ) -> None:
        self.settings = settings
        self.model = model
        self.client = client
        self.second = second
        self.ledger = ledger
        self.ids = ids

    @property
    def profile(self) -> Profile:
        return self.settings.budget

    @property
    def zone(self):
        return self.settings.zone

    def new_id(self) -> str:
        return self.ids.new()

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
        if claimed and not 200 <= ex.status < 300:
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
        if 200 <= ex.status < 300 and client.credential is not None:
            self.ledger.discard(client.credential, path)
        return ex

    # -- objects with their parents ------------------------------------------------------
    def shared_parents(self, resource: Resource, version: int | None = None) -> list[str]:
        """Ancestors created once per run and reused, so property tests stay cheap."""
        version = self.version_for(resource) if version is None else version
        cache = self.__dict__.setdefault("_parents", {})
        key = (resource.item_path, version)
        if key not in cache:
            cache[key] = self.ancestors(resource, version)
        return cache[key]

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
    ) -> Obj:
        """Create a fresh object (and its parents); a refusal is a failed precondition."""
        version = self.version_for(resource) if version is None else version
        path, ids = self.fresh_path(resource, version, parent_ids, via, client)
        if body is None:
            from conformance.strategies import minimal_body  # hypothesis and schemathesis: only where tests run

            body = minimal_body(resource, version)
        ex = self.write(resource, path, body, method=method, version=version, via=via, client=client)
        if not 200 <= ex.status < 300:
            raise SetupFailed(
                f"could not create a {resource.name} at {path} to test with: HTTP {ex.status} "
                f"{(ex.envelope or {}).get('error_message', '')!s:.200}"
            )
        return Obj(resource, path, ids, ex)

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
        ids = dict(zip(path_params(resource.item_path), [*parent_ids, self.new_id()], strict=True))
        return resource.path_for(ids), ids

    # -- cleanup ------------------------------------------------------------------------
    def cleanup(self, budget_s: float = 60.0) -> dict[str, Any]:
        """Delete everything the ledger holds, children first; report what stayed."""
        pending = self.ledger.pending()
        deadline = time.monotonic() + budget_s
        leftover = []
        deleted = 0
        interrupted = False
        for obj in pending:
            client = self.client if obj.credential == self.client.credential else self.second
            if interrupted or client is None or time.monotonic() > deadline:
                reason = "cleanup interrupted" if interrupted else "cleanup budget exhausted" if client else "no client"
                leftover.append({"path": obj.path, "reason": reason})
                continue
            try:
                ex = client.request("DELETE", obj.path, version=obj.version, observe=False)
            except TargetError as exc:
                leftover.append({"path": obj.path, "reason": str(exc)})
                continue
            except KeyboardInterrupt:  # a second Ctrl-C: stop deleting, but still report what stayed
                interrupted = True
                leftover.append({"path": obj.path, "reason": "cleanup interrupted"})
                continue
            if 200 <= ex.status < 300 or ex.status == 404:
                deleted += 1
                self.ledger.discard(obj.credential, obj.path)
            else:
                leftover.append({"path": obj.path, "reason": f"DELETE answered HTTP {ex.status}"})
        return {"prefix": self.ids.prefix, "attempted": len(pending), "deleted": deleted, "leftover": leftover}


def path_params(path: str) -> list[str]:
    return re.findall(r"{([^}]+)}", path)


def credential_pair(settings: Settings) -> tuple[Credential | None, Credential | None]:
    first = Credential(settings.api_key, "CONFORMANCE_API_KEY") if settings.api_key else None
    second = Credential(settings.second_api_key, "CONFORMANCE_SECOND_API_KEY") if settings.second_api_key else None
    return first, second

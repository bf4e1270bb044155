"""A switch, and the two ways to make one: :func:`fault` and :func:`variant`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Unpack, cast

from conformance.reference.behaviour import HOOKS
from conformance.reference.faults.hooks import Hooks


@dataclass(frozen=True)
class Switch:
    name: str
    description: str
    clause: str | None = None  # the clause a fault breaks; None for a valid variant
    hooks: Mapping[str, Callable[..., Any]] = field(default_factory=dict)  # see Hooks for each one's signature
    tls: str | None = None  # "plain" | "untrusted" | "wrong-host" | "expired"
    zones: tuple[str, ...] | None = None  # default organization zones

    @property
    def is_fault(self) -> bool:
        return self.clause is not None


def fault(
    name: str,
    clause: str,
    description: str,
    *,
    tls: str | None = None,
    zones: tuple[str, ...] | None = None,
    **hooks: Unpack[Hooks],
) -> Switch:
    """A fault: breaks ``clause`` the way a real vendor might; the suite must flag it there."""
    return _switch(name, description, clause, tls, zones, hooks)


def variant(name: str, description: str, *, zones: tuple[str, ...] | None = None, **hooks: Unpack[Hooks]) -> Switch:
    """A valid variant: a legal choice the spec leaves open; the suite must pass it."""
    return _switch(name, description, None, None, zones, hooks)


class Group(list[Switch]):
    """A module's switches, in the order they are made: ``SWITCHES.fault(...)`` makes one and adds it."""

    def fault(
        self,
        name: str,
        clause: str,
        description: str,
        *,
        tls: str | None = None,
        zones: tuple[str, ...] | None = None,
        **hooks: Unpack[Hooks],
    ) -> Switch:
        self.append(fault(name, clause, description, tls=tls, zones=zones, **hooks))
        return self[-1]

    def variant(
        self, name: str, description: str, *, zones: tuple[str, ...] | None = None, **hooks: Unpack[Hooks]
    ) -> Switch:
        self.append(variant(name, description, zones=zones, **hooks))
        return self[-1]


def _switch(
    name: str, description: str, clause: str | None, tls: str | None, zones: tuple[str, ...] | None, hooks: Hooks
) -> Switch:
    unknown = set(hooks) - HOOKS
    if unknown:  # a caller that skipped the type check
        raise AssertionError(f"{name}: no Behaviour hook named {sorted(unknown)}")
    overrides = cast(Mapping[str, Callable[..., Any]], hooks)  # each checked against its hook by Hooks
    return Switch(name, description, clause, dict(overrides), tls, zones)

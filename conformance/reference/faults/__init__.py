"""Fault switches and valid variants: named, documented deviations of the reference server.

A *fault* breaks exactly one clause the way a real vendor might; the suite must flag it under that clause.
A *variant* is a legal choice the spec leaves open; the suite must pass it. Both are :class:`Switch`
entries. A switch changes the server only by wrapping :class:`~conformance.reference.behaviour.Behaviour`
methods (its ``hooks``: each override receives the correct method first, so it can defer to it; see
``hooks.py`` for each one's signature), or by server-level settings (TLS certificate, org zones).

One module a clause group, each override just above its entry, faults first and then the group's valid
variants: ``tls``, ``json_``, ``env``, ``status``, ``auth``, ``ver``, ``idem``, ``time_``, ``enum_``. Then
one module a kind that no single group holds: ``races`` (only overlapping requests expose them), ``fuzz``
(only generated bodies reach them), ``wire`` (variants in the HTTP around the envelope) and ``lively``
(variants of a staging server with a life of its own). A new module defines ``SWITCHES`` and joins
:data:`GROUPS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from conformance.reference.behaviour import Behaviour
from conformance.reference.faults import (
    auth,
    enum_,
    env,
    fuzz,
    idem,
    json_,
    lively,
    races,
    status,
    time_,
    tls,
    ver,
    wire,
)
from conformance.reference.faults.switch import Switch, fault, variant

__all__ = ["FAULTS", "GROUPS", "VARIANTS", "Switch", "build_behaviour", "fault", "select", "variant"]

GROUPS = (tls, json_, env, status, auth, ver, idem, time_, enum_, races, fuzz, wire, lively)

_CATALOGUE = [switch for group in GROUPS for switch in group.SWITCHES]
_names = [s.name for s in _CATALOGUE]
if len(_names) != len(set(_names)):
    raise AssertionError(f"switch names twice: {sorted({n for n in _names if _names.count(n) > 1})}")

FAULTS: dict[str, Switch] = {s.name: s for s in _CATALOGUE if s.is_fault}
VARIANTS: dict[str, Switch] = {s.name: s for s in _CATALOGUE if not s.is_fault}


def select(faults: Iterable[str] = (), variants: Iterable[str] = ()) -> list[Switch]:
    """The named switches; ``ValueError`` listing the valid names for an unknown one."""
    chosen: list[Switch] = []
    for names, table, kind in ((faults, FAULTS, "fault"), (variants, VARIANTS, "variant")):
        for name in names:
            if name not in table:
                raise ValueError(f"unknown {kind} {name!r}; valid {kind}s: {', '.join(sorted(table))}")
            chosen.append(table[name])
    return chosen


def build_behaviour(switches: Iterable[Switch]) -> Behaviour:
    """The correct behaviour with each switch's overrides wrapped around it, in order."""
    behaviour = Behaviour()
    for switch in switches:
        for hook, override in switch.hooks.items():
            setattr(behaviour, hook, partial(override, getattr(behaviour, hook)))
    return behaviour

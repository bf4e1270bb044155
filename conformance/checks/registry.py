"""The check table: each check names its clause once, where it is written (``@check("ENV-1")``).

A check is a pure function of one exchange (and what the run knows: :class:`CheckContext`). It returns
``None`` when the response gives its clause nothing to judge, else the list of findings (empty = the
clause was exercised and held). The decorator files it in the table and returns the function itself,
unchanged: the table holds the very function object the module defines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.checks.context import CheckContext
from conformance.http.exchange import Exchange, Finding

CheckFn = Callable[[Exchange, CheckContext], "list[Finding] | None"]


@dataclass(frozen=True)
class Check:
    clause: str
    fn: CheckFn

    @property
    def name(self) -> str:
        return self.fn.__name__


_TABLE: list[Check] = []


def check(clause: str) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function as the check of ``clause``."""

    def register(fn: CheckFn) -> CheckFn:
        _TABLE.append(Check(clause, fn))
        return fn

    return register


def registered() -> tuple[Check, ...]:
    """Every registered check, in the order the check modules registered them."""
    return tuple(_TABLE)

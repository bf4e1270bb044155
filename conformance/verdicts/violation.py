"""How a clause test states a requirement: ``expect(cond, clause, message, exchange)``.

A failed expectation names its clause and carries the exchange as evidence, so the
verdict lands on that clause, not on every clause the test is marked with.
"""

from __future__ import annotations

from typing import Any

from conformance.http.exchange import Exchange


class ClauseViolation(AssertionError):
    def __init__(self, clause: str, message: str, exchange: Exchange | None = None) -> None:
        super().__init__(f"[{clause}] {message}")
        self.clause = clause
        self.message = message
        self.exchange = exchange


def expect(condition: Any, clause: str, message: str, exchange: Exchange | None = None) -> None:
    if not condition:
        raise ClauseViolation(clause, message, exchange)


def find_violation(exc: BaseException | None) -> ClauseViolation | None:
    """The first :class:`ClauseViolation` in ``exc`` or its groups and explicit causes (hypothesis wraps them).
    Not in an exception's context: a violation the suite was handling when its own code then failed is the
    suite's error, not the target's finding."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        e = stack.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ClauseViolation):
            return e
        stack.extend(getattr(e, "exceptions", ()))
        stack.append(e.__cause__)
    return None

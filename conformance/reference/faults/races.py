"""Faults of check-then-act without a lock (IDEM-1, IDEM-2, IDEM-6): how real create and delete paths race.

Each faulty path looks the object up, waits (a database round trip), then acts on what it saw. Requests
that overlap within that window act on a stale answer; one at a time, every request sees the truth, so
these servers pass every sequential test and only overlapping identical requests expose them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from conformance.reference.behaviour import Ctx, not_found
from conformance.reference.faults.hooks import Delete, Settle
from conformance.reference.faults.shared import count_row, with_rows
from conformance.reference.faults.switch import Group
from conformance.reference.store import Key, Record

SWITCHES = Group()

WINDOW = 0.03  # seconds between the lookup and the act; only the path the race is about waits
_SEEN = "race-seen"  # Ctx.state: whether the lookup found the object


def _lookup_then_wait(wait_when: bool) -> Settle:
    """A ``settle`` that looks the object up, then waits when it found it (``True``: deletes race) or did not
    (``False``: creates race)."""

    async def settle(default: Callable[[Ctx], Awaitable[None]], ctx: Ctx) -> None:
        await default(ctx)
        route = ctx.route
        if route is None or route.kind != "item" or ctx.org is None:
            return
        ctx.state[_SEEN] = seen = ctx.services.store.get(ctx.org_id, route.key) is not None
        if seen is wait_when:
            await asyncio.sleep(WINDOW)

    return settle


def _lost_create(ctx: Ctx, old: Record | None, method: str) -> bool:
    """This write looked, found nothing, and meanwhile another request created the object."""
    return ctx.method == method and ctx.state.get(_SEEN) is False and old is not None


# -- creates ----------------------------------------------------------------------------------------------
def _insert_twice(default: Callable[[Ctx, Record | None], None], ctx: Ctx, old: Record | None) -> None:
    """No unique key on the id: the loser's INSERT adds a second row (GET reads the first)."""
    default(ctx, old)
    if _lost_create(ctx, old, "POST") and ctx.route is not None:
        count_row(ctx, "race-post-duplicates")


SWITCHES.fault(
    "race-post-duplicates",
    "IDEM-1",
    "POST looks the id up, then inserts without a unique key: identical POSTs at once create it twice "
    "(the collection lists it twice).",
    settle=_lookup_then_wait(False),
    may_write=_insert_twice,
    listing=lambda default, ctx, records: with_rows(ctx, "race-post-duplicates", default(ctx, records)),
)


def _unique_violation(default: Callable[[Ctx, Record | None], None], ctx: Ctx, old: Record | None) -> None:
    """The loser's INSERT hits the unique key, and the driver's exception escapes: 500."""
    if _lost_create(ctx, old, "PUT"):
        raise RuntimeError("duplicate key value violates unique constraint")
    default(ctx, old)


SWITCHES.fault(
    "race-put-500",
    "IDEM-2",
    "PUT looks the id up, then inserts: of identical PUTs at once to a new id, the losers hit the unique key "
    "and get 500.",
    settle=_lookup_then_wait(False),
    may_write=_unique_violation,
)


# -- deletes ----------------------------------------------------------------------------------------------
def _gone_meanwhile(ctx: Ctx, key: Key) -> bool:
    return bool(ctx.state.get(_SEEN)) and ctx.services.store.get(ctx.org_id, key) is None


def _stale_delete(error: Callable[[Key], Exception]) -> Delete:
    """An override of ``delete`` that raises ``error(key)`` when another request deleted the object since
    this one looked it up."""

    def override(default: Callable[[Ctx, Key], None], ctx: Ctx, key: Key) -> None:
        gone = _gone_meanwhile(ctx, key)
        default(ctx, key)
        if gone:
            raise error(key)

    return override


SWITCHES.fault(
    "race-delete-404",
    "IDEM-6",
    "DELETE loads the object, then deletes it: of DELETEs at once, the losers find no row and answer 404.",
    settle=_lookup_then_wait(True),
    # ``DELETE … WHERE id = ?`` affected no row, which the code reads as "not found"
    delete=_stale_delete(lambda key: not_found(f"{key[-1][0]} {key[-1][1]} not found")),
)
SWITCHES.fault(
    "race-delete-500",
    "IDEM-6",
    "DELETE loads the object, then deletes it: of DELETEs at once, the losers get a stale-data error, 500.",
    settle=_lookup_then_wait(True),
    # the ORM deletes the instance it loaded; another request deleted the row first: a stale-data error
    delete=_stale_delete(lambda key: RuntimeError("DELETE statement expected to delete 1 row(s); 0 were matched")),
)

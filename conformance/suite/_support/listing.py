"""Looking for one of the suite's objects in a listing of a collection that may hold anything.

A vendor's server holds other data, lists it in any order, and other clients write during the run. SPEC
sets no order and no paging (ambiguity 21): a collection is read as one page at the largest ``limit`` the
description declares, and the description offers no way past it. So only what was seen is evidence: an id
listed twice is a duplicate wherever the rest lies, an id listed once is listed; an id not listed proves
nothing unless the page held the whole collection. The caller says "inconclusive" rather than pass or fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.http.exchange import Exchange
from conformance.model import Resource
from conformance.suite._support.asserts import mentions

INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Sighting:
    """What one look at a collection says about one id."""

    count: int  # listed items naming the id, on the pages read
    pages: int  # pages read: 0 (no listing to read) or 1 (SPEC gives no way past the first)
    conclusive: bool  # the pages held the whole collection, so ``count`` is the collection's own
    reason: str  # why it is not conclusive ("" when it is), in words for the record
    exchange: Exchange | None = None  # the last listing read: evidence

    def shows_at_least(self, n: int) -> bool:
        """Seen ``n`` times or more: true whatever the unread pages hold."""
        return self.count >= n


def collection_of(resource: Resource, item_path: str) -> str | None:
    """The collection listing ``item_path`` (the item path without its ``/{id}``, as SPEC's paths are)."""
    if not resource.collection_path:
        return None
    return item_path.rsplit("/", 1)[0]


def look_for(
    target: Any,
    resource: Resource,
    item_path: str,
    *,
    version: int | None = None,
    client: Any = None,
) -> Sighting:
    """How often the id of ``item_path`` is listed in its (child) collection, and whether that is all of it.

    A ``404`` for the collection is a conclusive "not listed" (the caller's parent is not there, for this
    client: AUTH-4's second organization). Any other failure, or a success that is not an array, is
    inconclusive: the per-response checks and other tests judge those answers."""
    coll = collection_of(resource, item_path)
    what = f"the collection {resource.collection_path}"
    if coll is None:
        return Sighting(0, 0, False, f"the description declares no collection for {resource.item_path}")
    object_id = item_path.rsplit("/", 1)[1]
    page = resource.limit_max if resource.limit_param and resource.limit_max else None
    params = {resource.limit_param: page} if page else None
    page = page or (resource.limit_default if resource.limit_param else None)
    ex = target.get(resource, coll, version=version, client=client, params=params)
    if ex.status == 404:
        return Sighting(0, 1, True, "", ex)
    if ex.status != 200 or not isinstance(ex.data, list):
        return Sighting(0, 1, False, f"{what} answered HTTP {ex.status} without an array", ex)
    count = sum(1 for item in ex.data if mentions(item, object_id))
    if not ex.data or (page is not None and len(ex.data) < page):
        return Sighting(count, 1, True, "", ex)
    size = (
        f"a full page of {len(ex.data)}" if page else f"{len(ex.data)} items and the description declares no page size"
    )
    return Sighting(
        count,
        1,
        False,
        f"{what} listed {size}: it may hold more, and SPEC sets no order and no paging (ambiguity 21)",
        ex,
    )

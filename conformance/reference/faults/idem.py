"""IDEM: POST and PUT to an item path both create or update (IDEM-1, IDEM-2); a write is a complete copy
(IDEM-3) that GET reads back (IDEM-4); GET changes nothing (IDEM-5); DELETE removes, and again succeeds
(IDEM-6); an identical write moves no stamp, and created_at never moves (IDEM-7).

Faults only overlapping requests expose are in ``races.py``, those only generated bodies reach in ``fuzz.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from conformance.model.schemas import format_of
from conformance.reference.behaviour import ApiError, Ctx, not_found
from conformance.reference.faults.hooks import Compose, Composer
from conformance.reference.faults.shared import count_row, later, with_rows
from conformance.reference.faults.switch import Group
from conformance.reference.store import Key, Record

SWITCHES = Group()
Loader = Callable[[Ctx, Key], Record | None]  # the correct load
Deleter = Callable[[Ctx, Key], None]  # the correct delete
Stamper = Callable[[Ctx, Record | None, dict[str, Any]], tuple[datetime, datetime]]  # the correct stamp


# -- IDEM-1 ---------------------------------------------------------------------------------------
def _post_conflict(default: Callable[[Ctx, Record | None], None], ctx: Ctx, old: Record | None) -> None:
    if ctx.method == "POST" and old is not None:
        raise ApiError(403, "validation_failed", "an object with this id already exists")
    default(ctx, old)


SWITCHES.fault("idem-post-conflict", "IDEM-1", "POST is create-only: a second POST gets 403.", may_write=_post_conflict)


def _post_duplicates_count(default: Callable[[Ctx, Record | None], None], ctx: Ctx, old: Record | None) -> None:
    default(ctx, old)
    if ctx.method == "POST" and old is not None and ctx.route is not None:
        count_row(ctx, "idem-post-duplicates")


SWITCHES.fault(
    "idem-post-duplicates",
    "IDEM-1",
    "Every POST inserts a row: repeats show up twice in the collection.",
    may_write=_post_duplicates_count,
    listing=lambda default, ctx, records: with_rows(ctx, "idem-post-duplicates", default(ctx, records)),
)


# -- IDEM-2 ---------------------------------------------------------------------------------------
def _put_update_only(default: Callable[[Ctx, Record | None], None], ctx: Ctx, old: Record | None) -> None:
    if ctx.method == "PUT" and old is None:
        raise not_found("nothing to update at this id")
    default(ctx, old)


SWITCHES.fault(
    "idem-put-update-only", "IDEM-2", "PUT is update-only: PUT to a new id gets 404.", may_write=_put_update_only
)


def _put_without_defaults(default: Composer, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict[str, Any]:
    fields = default(ctx, old, values)
    if ctx.method == "PUT" and ctx.route is not None:
        for f in ctx.route.resource.writable(ctx.version):
            if f.name not in values:
                fields[f.name] = None
    return fields


SWITCHES.fault(
    "idem-put-no-defaults",
    "IDEM-2",
    "PUT stores omitted fields as null instead of their defaults.",
    compose=_put_without_defaults,
)

# -- IDEM-3 ---------------------------------------------------------------------------------------
SWITCHES.fault(
    "idem-merge",
    "IDEM-3",
    "Writes merge into the stored object instead of replacing it.",
    compose=lambda default, ctx, old, values: default(ctx, old, {**(old.fields if old else {}), **values}),
)


# -- IDEM-4 ---------------------------------------------------------------------------------------
def _stale_read(default: Loader, ctx: Ctx, key: Key) -> Record | None:
    cache = ctx.services.scratch.setdefault("idem-stale-read", {})
    current = default(ctx, key)
    if current is None:
        cache.pop((ctx.org_id, key), None)
        return None
    return cache.setdefault((ctx.org_id, key), current)


SWITCHES.fault("idem-stale-read", "IDEM-4", "GET serves a read cache that writes never invalidate.", load=_stale_read)


def _read_drops_field(default: Loader, ctx: Ctx, key: Key) -> Record | None:
    record = default(ctx, key)
    if record is not None and ctx.route is not None:
        optional = [f for f in ctx.route.resource.writable(ctx.version) if not f.required]
        if optional and (optional[0].has_default or optional[0].nullable):
            record.fields[optional[0].name] = optional[0].default()
    return record


SWITCHES.fault(
    "idem-write-drops-field",
    "IDEM-4",
    "The read path loses the first optional field (its default comes back).",
    load=_read_drops_field,
)


def _address_fields(ctx: Ctx) -> set[str]:
    """The request resource's fields that hold a mail address (``format: email``, or a pattern asking for ``@``)."""
    if ctx.route is None:
        return set()
    return {
        f.name
        for f in ctx.route.resource.writable(ctx.version)
        if format_of(f.schema) in ("email", "idn-email") or f.schema.get("pattern") == "@"
    }


def _addresses_normalised(normalise: Callable[[str], str]) -> Compose:
    """An override of ``compose`` that stores each address as ``normalise`` makes it."""

    def override(default: Composer, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict[str, Any]:
        names = _address_fields(ctx)
        values = {k: normalise(v) if k in names and isinstance(v, str) else v for k, v in values.items()}
        return default(ctx, old, values)

    return override


def _domain_lowered(text: str) -> str:
    local, at, domain = text.rpartition("@")
    return f"{local}{at}{domain.lower()}" if at else text


SWITCHES.fault(
    "idem-address-lowercased",
    "IDEM-4",
    "Stores mail addresses lower-cased (a normalising setter): Ana.Souza@Example.com reads back as "
    "ana.souza@example.com, though an address's local part is case-sensitive (RFC 5321).",
    compose=_addresses_normalised(str.lower),
)
SWITCHES.variant(
    "address-domain-lowercased",
    "Stores the domain of a mail address lower-cased (domains are case-insensitive, RFC 5321); the local part "
    "as written.",
    compose=_addresses_normalised(_domain_lowered),
)


# -- IDEM-5 ---------------------------------------------------------------------------------------
def _get_touches(default: Loader, ctx: Ctx, key: Key) -> Record | None:
    if default(ctx, key) is None:
        return None

    def touch(old: Record | None) -> Record:
        assert old is not None
        old.updated = later(old.updated, ctx.now)
        return old

    return ctx.services.store.write(ctx.org_id, key, touch)[1]


SWITCHES.fault("idem-get-side-effect", "IDEM-5", "GET records an access by moving updated_at.", load=_get_touches)


# -- IDEM-6 ---------------------------------------------------------------------------------------
def _delete_missing_404(default: Deleter, ctx: Ctx, key: Key) -> None:
    if ctx.services.store.get(ctx.org_id, key) is None:
        raise not_found("already deleted")
    default(ctx, key)


SWITCHES.fault(
    "idem-delete-twice-404", "IDEM-6", "Deleting an already deleted object gets 404.", delete=_delete_missing_404
)
SWITCHES.fault(
    "idem-delete-noop",
    "IDEM-6",
    "DELETE answers success but removes nothing.",
    delete=lambda default, ctx, key: None,
)


def _first_delete_500(default: Deleter, ctx: Ctx, key: Key) -> None:
    """A cold connection pool: the server's very first DELETE fails; every later one works."""
    if not ctx.services.scratch.get("deleted_once"):
        ctx.services.scratch["deleted_once"] = True
        raise ApiError(500, "internal_error", "database connection not ready")
    default(ctx, key)


SWITCHES.fault(
    "flaky-first-delete-500",
    "IDEM-6",
    "Intermittent: the server's first DELETE gets 500 internal_error and deletes nothing; later ones work "
    "(a finding that --confirm re-runs do not reproduce).",
    delete=_first_delete_500,
)

# A soft delete whose filter was forgotten in one query: the row is flagged deleted, the item read checks
# the flag (GET gets 404), but the collection's query does not, so the deleted object is still listed.
# IDEM-6: DELETE removes the object, and a listing that still holds it shows it was not removed.
_FLAGGED = "soft-deleted"  # Services.scratch: (organization, parent key, resource name) -> {id: record}


def _flag(default: Deleter, ctx: Ctx, key: Key) -> None:
    record = ctx.services.store.get(ctx.org_id, key)
    default(ctx, key)
    if record is not None and ctx.route is not None:
        rows = ctx.services.scratch.setdefault(_FLAGGED, {})
        rows.setdefault((ctx.org_id, key[:-1], key[-1][0]), {})[key[-1][1]] = record


def _list_flagged(
    default: Callable[[Ctx, list[Record]], list[Record]], ctx: Ctx, records: list[Record]
) -> list[Record]:
    out = default(ctx, records)
    route = ctx.route
    if route is None:
        return out
    flagged = ctx.services.scratch.get(_FLAGGED, {}).get((ctx.org_id, route.parent_key, route.resource.name), {})
    live = {r.ids.get(route.resource.id_param) for r in out}
    return out + [r for object_id, r in flagged.items() if object_id not in live]


SWITCHES.fault(
    "idem-delete-still-listed",
    "IDEM-6",
    "A soft delete: GET of a deleted object gets 404, but the collection still lists it.",
    delete=_flag,
    listing=_list_flagged,
)


def _delete_never_existed_404(default: Deleter, ctx: Ctx, key: Key) -> None:
    if not ctx.services.store.existed(ctx.org_id, key):
        raise not_found("no object has ever had this id")
    default(ctx, key)


SWITCHES.variant(
    "delete-unknown-404",
    "DELETE of an id that never existed gets 404; an already deleted one still succeeds (Ambiguity 6).",
    delete=_delete_never_existed_404,
)


# -- IDEM-7 ---------------------------------------------------------------------------------------
def _touch_always(default: Stamper, ctx: Ctx, old: Record | None, fields: dict[str, Any]) -> tuple[datetime, datetime]:
    created, updated = default(ctx, old, fields)
    return (created, later(old.updated, ctx.now)) if old is not None else (created, updated)


SWITCHES.fault(
    "idem-touch-updated-at",
    "IDEM-7",
    "Every write moves updated_at, even one that changes nothing.",
    stamp=_touch_always,
)


def _created_moves(default: Stamper, ctx: Ctx, old: Record | None, fields: dict[str, Any]) -> tuple[datetime, datetime]:
    created, updated = default(ctx, old, fields)
    if old is None:
        return created, updated
    moved = later(old.created, ctx.now)
    return moved, max(moved, updated)


SWITCHES.fault("idem-created-at-moves", "IDEM-7", "Updates reset created_at to the update time.", stamp=_created_moves)


def _put_reinserts(default: Stamper, ctx: Ctx, old: Record | None, fields: dict[str, Any]) -> tuple[datetime, datetime]:
    if ctx.method == "PUT" and old is not None:  # delete + insert: a new row, stamped now (same second: unseen)
        return ctx.now, ctx.now
    return default(ctx, old, fields)


SWITCHES.fault(
    "idem-put-resets-created-at",
    "IDEM-3",
    "PUT of an existing object is a delete and an insert: created_at becomes the time of the PUT (seen only when "
    "the PUT comes in a later second than the create).",
    stamp=_put_reinserts,
)


# -- rules a description does not state (SPEC ambiguity 15), kept right and kept wrong -------------
# A vendor may validate more than its description says: the variant's rules refuse bodies the reference
# description allows, by the body alone, and the suite must pass it (reporting description gaps). The
# faults make validity depend on the history, the id or the method, which SPEC forbids.
def _refuse(message: str) -> ApiError:
    return ApiError(403, "validation_failed", message)


def _own_rules(default: Composer, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict[str, Any]:
    """Campaign names start with a letter; a select field offers at least two options."""
    resource = ctx.route.resource.name if ctx.route else ""
    name = values.get("name")
    if resource == "campaigns" and isinstance(name, str) and not name[:1].isalpha():
        raise _refuse("name must start with a letter")
    kind = values.get("field_type")
    select = resource == "custom_fields" and isinstance(kind, str) and kind.startswith("select_")
    if select and len(values.get("options") or []) < 2:
        raise _refuse(f"a {kind} field needs at least two options")
    return default(ctx, old, values)


SWITCHES.variant(
    "undeclared-rules",
    "Validates more than its description states: campaign names must start with a letter, select fields "
    "need two options (403 validation_failed for such bodies, wherever they are written).",
    compose=_own_rules,
)


def _unique_names(default: Composer, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict[str, Any]:
    """A name unique among its siblings within the organization (the object written left out): a rule by the
    body and the organization's other objects, as a database's unique index keeps it."""
    if ctx.route is not None and ctx.route.kind == "item":
        for unique in ("name", "email"):
            value = values.get(unique)
            if not isinstance(value, str):
                continue
            siblings = ctx.services.store.children(ctx.org_id, ctx.route.parent_key, ctx.route.resource.name)
            if any(r.fields.get(unique) == value and r.ids != ctx.route.ids for r in siblings):
                raise _refuse(f"a {ctx.route.resource.name} with {unique} {value!r} already exists")
    return default(ctx, old, values)


SWITCHES.variant(
    "names-unique-per-org",
    "A name (mailing lists, campaigns, custom fields of a list) or an email (subscribers of a list) is unique "
    "among its siblings within an organization: a second object with a taken one is refused with 403 "
    "validation_failed; the other organization's do not count.",
    compose=_unique_names,
)


def _unique_name_counting_itself(
    default: Composer, ctx: Ctx, old: Record | None, values: dict[str, Any]
) -> dict[str, Any]:
    """Campaign names unique per organization, by a check that forgets to leave out the object written."""
    if ctx.route is not None and ctx.route.resource.name == "campaigns" and "name" in values:
        siblings = ctx.services.store.children(ctx.org_id, ctx.route.parent_key, "campaigns")
        if any(r.fields.get("name") == values["name"] for r in siblings):
            raise _refuse(f"a campaign named {values['name']!r} already exists")
    return default(ctx, old, values)


SWITCHES.fault(
    "idem-unique-name-counts-itself",
    "IDEM-1",
    "Campaign names are unique per organization, but the check counts the object being written: repeating "
    "the same POST is refused with 403 validation_failed.",
    compose=_unique_name_counting_itself,
)


def _put_needs_every_field(default: Composer, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict[str, Any]:
    if ctx.method == "PUT" and ctx.route is not None:
        writable = {f.name for f in ctx.route.resource.writable(ctx.version)}
        missing = sorted(writable - set(values))
        if missing:
            raise _refuse(f"a PUT must give every field; missing: {', '.join(missing)}")
    return default(ctx, old, values)


SWITCHES.fault(
    "idem-put-needs-every-field",
    "IDEM-2",
    "PUT refuses (403 validation_failed) a body that leaves out optional fields; POST accepts it.",
    compose=_put_needs_every_field,
)


def _field_type_fixed(default: Composer, ctx: Ctx, old: Record | None, values: dict[str, Any]) -> dict[str, Any]:
    if old is not None and "field_type" in old.fields and values.get("field_type") != old.fields["field_type"]:
        raise _refuse("field_type cannot be changed once the field exists")
    return default(ctx, old, values)


SWITCHES.fault(
    "idem-field-type-fixed",
    "IDEM-3",
    "A custom field's field_type cannot change once written (403 validation_failed): whether a body is "
    "accepted depends on the id's history.",
    compose=_field_type_fixed,
)

"""AUTH: no Authorization header gets 401 not_authorized on every operation, with data null (AUTH-1); a
wrong key, an empty key, another scheme or an undecodable value gets 401 too (AUTH-2); the valid key sent
verbatim as Basic is accepted (AUTH-3); one organization cannot see or change another's objects (AUTH-4).

Some faults here keep a request-level rule on some operations only: a check written into the read handlers
and forgotten in the write, delete or list handlers (so are ``*-on-delete``, ``*-on-writes``, ``*-on-update-*``
and the unknown-path faults of ``ver.py``, ``json_.py`` and ``status.py``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Collection
from typing import Any

from conformance.reference.behaviour import ApiError, Ctx, not_found
from conformance.reference.faults.hooks import Authenticate, Composer, MayWrite
from conformance.reference.faults.shared import after_shape, set_member
from conformance.reference.faults.switch import Group
from conformance.reference.orgs import Organization, basic_credential, find_org
from conformance.reference.store import Key, Record

SWITCHES = Group()
Authenticator = Callable[[Ctx], Organization]  # the correct authenticate


# -- AUTH-1 ---------------------------------------------------------------------------------------
def _no_header_served_on(method: str) -> Authenticate:
    """An override of ``authenticate`` that serves ``method`` without an Authorization header, as org 1."""

    def override(default: Authenticator, ctx: Ctx) -> Organization:
        if ctx.method == method and "authorization" not in ctx.request.headers:
            return ctx.services.orgs[0]
        return default(ctx)

    return override


SWITCHES.fault(
    "auth-skip-on-reads",
    "AUTH-1",
    "GET without an Authorization header is served (as org 1).",
    authenticate=_no_header_served_on("GET"),
)
SWITCHES.fault(
    "auth-skip-on-delete",
    "AUTH-1",
    "DELETE without an Authorization header is served (as org 1).",
    authenticate=_no_header_served_on("DELETE"),
)
SWITCHES.fault(
    "auth-401-data-not-null",
    "AUTH-1",
    "401 answers carry data {}.",
    shape_reply=after_shape(set_member("data", dict, lambda c, r: r.status == 401)),
)


def _auth_route_first(default: Authenticator, ctx: Ctx) -> Organization:
    if ctx.services.router.match(ctx.path) is None:
        raise not_found(f"no such path: {ctx.path}")
    return default(ctx)


SWITCHES.fault(
    "auth-unknown-path-404",
    "AUTH-1",
    "Routes before authenticating: an unknown path gets 404 without credentials.",
    authenticate=_auth_route_first,
)


# -- AUTH-2 ---------------------------------------------------------------------------------------
def _wrong_key_403(message: str, methods: Collection[str] | None = None) -> Authenticate:
    """An override of ``authenticate`` that answers a present but wrong key (on ``methods``; None: on all)
    with 403 invalid_request ``message``."""

    def override(default: Authenticator, ctx: Ctx) -> Organization:
        try:
            return default(ctx)
        except ApiError:
            if (methods is None or ctx.method in methods) and "authorization" in ctx.request.headers:
                raise ApiError(403, "invalid_request", message) from None
            raise

    return override


SWITCHES.fault(
    "auth-403-wrong-key", "AUTH-2", "A present but wrong key gets 403.", authenticate=_wrong_key_403("invalid API key")
)
SWITCHES.fault(
    "auth-403-wrong-key-on-delete",
    "AUTH-2",
    "DELETE checks permissions before the key: a present but wrong key gets 403 there.",
    authenticate=_wrong_key_403("you may not delete this object", ("DELETE",)),
)


def _auth_any_basic(default: Authenticator, ctx: Ctx) -> Organization:
    if basic_credential(ctx.request.headers.get("authorization")) is not None:
        return (
            find_org(ctx.services.orgs, basic_credential(ctx.request.headers["authorization"])) or ctx.services.orgs[0]
        )
    return default(ctx)


SWITCHES.fault(
    "auth-accept-any-basic", "AUTH-2", "Any Basic credential is accepted (as org 1).", authenticate=_auth_any_basic
)


def _auth_decode_crash(default: Authenticator, ctx: Ctx) -> Organization:
    key = basic_credential(ctx.request.headers.get("authorization"))
    if key is not None and find_org(ctx.services.orgs, key) is None:
        # "find the organization from the key's number" without guarding the decode
        number = base64.b64decode(key, validate=True).decode("ascii").split(":")[0]
        int(number)
    return default(ctx)


SWITCHES.fault(
    "auth-500-undecodable",
    "AUTH-2",
    "Decodes unknown keys to find the org number: garbage gets 500.",
    authenticate=_auth_decode_crash,
)


def _auth_any_scheme(default: Authenticator, ctx: Ctx) -> Organization:
    _, _, key = (ctx.request.headers.get("authorization") or "").strip().partition(" ")
    return find_org(ctx.services.orgs, key.strip() or None) or default(ctx)


SWITCHES.fault(
    "auth-accept-bearer",
    "AUTH-2",
    "Accepts a valid key under any scheme (Bearer, Token, ...).",
    authenticate=_auth_any_scheme,
)


# Near misses: a credential that is almost the key, let through by code that compares, normalizes or
# matches where it should compare exactly.
def _key_matching(match: Callable[[str, str], bool]) -> Authenticate:
    """An override of ``authenticate`` that also lets a credential ``match(given, key)`` accepts through."""

    def override(default: Authenticator, ctx: Ctx) -> Organization:
        try:
            return default(ctx)
        except ApiError:
            given = basic_credential(ctx.request.headers.get("authorization"))
            for org in ctx.services.orgs:
                if given is not None and match(given, org.key):
                    return org
            raise

    return override


SWITCHES.fault(
    "auth-key-case-insensitive",
    "AUTH-2",
    "Compares the key case-insensitively: the key in other letter case is accepted.",
    authenticate=_key_matching(lambda given, key: given.lower() == key.lower()),
)


def _unicode_trimmed(default: Authenticator, ctx: Ctx) -> Organization:
    """Go's ``strings.TrimSpace`` on the UTF-8 header: no-break, ideographic and other Unicode spaces go."""
    raw = ctx.request.headers.get("authorization") or ""
    text = raw.encode("latin-1", "replace").decode("utf-8", "replace")
    given = basic_credential(text)
    for org in ctx.services.orgs:
        if given is not None and given.strip() == org.key:
            return org
    return default(ctx)


SWITCHES.fault(
    "auth-key-unicode-trim",
    "AUTH-2",
    "Reads the header as UTF-8 and trims the key of Unicode whitespace (Go's strings.TrimSpace): the key "
    "with a no-break or ideographic space around it is accepted.",
    authenticate=_unicode_trimmed,
)
SWITCHES.fault(
    "auth-key-prefix",
    "AUTH-2",
    "Compares only as many characters as were sent (strncmp with the given length): a prefix of the key is accepted.",
    authenticate=_key_matching(lambda given, key: key.startswith(given)),
)
SWITCHES.fault(
    "auth-key-startswith",
    "AUTH-2",
    "Accepts a credential that starts with the key (a fixed-length read): the key plus characters is accepted.",
    authenticate=_key_matching(lambda given, key: given.startswith(key)),
)


def _rfc7617_too(given: str, key: str) -> bool:
    """The key verbatim, or RFC 7617's base64 of ``user:password`` with the key as either part."""
    try:
        decoded = base64.b64decode(given, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return ":" in decoded and key in decoded.split(":", 1)


SWITCHES.variant(
    "auth-rfc7617-too",
    "Accepts the key verbatim and also as standard RFC 7617 Basic (base64 of key: or :key, as curl -u sends): "
    "the same secret, so not a wrong key.",
    authenticate=_key_matching(_rfc7617_too),
)


# -- AUTH-3 ---------------------------------------------------------------------------------------
def _auth_double_decode(default: Authenticator, ctx: Ctx) -> Organization:
    """Treats the key as RFC 7617 ``base64(user:password)`` and looks the *user* up."""
    key = basic_credential(ctx.request.headers.get("authorization")) or ""
    try:
        user = base64.b64decode(key, validate=True).decode("utf-8").split(":", 1)[0]
    except ValueError:
        user = ""
    org = find_org(ctx.services.orgs, user or None)
    if org is None:
        raise ApiError(401, "not_authorized", "send Authorization: Basic <key> with a valid API key")
    return org


SWITCHES.fault(
    "auth-reject-valid",
    "AUTH-3",
    "Expects RFC 7617 base64(key:) instead of the key verbatim.",
    authenticate=_auth_double_decode,
)


# -- AUTH-4 ---------------------------------------------------------------------------------------
def _read_any_org(default: Callable[[Ctx, Key], Record | None], ctx: Ctx, key: Key) -> Record | None:
    found = default(ctx, key)
    for org in ctx.services.orgs:
        if found is None:
            found = ctx.services.store.get(org.number, key)
    return found


SWITCHES.fault("auth-cross-org-read", "AUTH-4", "GET finds objects of any organization.", load=_read_any_org)


def _delete_any_org(default: Callable[[Ctx, Key], None], ctx: Ctx, key: Key) -> None:
    default(ctx, key)
    for org in ctx.services.orgs:
        ctx.services.store.delete(org.number, key)


SWITCHES.fault(
    "auth-cross-org-delete", "AUTH-4", "DELETE removes the id in every organization.", delete=_delete_any_org
)

# AUTH-4 on writes: the ways a multi-tenant store lets one organization's ids show through to another.
# Ambiguity 16: another organization's POST or PUT to an id the first one holds creates its own object.
# A store whose primary key is the id alone (no organization in it) refuses that write, and so tells the
# second organization the id exists elsewhere (an existence oracle); one that updates by id alone changes
# the first organization's object.


def _held_elsewhere(ctx: Ctx) -> list[int]:
    """The other organizations holding an object at the request's key."""
    assert ctx.route is not None
    store, key = ctx.services.store, ctx.route.key
    return [o.number for o in ctx.services.orgs if o.number != ctx.org_id and store.get(o.number, key) is not None]


def _refuse_taken(status: int, code: str, message: str) -> MayWrite:
    """An override of ``may_write``: a create at an id another organization holds fails like a unique index."""

    def override(default: Callable[[Ctx, Record | None], None], ctx: Ctx, old: Record | None) -> None:
        if old is None and _held_elsewhere(ctx):
            raise ApiError(status, code, message)
        default(ctx, old)

    return override


SWITCHES.fault(
    "auth-global-id-409",
    "AUTH-4",
    "Ids are unique across organizations (a global primary key): a write to an id another organization "
    'holds gets 409 "already exists".',
    may_write=_refuse_taken(409, "validation_failed", "an object with this id already exists"),
)
SWITCHES.fault(
    "auth-global-id-403",
    "AUTH-4",
    "Ids are unique across organizations: a write to an id another organization holds gets 403 "
    'validation_failed "id already in use" (inside the status table, so only the isolation test sees it).',
    may_write=_refuse_taken(403, "validation_failed", "this id is already in use"),
)
SWITCHES.fault(
    "auth-global-id-500",
    "AUTH-4",
    "Ids are unique across organizations and the unique-constraint violation escapes: a write to an id "
    "another organization holds gets 500.",
    may_write=_refuse_taken(500, "internal_error", 'duplicate key value violates unique constraint "objects_pkey"'),
)


def _overwritten(rec: Record | None, fields: dict[str, Any], now: Any) -> Record:
    if rec is None:  # _held_elsewhere named it: another organization holds the key
        raise LookupError("the other organization's object went away")
    return Record(rec.ids, dict(fields), rec.created, now)


def _update_by_id_alone(
    default: Composer,
    ctx: Ctx,
    old: Record | None,
    values: dict[str, Any],
) -> dict[str, Any]:
    """``UPDATE ... WHERE id = ?`` without the organization: an update also overwrites the others' rows."""
    fields = default(ctx, old, values)
    if old is not None and ctx.route is not None:
        for number in _held_elsewhere(ctx):
            ctx.services.store.write(number, ctx.route.key, lambda rec: _overwritten(rec, fields, ctx.now))
    return fields


SWITCHES.fault(
    "auth-update-any-org",
    "AUTH-4",
    "Updates by id without the organization filter: an update also overwrites every other organization's "
    "object at that id.",
    compose=_update_by_id_alone,
)

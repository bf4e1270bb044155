"""Request-level rules kept on some operations only: a check written into the read handlers and forgotten
in the write, delete or list handlers (AUTH-1/2, VER-1..5, JSON-2, STATUS-4)."""

from __future__ import annotations

from typing import Any

from conformance.reference.behaviour import ApiError, Ctx, Reply, success
from conformance.reference.faults import Override, fault
from conformance.reference.orgs import Organization

WRITES = ("POST", "PUT", "DELETE")


def _auth_skipped_on_delete(default: Override, ctx: Ctx) -> Organization:
    if ctx.method == "DELETE" and "authorization" not in ctx.request.headers:
        return ctx.services.orgs[0]
    return default(ctx)


def _wrong_key_403_on_delete(default: Override, ctx: Ctx) -> Organization:
    try:
        return default(ctx)
    except ApiError:
        if ctx.method == "DELETE" and "authorization" in ctx.request.headers:
            raise ApiError(403, "invalid_request", "you may not delete this object") from None
        raise


def _unknown_version_ignored_on_writes(default: Override, ctx: Ctx) -> int:
    try:
        return default(ctx)
    except ApiError:
        if ctx.method in WRITES:
            return 1
        raise


def _no_path_version_for_collections(default: Override, ctx: Ctx) -> int:
    route = ctx.services.router.match(ctx.path)
    if ctx.path_version is not None and route is not None and route.kind == "collection":
        raise ApiError(404, "not_found", f"no such path: /v{ctx.path_version}{ctx.path}")
    return default(ctx)


def _unversioned_write_is_latest(default: Override, ctx: Ctx) -> int:
    if ctx.method in ("POST", "PUT") and ctx.path_version is None and ctx.header_version is None:
        return ctx.services.model.latest_version
    return default(ctx)


def _update_body_unguarded(default: Override, ctx: Ctx, raw: bytes) -> dict[str, Any]:
    existing = ctx.route is not None and ctx.services.store.get(ctx.org_id, ctx.route.key) is not None
    try:
        return default(ctx, raw)
    except ApiError:
        if existing:
            raise ValueError("unhandled JSON decode error on the update path") from None
        raise


def _unknown_path(ctx: Ctx) -> bool:
    return ctx.route is None and ctx.org is not None and ctx.services.router.match(ctx.path) is None


def _catch_all_delete(default: Override, ctx: Ctx, reply: Reply) -> Reply:
    reply = default(ctx, reply)
    if ctx.method == "DELETE" and reply.status == 404 and _unknown_path(ctx):
        return success({"deleted": True})
    return reply


def _writes_validated_before_routing(default: Override, ctx: Ctx) -> int:
    version = default(ctx)
    if ctx.method in ("POST", "PUT") and ctx.services.router.match(ctx.path) is None:
        raise ApiError(403, "validation_failed", "the body does not match any resource")
    return version


SWITCHES = [
    fault(
        "auth-skip-on-delete",
        "AUTH-1",
        "DELETE without an Authorization header is served (as org 1).",
        authenticate=_auth_skipped_on_delete,
    ),
    fault(
        "auth-403-wrong-key-on-delete",
        "AUTH-2",
        "DELETE checks permissions before the key: a present but wrong key gets 403 there.",
        authenticate=_wrong_key_403_on_delete,
    ),
    fault(
        "ver-unknown-fallback-on-writes",
        "VER-5",
        "Validates the version on reads only: an unknown or malformed version on POST, PUT or DELETE is served "
        "as version 1.",
        version=_unknown_version_ignored_on_writes,
    ),
    fault(
        "ver-path-collections-unrouted",
        "VER-2",
        "Has /vN routes for item paths only: a collection GET under /vN gets 404.",
        version=_no_path_version_for_collections,
    ),
    fault(
        "ver-unversioned-write-latest",
        "VER-3",
        "A write that names no version is served as the latest version (reads as version 1).",
        version=_unversioned_write_is_latest,
    ),
    fault(
        "json-500-on-update-body",
        "JSON-2",
        "The update path decodes the body unguarded: a body that is not a JSON object, sent to an existing "
        "object, gets 500 (creates are guarded).",
        parse_body=_update_body_unguarded,
    ),
    fault(
        "status-delete-unknown-path-200",
        "STATUS-4",
        "A catch-all DELETE route: DELETE of a path the API does not have answers 200.",
        shape_reply=_catch_all_delete,
    ),
    fault(
        "status-unknown-path-write-403",
        "STATUS-4",
        "Validates write bodies before routing: POST or PUT to a path the API does not have gets 403 "
        "validation_failed.",
        version=_writes_validated_before_routing,
    ),
]

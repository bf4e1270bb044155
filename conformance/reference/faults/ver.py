"""VER: a version is chosen with X-Version: N (VER-1) or a /vN path segment (VER-2); none means version 1
(VER-3); both forms are equivalent (VER-4); an unknown or malformed version is an error inside the status
table, never a silent fallback and never 5xx (VER-5). Faults ending ``-on-write(s)``, and the collections
one, keep the rule on some operations only (see ``auth.py``)."""

from __future__ import annotations

from collections.abc import Callable, Collection

from conformance.reference.behaviour import ApiError, Ctx, not_found
from conformance.reference.faults.hooks import Version
from conformance.reference.faults.switch import Group

SWITCHES = Group()
Versioner = Callable[[Ctx], int]  # the correct version
WRITES = ("POST", "PUT")


# -- VER-1, VER-4 ---------------------------------------------------------------------------------
def _header_ignored(methods: Collection[str] | None = None) -> Version:
    """An override of ``version`` that ignores X-Version (on ``methods``; None: on all)."""

    def override(default: Versioner, ctx: Ctx) -> int:
        if methods is None or ctx.method in methods:
            ctx.header_version = None
        return default(ctx)

    return override


SWITCHES.fault("ver-header-ignored", "VER-1", "Ignores X-Version (serves version 1).", version=_header_ignored())
SWITCHES.fault(
    "ver-header-ignored-on-write",
    "VER-4",
    "Honours X-Version on reads but not on writes (the /vN path works for both).",
    version=_header_ignored(WRITES),
)


# -- VER-2 ----------------------------------------------------------------------------------------
def _path_version_unrouted(when: Callable[[Ctx], bool]) -> Version:
    """An override of ``version`` that has no /vN route for the requests ``when`` accepts: 404."""

    def override(default: Versioner, ctx: Ctx) -> int:
        if ctx.path_version is not None and when(ctx):
            raise not_found(f"no such path: /v{ctx.path_version}{ctx.path}")
        return default(ctx)

    return override


def _collection(ctx: Ctx) -> bool:
    route = ctx.services.router.match(ctx.path)
    return route is not None and route.kind == "collection"


SWITCHES.fault(
    "ver-path-unsupported", "VER-2", "Has no /vN routes: 404.", version=_path_version_unrouted(lambda ctx: True)
)
SWITCHES.fault(
    "ver-path-collections-unrouted",
    "VER-2",
    "Has /vN routes for item paths only: a collection GET under /vN gets 404.",
    version=_path_version_unrouted(_collection),
)


# -- VER-3 ----------------------------------------------------------------------------------------
def _unversioned_is_latest(methods: Collection[str] | None = None) -> Version:
    """An override of ``version`` that serves a request naming no version (on ``methods``; None: on all)
    as the latest version."""

    def override(default: Versioner, ctx: Ctx) -> int:
        if (methods is None or ctx.method in methods) and ctx.path_version is None and ctx.header_version is None:
            return ctx.services.model.latest_version
        return default(ctx)

    return override


SWITCHES.fault("ver-latest-default", "VER-3", "No version means the latest, not 1.", version=_unversioned_is_latest())
SWITCHES.fault(
    "ver-unversioned-write-latest",
    "VER-3",
    "A write that names no version is served as the latest version (reads as version 1).",
    version=_unversioned_is_latest(WRITES),
)


# -- VER-5 ----------------------------------------------------------------------------------------
def _unknown_served_as_1(methods: Collection[str] | None = None) -> Version:
    """An override of ``version`` that serves an unknown or malformed version (on ``methods``; None: on all)
    as version 1."""

    def override(default: Versioner, ctx: Ctx) -> int:
        try:
            return default(ctx)
        except ApiError:
            if methods is None or ctx.method in methods:
                return 1
            raise

    return override


SWITCHES.fault(
    "ver-unknown-fallback",
    "VER-5",
    "An unknown or malformed version silently serves version 1.",
    version=_unknown_served_as_1(),
)
SWITCHES.fault(
    "ver-unknown-fallback-on-writes",
    "VER-5",
    "Validates the version on reads only: an unknown or malformed version on POST, PUT or DELETE is served "
    "as version 1.",
    version=_unknown_served_as_1((*WRITES, "DELETE")),
)


def _int_header(default: Versioner, ctx: Ctx) -> int:
    if ctx.header_version is not None:
        return int(ctx.header_version)  # ValueError on "abc" escapes as a 500
    return default(ctx)


SWITCHES.fault("ver-500-bad-header", "VER-5", "int(X-Version) unguarded: X-Version: abc gets 500.", version=_int_header)

# -- valid variants -------------------------------------------------------------------------------
SWITCHES.variant(
    "version-error-403",
    "An unknown version gets 403 invalid_request instead of 404 not_found.",
    version_error=lambda default, ctx, text: ApiError(403, "invalid_request", f"unsupported API version {text[:20]!r}"),
)

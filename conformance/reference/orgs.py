"""Organizations (tenants) and their API keys.

A key looks like the spec's example: base64 of ``<org-number>:<40 hex chars>``.
The client sends it verbatim in ``Authorization: Basic <key>``; the server does not
decode it (AUTH-3), it only compares it, in constant time, with the known keys.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DEFAULT_ZONES = ("America/Chicago", "Asia/Kolkata")

OrgSpec = str | tuple[str, str]
"""An organization to create: its IANA zone (a random key), or ``(zone, key)``."""


@dataclass(frozen=True)
class Organization:
    number: int
    zone_name: str
    key: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)


def new_key(number: int) -> str:
    return base64.b64encode(f"{number}:{secrets.token_hex(20)}".encode()).decode("ascii")


def make_orgs(specs: Sequence[OrgSpec] | None = None) -> list[Organization]:
    """Organizations numbered from 1; ``ValueError`` for an unknown zone or a reused key."""
    out: list[Organization] = []
    for number, item in enumerate(specs or DEFAULT_ZONES, start=1):
        zone, key = (item, new_key(number)) if isinstance(item, str) else item
        ZoneInfo(zone)  # raises for an unknown zone name
        if not key or any(o.key == key for o in out):
            raise ValueError(f"organization {number}: the API key must be non-empty and unique")
        out.append(Organization(number, zone, key))
    if not out:
        raise ValueError("at least one organization is needed")
    return out


def basic_credential(header: str | None) -> str | None:
    """The ``<key>`` of ``Authorization: Basic <key>`` (scheme case-insensitive), else None."""
    if not header:
        return None
    scheme, _, key = header.strip().partition(" ")
    key = key.strip()
    return key if scheme.lower() == "basic" and key else None


def find_org(orgs: Sequence[Organization], key: str | None) -> Organization | None:
    if key is None:
        return None
    given = key.encode("utf-8", "surrogateescape")
    found = None
    for org in orgs:  # no early exit: the time taken does not tell which key was close
        if hmac.compare_digest(org.key.encode("utf-8"), given):
            found = org
    return found

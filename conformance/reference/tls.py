"""The server's certificate, made at start by trustme, and the CA bundle clients trust.

Fault switches choose a broken certificate here (TLS-2): one from a CA other than
the published bundle, one for another host name, or an expired one.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme

TLS_MODES = ("valid", "untrusted", "wrong-host", "expired")


@dataclass(frozen=True)
class TlsMaterial:
    context: ssl.SSLContext
    ca_bundle: Path


def make_tls(directory: Path, host: str, mode: str = "valid") -> TlsMaterial:
    """A server context for ``host`` (plus localhost/127.0.0.1) and the bundle written to ``directory``."""
    if mode not in TLS_MODES:
        raise ValueError(f"unknown TLS mode {mode!r}")
    published = trustme.CA()
    issuer = trustme.CA() if mode == "untrusted" else published
    names = ["wrong-host.invalid"] if mode == "wrong-host" else sorted({host, "127.0.0.1", "localhost"})
    if mode == "expired":
        now = datetime.now(UTC)
        leaf = issuer.issue_cert(*names, not_before=now - timedelta(days=60), not_after=now - timedelta(days=1))
    else:
        leaf = issuer.issue_cert(*names)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    leaf.configure_cert(context)
    bundle = directory / "ca-bundle.pem"
    published.cert_pem.write_to_path(str(bundle))
    return TlsMaterial(context, bundle)

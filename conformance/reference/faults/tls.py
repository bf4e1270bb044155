"""TLS: the certificate a server presents, or none (server-level settings, no hooks)."""

from __future__ import annotations

from conformance.reference.faults.switch import Group

SWITCHES = Group()

SWITCHES.fault("tls-plain-http", "TLS-1", "Serves the API over plain HTTP (TLS terminated nowhere).", tls="plain")
SWITCHES.fault(
    "tls-untrusted-cert",
    "TLS-2",
    "Presents a certificate from a CA other than the published one (a leftover self-signed test certificate).",
    tls="untrusted",
)
SWITCHES.fault("tls-wrong-hostname", "TLS-2", "Presents a certificate issued for another host name.", tls="wrong-host")
SWITCHES.fault("tls-expired-cert", "TLS-2", "Presents an expired certificate (renewal forgotten).", tls="expired")

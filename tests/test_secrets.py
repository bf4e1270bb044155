"""No API key in anything a run writes, even when the target echoes every credential back.

The reference server runs with the ``echo-credentials`` variant: the raw Authorization
value and the key come back in ``X-Debug-*`` headers on every response, and the key in
plain, decoded, JSON-escaped and URL-encoded forms in every error_message. The run must
still pass (the variant is legal), and no form of either key may appear in its stdout,
stderr, or any byte of any file it leaves behind (reports, pytest and hypothesis caches).
"""

from __future__ import annotations

import base64
import json
import secrets
from types import SimpleNamespace

import pytest
import requests
from hostile import UNAUTHORIZED, HostileServer, per_request
from leaks import forms_of, leaks

from conformance.http.client import Client
from conformance.reference import faults
from conformance.reference.orgs import basic_credential
from conformance.suite import test_tls

ZONES = ("America/Chicago", "Asia/Kolkata")


def _key(number: int) -> str:
    """A key shaped like the spec's example (base64 of ``N:<hex>``) whose base64 holds ``/``, ``+`` and ``=``
    (the aligned groups ``ab?`` and ``cd>`` end in them), so its escaped and encoded forms differ from it."""
    key = base64.b64encode(f"{number}:{secrets.token_hex(20)}ab?cd>e".encode()).decode()
    assert {"+", "/", "="} <= set(key), key
    return key


def _scan(run, keys: list[str]) -> dict[str, list[str]]:
    """Where a key shows up: stdout, stderr, and every byte of every file the run left behind."""
    places = {"stdout": run.stdout.encode(), "stderr": run.stderr.encode()}
    run_dir = run.report_dir.parent  # the run's working directory: reports/ and any .pytest_cache, .hypothesis
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert {"report.html", "junit.xml", "certification.json"} <= {p.name for p in files}
    places |= {str(p.relative_to(run_dir)): p.read_bytes() for p in files}
    return {where: found for where, data in places.items() if (found := leaks(data, keys))}


def _server(reference_server, keys: list[str], faults: tuple[str, ...] = ()):
    handle = reference_server(faults, ("echo-credentials",), orgs=list(zip(ZONES, keys, strict=True)))
    assert handle.keys == keys
    return handle


def test_echoed_credentials_never_reach_the_outputs(certify, reference_server):
    keys = [_key(1), _key(2)]
    handle = _server(reference_server, keys)
    run = certify(variants=("echo-credentials",), args=("--profile", "smoke"), server=handle)

    assert run.code == 0, (
        f"the echo-credentials variant is legal, the run must pass:\n{run.stdout[-3000:]}\n{run.stderr}"
    )
    assert run.failing() == set()
    assert _scan(run, keys) == {}


def _accept_all_but_last_character(default, ctx):
    """A key compared without its last character before its base64 padding (a truncating comparison)."""
    given = basic_credential(ctx.request.headers.get("authorization")) or ""
    for org in ctx.services.orgs:
        mine, theirs = given.rstrip("="), org.key.rstrip("=")
        if len(given) == len(org.key) and len(mine) == len(theirs) and mine[:-1] == theirs[:-1]:
            return org
    return default(ctx)


@pytest.mark.parametrize(
    ("fault", "clause", "shown"),
    [
        # 404s with error_code invalid_request: the echoed error_message (every form of the key) is evidence
        ("status-wrong-error-code", "STATUS-2", "[debug: Authorization="),
        # AUTH-2 sends the key with one character changed; accepting it makes that request evidence
        ("test-truncated-compare", "AUTH-2", "the key with a character changed"),
    ],
)
def test_echoed_credentials_in_evidence_are_redacted(certify, reference_server, monkeypatch, fault, clause, shown):
    """A failing run writes exchanges with the echoed credentials as evidence; none may survive.
    A key with one character changed is the key, give or take six bits: it must not survive either."""
    monkeypatch.setitem(
        faults.FAULTS,
        "test-truncated-compare",
        faults.Switch(
            "test-truncated-compare",
            "Compares keys without their last character before the padding.",
            "AUTH-2",
            {"authenticate": _accept_all_but_last_character},
        ),
    )
    keys = [_key(1), _key(2)]
    handle = _server(reference_server, keys, faults=(fault,))
    run = certify(args=("--profile", "smoke", "--clause", clause.split("-")[0]), server=handle)

    assert run.verdicts()[clause] == "fail"
    evidence = json.dumps([c["findings"] for c in run.record["clauses"] if c["id"] == clause])
    assert shown in evidence and "x-debug-key" in evidence
    assert _scan(run, keys) == {}


def test_the_server_really_echoes(reference_server):
    """Guard against a vacuous pass: the variant does put every form on the wire."""
    key = _key(1)
    handle = reference_server(variants=("echo-credentials",), orgs=[(ZONES[0], key), ZONES[1]])
    resp = requests.get(
        f"{handle.base_url}/no-such-path",
        headers={"Authorization": f"Basic {key}"},
        verify=handle.ca_bundle,
        timeout=10,
    )
    assert resp.status_code == 404 and resp.json()["success"] is False
    assert resp.headers["X-Debug-Authorization"] == f"Basic {key}" and resp.headers["X-Debug-Key"] == key
    wire = resp.content + "".join(f"{k}: {v}\n" for k, v in resp.headers.items()).encode()
    expected = {f"key 1 ({name})" for name in forms_of(key)} - {"key 1 (base64 of the key)", "key 1 (base64 of key:)"}
    assert set(leaks(wire, [key])) >= expected


def test_redactor_masks_a_key_with_one_character_changed():
    from conformance.http.redact import MASK_ALTERED, Redactor

    key = _key(1)
    near = key[:10] + ("A" if key[10] != "A" else "B") + key[11:]
    clean = Redactor([key]).text(f'Authorization: Basic {near} {{"id":"cft0123456789abcd"}}')
    assert clean == f'Authorization: Basic {MASK_ALTERED} {{"id":"cft0123456789abcd"}}'


def test_the_plain_http_probe_sends_no_credential_not_even_one_from_netrc(tmp_path, monkeypatch):
    """TLS-1 asks plain HTTP at the API root for data, with no credentials. requests adds the credentials a
    ``.netrc`` holds for a host to every request to it, plain HTTP included, unless told not to read the
    environment: the probe's session reads nothing from it, as the client's does not."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login vendor password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with HostileServer(per_request(lambda conn, request: conn.send(UNAUTHORIZED))) as plain:
        base = plain.base_url.replace("http://", "https://", 1)
        target = SimpleNamespace(settings=SimpleNamespace(base_url=base, timeout=5.0), client=Client(base, None))
        test_tls.test_plain_http_is_not_answered_with_data(target)  # a 401 over plain HTTP: no data, passes
        assert [(r.target, r.authenticated) for r in plain.requests] == [("/ga/api/", False)]
        requests.get(plain.base_url + "/", timeout=5)  # the control: requests' default reads the .netrc
        assert plain.requests[-1].headers.get("authorization", "").startswith("Basic ")

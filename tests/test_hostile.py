"""Hostile targets: the real suite, run as a vendor's CI runs it, against real misbehaving servers on
loopback (``tests/hostile.py``): silence, a response dribbled a byte every 0.5 s, garbage, a truncated
body, an endless body, resets, redirects to another host, credentials echoed back.

Whatever the target does, a run must end in bounded time with exit 1 (a clause failed or could not be
judged) or 3 (nothing answered), a ``certification.json`` that validates against its schema, no
Traceback or INTERNALERROR, and no form of either key in stdout, stderr or any file it leaves behind.
A hostile target that answers the unauthenticated reachability probe normally and misbehaves only on
the authenticated requests that follow is certified too (exit 1: the suite ran into it mid-run).
"""

from __future__ import annotations

import base64
import json
import random
import re
import secrets
import ssl
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import pytest
import trustme
from hostile import (
    Behaviour,
    Conn,
    HostileServer,
    Outcome,
    Request,
    after_preflight,
    envelope,
    head,
    per_request,
    response,
    run_suite,
)
from leaks import leaks

from conformance.checks.content import json_content_type
from conformance.checks.envelope import exact_keys
from conformance.http.client import DEFAULT_MAX_BODY, Client

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schemas" / "certification.schema.json").read_text())
BUDGET = ["--profile", "smoke", "--timeout", "2"]
DEADLINE = 120.0  # seconds a run may take, whatever the target does
MIB = 1024 * 1024
MAX_RSS_MB = 600  # the suite with hypothesis and schemathesis loaded is ~80-300 MB; an uncapped body is not
# pytest renders a test that failed with an exception group (hypothesis: "found 2 distinct failures") with
# the standard library's formatter: "  + Exception Group Traceback ..." and "    | Traceback ..." lines.
# That is a failing test's report; a crash of the suite would print a bare "Traceback" or INTERNALERROR.
GROUP_LINE = re.compile(r"^\s*[+|] .*Traceback \(most recent call last\):$")


def _key(number: int) -> str:
    """base64 of ``N:<hex>ab?cd>e``: its base64 holds ``+``, ``/`` and ``=`` (as in tests/test_secrets.py)."""
    key = base64.b64encode(f"{number}:{secrets.token_hex(20)}ab?cd>e".encode()).decode()
    assert {"+", "/", "="} <= set(key), key
    return key


KEYS = [_key(1), _key(2)]
ENV = {"CONFORMANCE_API_KEY": KEYS[0], "CONFORMANCE_SECOND_API_KEY": KEYS[1]}


def _leaks(data: bytes) -> list[str]:
    return leaks(data, KEYS)


# -- behaviours --------------------------------------------------------------------------------
def silent(conn: Conn) -> None:
    """Accepts, reads the request, never writes a byte."""
    conn.read_request()
    conn.drain()


def silent_request(conn: Conn, request: Request) -> bool:
    conn.drain()
    return False


def dribble(conn: Conn, request: Request) -> bool:
    """A valid response, one byte every 0.5 s: each read succeeds well within the 2 s timeout."""
    data = response(200, envelope(True, {"id": "cft000000000000", "name": "x" * 400}))
    for i in range(len(data)):  # noqa: SIM110 (a loop that sleeps reads better as one)
        if conn.wait(0.5) or not conn.send(data[i : i + 1]):
            return False
    return True


GARBAGE = random.Random(7).randbytes(4096) + b"\r\n\r\n"


def garbage(conn: Conn, request: Request) -> bool:
    conn.send(GARBAGE)
    return False


def truncated(conn: Conn, request: Request) -> bool:
    """Headers promise 4096 bytes of JSON; 40 come, then the connection closes."""
    conn.send(head(200, length=4096) + b'{"success":true,"data":{"id":"cft0000000')
    return False


BLOB = ((string.ascii_letters + string.digits + "+/") * 1024).encode()  # 64 KiB of base64-looking text
CHUNK = b"%x\r\n%s\r\n" % (len(BLOB), BLOB)


def endless(conn: Conn, request: Request) -> bool:
    """A chunked body that never ends (a huge base64 blob in a JSON string), sent as fast as the client reads."""
    if not conn.send(head(200, {"Transfer-Encoding": "chunked"}) + b'20\r\n{"success":true,"data":{"blob":"\r\n'):
        return False
    while conn.send(CHUNK):
        pass
    return False


def reset_on_accept(conn: Conn) -> None:
    conn.reset()


def reset_request(conn: Conn, request: Request) -> bool:
    conn.reset()
    return False


def reset_mid_response(conn: Conn, request: Request) -> bool:
    conn.send(head(200, length=2048) + b'{"success":true,"data":{"id":"cft0000000')
    conn.wait(0.05)
    conn.reset()
    return False


def echo(conn: Conn, request: Request) -> bool:
    """Every credential the request carried, back in the body and the headers of a JSON envelope."""
    auth = request.headers.get("authorization", "")
    key = auth.removeprefix("Basic ").strip()
    try:
        decoded = base64.b64decode(key + "=" * (-len(key) % 4)).decode("utf-8", "replace")
    except ValueError:
        decoded = ""
    echoed = {"authorization": auth, "key": key, "decoded": decoded, "head": request.head.decode("latin-1")}
    headers = {"X-Echo-Authorization": auth, "X-Echo-Key": key, "X-Echo-Decoded": decoded.encode().hex()}
    headers["X-Echo-Decoded-Text"] = decoded.encode("ascii", "replace").decode()
    if not request.authenticated:
        return conn.send(response(401, envelope(False, None, "unauthorized", f"no key in {echoed}"), headers))
    return conn.send(response(200, envelope(True, echoed, None, f"served for {auth} ({decoded})"), headers))


REDIRECTS = (301, 302, 303, 307, 308)


def redirecting(locations: list[str]) -> Behaviour:
    """Every request redirected, with each redirect status in turn, to another host or port."""
    counter = iter(range(1 << 30))

    def handle(conn: Conn, request: Request) -> bool:
        n = next(counter)
        location = locations[n % len(locations)] + request.target
        body = envelope(False, None, "moved", "see Location")
        return conn.send(response(REDIRECTS[n % len(REDIRECTS)], body, {"Location": location}))

    return per_request(handle)


def welcoming(conn: Conn, request: Request) -> bool:
    """What a redirect's destination answers, should anything arrive: a success (so following would go on)."""
    return conn.send(response(200, envelope(True, {"id": "elsewhere"})))


# -- fixtures -----------------------------------------------------------------------------------
@dataclass
class Tls:
    context: ssl.SSLContext
    bundle: str


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Tls:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "127.0.0.2", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return Tls(context, str(bundle))


@dataclass
class Servers:
    started: list[HostileServer] = field(default_factory=list)

    def __call__(self, behaviour: Behaviour, **kw) -> HostileServer:
        server = HostileServer(behaviour, **kw)
        self.started.append(server)
        return server


@pytest.fixture
def servers() -> Iterator[Servers]:
    s = Servers()
    yield s
    for server in s.started:
        server.stop()


def certify(server: HostileServer, tmp_path: Path, *args: str, tls: Tls | None = None) -> Outcome:
    transport = ["--ca-bundle", tls.bundle] if tls else ["--allow-http"]
    return run_suite(
        ["--base-url", server.base_url, *transport, *BUDGET, *args],
        env=ENV,
        run_dir=tmp_path / "run",
        deadline=DEADLINE,
    )


def assert_sane(run: Outcome, expected: int) -> dict:
    """What every run against a hostile target must satisfy; returns certification.json."""
    where = f"\n--- stdout (tail)\n{run.stdout[-4000:]}\n--- stderr (tail)\n{run.stderr[-4000:]}"
    assert run.code is not None, f"the run was still going after {DEADLINE:g} s and was killed{where}"
    assert run.code == expected, f"exit {run.code}, expected {expected}{where}"
    assert "INTERNALERROR" not in run.output and "Traceback" not in run.stderr, where
    crashes = [line for line in run.stdout.splitlines() if "Traceback" in line and not GROUP_LINE.match(line)]
    assert crashes == [], where
    path = run.report_dir / "certification.json"
    assert path.exists(), f"no certification.json{where}"
    record = json.loads(path.read_text())
    jsonschema.validators.validator_for(SCHEMA)(SCHEMA).validate(record)
    assert record["certifiable"] is False
    assert any(c["verdict"] in ("fail", "error") and c["level"] == "MUST" for c in record["clauses"])
    places = {"stdout": run.stdout.encode(), "stderr": run.stderr.encode(), **run.files}
    leaks = {place: found for place, data in places.items() if (found := _leaks(data))}
    assert leaks == {}, "a key reached what the run wrote"
    assert run.max_rss_mb < MAX_RSS_MB, f"peak RSS {run.max_rss_mb:.0f} MB"
    if expected == 3:
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("conformance: target unreachable: "), run.stderr
        assert {"certification.json", "junit.xml"} <= {p.name for p in run.report_dir.iterdir()}
    return record


def errors_of(record: dict) -> str:
    """Every reason and finding message in the record, for asserting what the suite said."""
    parts = [c.get("reason") or "" for c in record["clauses"]]
    parts += [f.get("message", "") for c in record["clauses"] for f in c.get("findings", [])]
    parts += [t.get("message") or "" for t in record.get("tests", [])]
    return "\n".join(parts)


# -- nothing usable in answer to the first request: exit 3 ----------------------------------------
# A status line followed by a broken body is no usable answer either: the reachability probe reports
# what broke and the run stops there, with the reports written.
UNREACHABLE: dict[str, tuple[Behaviour, str]] = {
    "never-answers": (silent, "timed out after 2 s"),
    "dribbles-one-byte-per-half-second": (per_request(dribble), "no complete response after 6 s"),
    "garbage-instead-of-http": (per_request(garbage), "failed"),
    "truncated-json-body": (per_request(truncated), "IncompleteRead"),
    "reset-on-accept": (reset_on_accept, "failed"),
    "reset-mid-response": (per_request(reset_mid_response), "reset"),
}


@pytest.mark.parametrize("case", list(UNREACHABLE))
def test_unusable_from_the_first_request_is_unreachable(case, servers, tmp_path):
    behaviour, reason = UNREACHABLE[case]
    server = servers(behaviour)
    run = certify(server, tmp_path)
    record = assert_sane(run, 3)
    assert reason in run.stderr
    assert all(c["verdict"] == "error" for c in record["clauses"])
    assert not any(r.authenticated for r in server.requests), "the reachability probe carries no key"


# -- a good answer to the probe, then hostility on every authenticated request: exit 1 ------------
FULL: tuple[str, ...] = ()
MIDRUN: dict[str, tuple[Callable[[Conn, Request], bool], tuple[str, ...], str]] = {
    # every request waits out a timeout (2 s) or the exchange deadline (6 s): a narrowed run
    "never-answers": (silent_request, ("--clause", "AUTH-3"), "timed out after 2 s"),
    "dribbles-one-byte-per-half-second": (dribble, ("--clause", "ENUM-1"), "no complete response after 6 s"),
    # each request fails at once: a full smoke run for one, the others narrowed to two groups
    "garbage-instead-of-http": (garbage, FULL, "failed"),
    "truncated-json-body": (truncated, ("--clause", "ENV", "--clause", "AUTH"), "IncompleteRead"),
    "reset-after-the-request": (reset_request, ("--clause", "ENV", "--clause", "AUTH"), "reset"),
    "reset-mid-response": (reset_mid_response, ("--clause", "ENV", "--clause", "AUTH"), "reset"),
}


NO_ANSWER = ("never-answers", "reset-after-the-request")


@pytest.mark.parametrize("case", list(MIDRUN))
def test_hostile_after_the_probe_is_a_failed_run(case, servers, tmp_path):
    hostile, args, reason = MIDRUN[case]
    server = servers(after_preflight(hostile))
    run = certify(server, tmp_path, *args)
    record = assert_sane(run, 1)
    assert any(r.authenticated for r in server.requests), "the run went past the probe"
    assert reason in errors_of(record)
    if case in NO_ANSWER:  # no answer came: nothing to judge, so the suite's verdict is error, never fail
        fails = [f["message"] for c in record["clauses"] if c["verdict"] == "fail" for f in c["findings"]]
        assert not any(reason in m for m in fails), fails
        assert any(c["verdict"] == "error" and reason in c["reason"] for c in record["clauses"])


LISTING = envelope(True, [{"id": f"cft{n:06d}", "notes": "x" * 5000} for n in range(1000)])  # 5 MB, whole


def whole_listing(conn: Conn, request: Request) -> bool:
    return conn.send(response(200, LISTING))


def whole_listing_chunked(conn: Conn, request: Request) -> bool:
    chunks = [LISTING[i : i + 65536] for i in range(0, len(LISTING), 65536)]
    wire = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    return conn.send(head(200, {"Transfer-Encoding": "chunked"}) + wire)


@pytest.mark.parametrize("behaviour", [whole_listing, whole_listing_chunked])
def test_a_whole_body_longer_than_the_client_keeps_is_not_judged(servers, behaviour):
    """A listing at its declared maximum may be larger than the client keeps (2 MiB): read to its end, it is
    whole, so what the client could not keep is not judged (JSON-1 and ENV-1 have nothing to say of it)."""
    server = servers(per_request(behaviour))
    client = Client(server.base_url, None, allow_http=True)
    ex = client.request("GET", "/lists", auth=None)
    assert ex.status == 200 and ex.oversized and not ex.truncated
    assert len(ex.response_body) == DEFAULT_MAX_BODY < len(LISTING)
    assert json_content_type(ex, None) == [] and exact_keys(ex, None) is None
    assert "longer than the suite keeps" in ex.evidence()["response"]["body"]


def test_endless_body_is_read_only_up_to_the_cap(servers, tmp_path):
    """A chunked body that never ends (from the probe on): the client keeps 2 MiB and reads on, keeping
    nothing, to eight times that, so the server's writes stall after 16 MiB plus socket buffers, the suite's
    memory stays bounded, and the body is judged as one that never completed (JSON-1)."""
    server = servers(per_request(endless))
    # one test, one resource: every exchange waits out the 6 s deadline, and one proves the cap
    run = certify(server, tmp_path, "--clause", "JSON-1", "--", "-k", "test_every_response_is_json and mailing_lists")
    record = assert_sane(run, 1)
    assert any(r.authenticated for r in server.requests)
    # what the client reads (16 MiB) plus what the kernel buffers on loopback (autotuned, up to tcp_rmem's
    # maximum, often 6 or 32 MiB); a reader without a cap takes gigabytes from this server before the 6 s deadline
    assert 16 * MIB < server.max_sent_per_connection < 64 * MIB, f"{server.max_sent_per_connection / MIB:.1f} MiB"
    assert "never completed" in errors_of(record)


# -- credentials and other hosts --------------------------------------------------------------------
def test_redirect_to_another_host_never_carries_the_key(servers, tls, tmp_path):
    """Every answer is a 301/302/303/307/308 to another host (127.0.0.2), another port, or localhost on
    another port, each a TLS listener the CA vouches for; nothing may ever reach them (full smoke run)."""
    other_host = servers(per_request(welcoming), host="127.0.0.2", tls=tls.context)
    other_port = servers(per_request(welcoming), host="127.0.0.1", tls=tls.context)
    locations = [other_host.base_url, other_port.base_url, f"https://localhost:{other_port.port}/ga/api"]
    server = servers(redirecting(locations), tls=tls.context)
    run = certify(server, tmp_path, tls=tls)
    assert_sane(run, 1)
    assert any(r.authenticated for r in server.requests)
    for listener in (other_host, other_port):
        carrying = [r for r in listener.requests if any(k in r.head.decode("latin-1") for k in KEYS)]
        assert carrying == [], f"the key reached {listener.origin}"
        assert listener.connections == 0, f"{listener.connections} connection(s) reached {listener.origin}"


def test_echoed_credentials_stay_out_of_every_output(servers, tls, tmp_path):
    """The Authorization value, the key and its decoded form echoed in the body and headers of every
    response; a full smoke run: no form of either key in stdout, stderr or any file."""
    server = servers(per_request(echo), tls=tls.context)
    run = certify(server, tmp_path, tls=tls)
    assert_sane(run, 1)
    sent = {r.headers.get("authorization") for r in server.requests}
    assert {f"Basic {k}" for k in KEYS} <= sent, "both keys went out (and came back)"

"""``--proxy``: a vendor's CI that reaches its staging server only through an HTTP proxy. Every request of the
run goes through it (TLS end to end through a tunnel), its password reaches no output, and nothing in the
environment (``HTTPS_PROXY``, ``.netrc``) changes where requests go."""

from __future__ import annotations

import base64
import secrets

import pytest
from connect_proxy import ConnectProxy

from conformance.http.client import Client
from conformance.run.config import ConfigError, Settings, validate

CLAUSES = ("--clause", "TLS", "--clause", "ENV", "--clause", "AUTH-1")


def _found(run, secrets_: list[str]) -> list[str]:
    """Where any of ``secrets_`` shows: stdout, stderr, every file the run left behind."""
    places = {"stdout": run.stdout.encode(), "stderr": run.stderr.encode()}
    places |= {str(p): p.read_bytes() for p in run.report_dir.parent.rglob("*") if p.is_file()}
    return [where for where, data in places.items() if any(s.encode() in data for s in secrets_)]


def _authority(handle) -> str:
    return handle.base_url.split("//", 1)[1].split("/", 1)[0]


def test_a_run_goes_through_the_proxy_and_its_password_reaches_no_output(certify, reference_server):
    handle = reference_server()
    password = "pw-" + secrets.token_hex(12)
    with ConnectProxy(credentials=("ci", password)) as proxy:
        run = certify(server=handle, args=(*CLAUSES, "--proxy", proxy.url("ci", password)))
        tunnels, forwarded = proxy.tunnels, proxy.forwarded
    assert run.code == 0, run.stdout[-3000:] + run.stderr
    assert tunnels and {t.line.split()[1] for t in tunnels} == {_authority(handle)}
    expected = "Basic " + base64.b64encode(f"ci:{password}".encode()).decode()
    assert {t.headers.get("proxy-authorization") for t in tunnels} == {expected}
    # TLS-1's plain-HTTP probe: forwarded by the proxy, without the API key
    assert [a.line.split()[1] for a in forwarded] == [f"http://{_authority(handle)}/ga/api/"]
    assert "authorization" not in forwarded[0].headers
    assert run.record["run"]["settings"]["proxy"] == f"http://ci:***@127.0.0.1:{proxy.port}"
    assert _found(run, [password, expected.removeprefix("Basic ")]) == []


def test_the_environment_s_proxy_is_not_used(certify, reference_server):
    """A proxy named only by ``HTTPS_PROXY``/``HTTP_PROXY`` sees nothing: the suite reaches the target directly."""
    handle = reference_server()
    with ConnectProxy() as proxy:
        env = {"HTTPS_PROXY": proxy.url(), "HTTP_PROXY": proxy.url(), "ALL_PROXY": proxy.url()}
        run = certify(server=handle, args=CLAUSES, env=env)
        asked = list(proxy.asked)
    assert run.code == 0, run.stdout[-3000:] + run.stderr
    assert asked == []


def test_a_proxy_that_refuses_the_tunnel_is_one_line_and_exit_3(certify, reference_server):
    handle = reference_server()
    with ConnectProxy(credentials=("ci", "right-password")) as proxy:
        run = certify(server=handle, args=(*CLAUSES, "--proxy", proxy.url("ci", "wrong-password")))
    assert run.code == 3, run.stdout[-2000:] + run.stderr
    assert "407" in run.stderr and "Traceback" not in run.stderr + run.stdout
    assert "wrong-password" not in run.stderr + run.stdout


@pytest.mark.parametrize(
    "proxy",
    ["socks5://127.0.0.1:1080", "https://proxy.example:3128", "http://:3128", "proxy.example:3128", "http://h:x"],
)
def test_a_proxy_the_suite_cannot_use_is_refused_in_one_line(proxy):
    with pytest.raises(ConfigError, match="--proxy"):
        validate(Settings(proxy=proxy))


def test_the_proxy_s_password_is_a_secret_and_shown_masked():
    s = Settings(proxy="http://ci:s3cr%40t-pass@proxy.example:3128", api_key="k" * 20)
    validate(s)
    assert s.public()["proxy"] == "http://ci:***@proxy.example:3128"
    pair = base64.b64encode(b"ci:s3cr@t-pass").decode()
    assert {"s3cr@t-pass", "s3cr%40t-pass", pair} <= set(s.secrets)
    assert Settings(proxy="http://proxy.example:3128").public()["proxy"] == "http://proxy.example:3128"


def test_a_reproduction_goes_through_the_proxy_too():
    """Its password is named by its variable, as keys are; a proxy without one is written out."""
    secret = Client("https://api.example/ga/api", None, proxy="http://ci:pw@proxy.example:3128")
    assert '--proxy "$CONFORMANCE_PROXY"' in secret.curl("GET", "https://api.example/ga/api/x", {}, None)
    plain = Client("https://api.example/ga/api", None, proxy="http://proxy.example:3128")
    assert "--proxy http://proxy.example:3128" in plain.curl("GET", "https://api.example/ga/api/x", {}, None)

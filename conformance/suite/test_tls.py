"""TLS-1, TLS-2: transport security."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from conformance.verdicts.violation import expect


def _plain_http_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit(("http", parts.netloc, parts.path + "/", "", ""))


@pytest.mark.TLS_1
def test_plain_http_is_not_answered_with_data(target):
    """Sends NO credentials: only asks whether plain HTTP at the API root yields data."""
    base = target.settings.base_url
    expect(base.startswith("https://"), "TLS-1", f"the API is served over plain HTTP: {base}")
    url = _plain_http_url(base)
    with target.client.outside_pool() as session:  # within --max-connections; no .netrc credentials either
        try:
            resp = session.get(url, timeout=target.settings.timeout, allow_redirects=False, stream=True)
        except requests.RequestException:
            return  # refused or reset: not answered
        try:
            _judge_plain_answer(url, resp)
        finally:
            resp.close()


def _judge_plain_answer(url: str, resp: requests.Response) -> None:
    if 300 <= resp.status_code < 400:
        location = resp.headers.get("Location", "")
        expect(location.startswith("https://"), "TLS-1", f"plain HTTP redirects to {location!r}, not to https://")
        return
    if resp.status_code >= 400:
        return
    body = resp.raw.read(65536, decode_content=True)
    expect(
        b'"success":true' not in body.replace(b" ", b""),
        "TLS-1",
        f"plain HTTP at {url} was answered {resp.status_code} with data",
    )
    expect(False, "TLS-1", f"plain HTTP at {url} was answered with HTTP {resp.status_code} (success)")


@pytest.mark.TLS_2
def test_certificate_validates(target, resource):
    s = target.settings
    if not s.base_url.startswith("https://"):
        pytest.skip("not verified: the target is plain HTTP (TLS-1 fails)")
    if s.verify is False:
        pytest.skip("not verified: TLS verification was turned off (--insecure)")
    ex = target.client.request("GET", "/", auth=None, observe=False)
    expect(ex.status > 0, "TLS-2", "no answer over verified TLS")

"""Kept-alive connections the target closes: requests that cannot have been acted on are sent again on a fresh
connection; a write whose answer was lost is not (it may have been carried out)."""

from __future__ import annotations

import time

import pytest
from hostile import HostileServer, envelope, per_request, response

from conformance.http.client import Client, Credential, TargetError
from conformance.http.transport import Stale

OK = response(200, envelope(True, {"id": "x"}))


def _client(server: HostileServer) -> Client:
    return Client(server.base_url, Credential("k", "K"), allow_http=True, timeout=5)


def _answers_one_per_connection():
    """Answers the first request on each connection, then reads the next and closes without a word: a server
    whose idle timer fired just as the request arrived."""
    served: set[int] = set()

    def handle(conn, request) -> bool:
        if id(conn) in served:
            return False
        served.add(id(conn))
        return conn.send(OK)

    return per_request(handle)


def test_a_read_that_got_no_answer_is_sent_again():
    with HostileServer(_answers_one_per_connection()) as server:
        client = _client(server)
        assert client.request("GET", "/things/1").status == 200
        assert client.request("GET", "/things/1").status == 200  # the reused connection closed: a fresh one
        assert [r.method for r in server.requests] == ["GET", "GET", "GET"]
        assert server.connections == 2


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_a_write_whose_answer_was_lost_is_not_sent_again(method):
    with HostileServer(_answers_one_per_connection()) as server:
        client = _client(server)
        body = {} if method == "DELETE" else {"json": {"a": 1}}
        assert client.request(method, "/things/1", **body).status == 200
        with pytest.raises(TargetError, match="the write is not sent again"):
            client.request(method, "/things/2", **body)
        assert [r.target for r in server.requests] == ["/ga/api/things/1", "/ga/api/things/2"]


def test_a_request_never_written_whole_is_sent_again(monkeypatch):
    """Writes too: the target cannot have acted on a request it did not receive whole."""
    with HostileServer(per_request(lambda conn, request: conn.send(OK))) as server:
        client = _client(server)
        real, calls = Client._send_once, []

        def flaky(self, *args, **kwargs):
            calls.append(args[0])
            if len(calls) == 1:
                raise Stale("PUT /things/1", sent=False)
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Client, "_send_once", flaky)
        assert client.request("PUT", "/things/1", json={"a": 1}).status == 200
        assert calls == ["PUT", "PUT"] and len(server.requests) == 1


def test_connections_idle_near_the_targets_limit_are_replaced():
    """Once the target was seen closing a connection idle for t seconds, one idle for t/2 is not reused: a write
    sent on it could meet the target's idle timer."""
    idle_limit = 0.5

    with HostileServer(_idle_closer(idle_limit)) as server:
        client = _client(server)
        client.request("PUT", "/things/1", json={})
        time.sleep(idle_limit + 0.3)  # closed by the target meanwhile: urllib3 finds it closed, the pool learns
        client.request("PUT", "/things/2", json={})
        assert server.connections == 2
        time.sleep(idle_limit * 0.9)  # still open at the target, but as long idle as half the learnt limit
        client.request("PUT", "/things/3", json={})
        assert server.connections == 3
        client.request("PUT", "/things/4", json={})  # at once: reused
        assert server.connections == 3


def _idle_closer(limit: float):
    """Serves requests on a connection until it idles ``limit`` seconds, then closes it (FIN)."""

    def behaviour(conn) -> None:
        conn.sock.settimeout(0.02)  # notice the idle limit promptly
        while True:
            deadline = time.monotonic() + limit
            while b"\r\n\r\n" not in conn._buffer:
                if time.monotonic() > deadline or conn.stopping:
                    return
                try:
                    chunk = conn.sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                conn._buffer += chunk
            request = conn.read_request()
            if request is None or not conn.send(OK):
                return

    return behaviour

"""Function Compute's front end frames requests as HTTP/1.1 says (RFC 9112 §6), on raw sockets
against the session function's HTTP trigger: a chunked login works; a broken Content-Length is
FC's 400 and a closed connection; a login whose body never fully arrives is never run, so its
auth code stays unspent and no session row is written."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests import rawhttp

from .test_auth_codes import sessions_of


def send(
    config: dict[str, str], data: bytes, *, shut_write: bool = False, wait: float = 15.0
) -> tuple[bytes, bool]:
    """Raw bytes to the FC endpoint; (what came back, whether the server closed)."""
    url = urlsplit(config["fcEndpoint"])
    assert url.hostname is not None and url.port is not None
    return rawhttp.exchange(url.hostname, url.port, data, shut_write=shut_write, wait=wait)


def login_request(config: dict[str, str], *headers: bytes, body: bytes = b"") -> bytes:
    path = urlsplit(config["sessionUrl"]).path.encode()
    return (
        b"POST "
        + path
        + b" HTTP/1.1\r\nHost: fc\r\nContent-Type: application/json\r\n"
        + b"".join(h + b"\r\n" for h in headers)
        + b"\r\n"
        + body
    )


def body_of(answer: bytes) -> dict:
    return json.loads(answer.partition(b"\r\n\r\n")[2])


def test_a_chunked_login_opens_a_session(config, miniprogram):
    app = miniprogram()
    payload = json.dumps({"authCode": app.get_auth_code()}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (payload[:7], payload[7:]))
    answer, _ = send(
        config, login_request(config, b"Transfer-Encoding: chunked", body=chunks + b"0\r\n\r\n")
    )
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert set(body_of(answer)) == {"sessionId", "sts"}


@pytest.mark.parametrize("length", [b"abc", b"1e3", b"-1"])
def test_an_invalid_content_length_is_fcs_400_and_closes(config, length):
    answer, closed = send(
        config, login_request(config, b"Content-Length: " + length, body=b'{"authCode": "x"}')
    )
    assert answer.startswith(b"HTTP/1.1 400 ") and closed
    assert body_of(answer)["ErrorCode"] == "InvalidArgument"


def test_a_content_length_over_fcs_limit_is_entity_too_large_and_closes(config):
    answer, closed = send(
        config, login_request(config, b"Content-Length: 100000000000", body=b"{}")
    )
    assert answer.startswith(b"HTTP/1.1 400 ") and closed
    assert body_of(answer)["ErrorCode"] == "EntityTooLarge"
    assert b"x-fc-request-id" in answer.lower()


def test_a_client_that_writes_a_body_over_fcs_limit_first_reads_entity_too_large(config):
    # Most clients send the whole body before reading: they must read FC's answer, not a reset.
    body = b"x" * (7 * 1024 * 1024)
    url = urlsplit(config["fcEndpoint"])
    conn = socket.create_connection((url.hostname, url.port))
    conn.settimeout(15)
    try:
        conn.sendall(login_request(config, b"Content-Length: %d" % len(body), body=body))
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    finally:
        conn.close()
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert body_of(answer)["ErrorCode"] == "EntityTooLarge"


def test_two_conflicting_content_lengths_are_400_and_close(config):
    body = b'{"authCode": "xx"}'
    answer, closed = send(
        config,
        login_request(
            config,
            b"Content-Length: %d" % len(body),
            b"Content-Length: %d" % (len(body) - 2),
            body=body,
        ),
    )
    assert answer.startswith(b"HTTP/1.1 400 ") and closed
    assert body_of(answer)["ErrorCode"] == "InvalidArgument"


def test_a_truncated_login_is_never_run(config, miniprogram, snapshot):
    app = miniprogram()
    code = app.get_auth_code()
    payload = json.dumps({"authCode": code, "authSuccessScopes": ["auth_base"]}).encode()
    truncated = login_request(config, b"Content-Length: %d" % (len(payload) + 100), body=payload)

    answer, closed = send(config, truncated, shut_write=True)

    assert (answer, closed) == (b"", True)
    time.sleep(0.5)  # were it run, the function would have written its row by now
    assert sessions_of(snapshot(), app.user_id) == []
    # The auth code was never spent: a whole login with it succeeds.
    resp = app.post_session({"authCode": code, "authSuccessScopes": ["auth_base"]})
    assert resp.status_code == 200, resp.text
    assert len(sessions_of(snapshot(), app.user_id)) == 1

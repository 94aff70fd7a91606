"""The emulators' HTTP front end on raw sockets: how it frames requests (RFC 9112 §6), what it
passes on, and what it never passes on. The app records every request it is handed, so a test can
prove that a refused or incomplete request reached nothing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from localcloud.faults import DropConnection
from localcloud.httpshell import HttpRequest, HttpResponse, HttpServer, Refusal
from tests import rawhttp

LIMIT = 1000


class Recorder:
    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []
        self.lock = threading.Lock()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with self.lock:
            self.requests.append(request)
        if request.path == "/drop":
            raise DropConnection()
        if request.path == "/slow":
            time.sleep(1.0)
        return HttpResponse(200, b"got:" + request.body, (("X-Seen", request.raw_path),))


@pytest.fixture
def app() -> Recorder:
    return Recorder()


@pytest.fixture
def server(app: Recorder) -> Iterator[HttpServer]:
    running = HttpServer(app, max_body_bytes=LIMIT).start()
    try:
        yield running
    finally:
        running.stop()


def exchange(
    server: HttpServer, data: bytes, *, shut_write: bool = False, wait: float = 3.0
) -> tuple[bytes, bool]:
    return rawhttp.exchange(server.host, server.port, data, shut_write=shut_write, wait=wait)


def post(path: str, *headers: bytes, body: bytes = b"") -> bytes:
    return (
        b"POST "
        + path.encode()
        + b" HTTP/1.1\r\nHost: test\r\n"
        + b"".join(h + b"\r\n" for h in headers)
        + b"\r\n"
        + body
    )


def test_a_chunked_body_is_decoded(server, app):
    data = post("/c", b"Transfer-Encoding: chunked", body=b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    answer, _ = exchange(server, data, wait=1.0)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"got:hello world")
    assert [r.body for r in app.requests] == [b"hello world"]
    assert app.requests[0].header("content-length") == "11"
    assert app.requests[0].header("transfer-encoding") == ""


@pytest.mark.parametrize("length", [b"abc", b"1e3", b"-1", b"+5", b"5 5", b""])
def test_an_invalid_content_length_is_400_and_closes(server, app, length):
    answer, closed = exchange(server, post("/c", b"Content-Length: " + length, body=b"hello"))
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert closed
    assert app.requests == []


def test_two_content_lengths_are_400_and_close(server, app):
    data = post("/c", b"Content-Length: 5", b"Content-Length: 6", body=b"hello!")
    answer, closed = exchange(server, data)
    assert answer.startswith(b"HTTP/1.1 400 ") and closed
    assert app.requests == []


def test_a_length_over_the_limit_is_refused_before_the_body_is_read(server, app):
    answer, closed = exchange(server, post("/c", b"Content-Length: 100000000000", body=b"x"))
    assert answer.startswith(b"HTTP/1.1 413 ") and closed
    assert app.requests == []


def test_a_chunked_body_over_the_limit_is_refused(server, app):
    chunk = b"%x\r\n" % 600 + b"x" * 600 + b"\r\n"
    answer, closed = exchange(
        server, post("/c", b"Transfer-Encoding: chunked", body=chunk + chunk + b"0\r\n\r\n")
    )
    assert answer.startswith(b"HTTP/1.1 413 ") and closed
    assert app.requests == []


def test_a_body_at_the_limit_is_passed_on(server, app):
    resp = requests.post(server.url + "/c", data=b"x" * LIMIT, timeout=5)
    assert resp.status_code == 200 and len(app.requests[0].body) == LIMIT


def test_a_body_cut_short_by_a_half_close_is_never_passed_on(server, app):
    data = post("/c", b"Content-Length: 105", body=b"hello")  # 100 bytes never come
    answer, closed = exchange(server, data, shut_write=True)
    assert answer == b"" and closed
    time.sleep(0.2)
    assert app.requests == []


def test_a_body_cut_short_by_a_hang_up_is_never_passed_on(server, app):
    conn = socket.create_connection((server.host, server.port))
    conn.sendall(post("/c", b"Content-Length: 105", body=b"hello"))
    conn.close()
    time.sleep(0.3)
    assert app.requests == []


def test_a_refusal_can_speak_the_services_format(app):
    def refuse(refusal: Refusal) -> HttpResponse:
        return HttpResponse(
            400, f'{{"Code": {refusal.status}}}'.encode(), (("Content-Type", "application/json"),)
        )

    running = HttpServer(app, max_body_bytes=LIMIT, refuse=refuse).start()
    try:
        answer, closed = exchange(running, post("/c", b"Content-Length: 5000", body=b"x"))
        assert answer.startswith(b"HTTP/1.1 400 ") and answer.endswith(b'{"Code": 413}')
        assert b"Connection: close" in answer and closed
        answer, closed = exchange(running, post("/c", b"Content-Length: x"))
        assert answer.endswith(b'{"Code": 400}') and closed
    finally:
        running.stop()


def test_drop_connection_hangs_up_without_a_byte(server, app):
    answer, closed = exchange(server, post("/drop", b"Content-Length: 2", body=b"hi"))
    assert (answer, closed) == (b"", True)
    assert len(app.requests) == 1


def test_keep_alive_serves_many_requests_on_one_connection(server, app):
    pipelined = b"".join(post(f"/k{i}", b"Content-Length: 1", body=b"%d" % i) for i in range(3))
    answer, closed = exchange(server, pipelined, wait=1.0)
    assert answer.count(b"HTTP/1.1 200 ") == 3 and not closed
    assert [r.raw_path for r in app.requests] == ["/k0", "/k1", "/k2"]


def test_the_path_stays_percent_encoded_and_the_query_is_split(server, app):
    resp = requests.get(server.url + "/a%2Fb/c?x=1&y=%20", timeout=5)
    assert resp.headers["X-Seen"] == "/a%2Fb/c"
    request = app.requests[0]
    assert (request.path, request.query) == ("/a/b/c", {"x": "1", "y": " "})


def test_a_slow_client_does_not_hold_up_others(server, app):
    # Ten clients that sent half a request and went quiet; a whole one is still answered at once.
    stalled = []
    for _ in range(10):
        conn = socket.create_connection((server.host, server.port))
        conn.sendall(b"POST /c HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\nab")
        stalled.append(conn)
    try:
        resp = requests.post(server.url + "/c", data=b"ok", timeout=5)
        assert resp.content == b"got:ok"
        assert [r.body for r in app.requests] == [b"ok"]
    finally:
        for conn in stalled:
            conn.close()


def test_stop_closes_the_port_with_a_request_in_flight(app):
    running = HttpServer(app).start()
    thread = threading.Thread(target=lambda: exchange(running, post("/slow"), wait=3.0))
    thread.start()
    time.sleep(0.2)
    running.stop()
    thread.join()
    with pytest.raises(OSError):
        socket.create_connection((running.host, running.port), timeout=1).close()


def _whole_body_first(server: HttpServer, request: bytes) -> bytes:
    """Write the whole request before reading anything, as most clients do; what came back."""
    conn = socket.create_connection((server.host, server.port))
    conn.settimeout(10)
    try:
        conn.sendall(request)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
        return received
    finally:
        conn.close()


def test_a_client_that_writes_an_over_limit_body_first_still_reads_the_refusal(server, app):
    body = b"x" * (4 * 1024 * 1024)
    answer = _whole_body_first(server, post("/c", b"Content-Length: %d" % len(body), body=body))
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert app.requests == []


def test_a_screen_answers_from_the_head_before_the_body_arrives(app):
    heads: list[HttpRequest] = []

    def screen(head: HttpRequest) -> HttpResponse | None:
        heads.append(head)
        return HttpResponse(403, b"no") if head.path.startswith("/guarded") else None

    running = HttpServer(app, screen=screen).start()
    try:
        # Only the headers of a 100,000-byte body: the answer cannot have waited for it.
        answer, closed = exchange(
            running, post("/guarded/x?a=1", b"Content-Length: 100000", b"X-Mine: yes")
        )
        assert answer.startswith(b"HTTP/1.1 403 ") and answer.endswith(b"no") and closed
        assert app.requests == []
        assert (heads[0].method, heads[0].raw_path, heads[0].query_string) == (
            "POST",
            "/guarded/x",
            "a=1",
        )
        assert heads[0].header("x-mine") == "yes" and heads[0].body == b""
        assert heads[0].server_port == running.port
        big = b"y" * (2 * 1024 * 1024)
        answer = _whole_body_first(
            running, post("/guarded", b"Content-Length: %d" % len(big), body=big)
        )
        assert answer.startswith(b"HTTP/1.1 403 ")
        answer, _ = exchange(running, post("/open", b"Content-Length: 2", body=b"hi"))
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"got:hi")
    finally:
        running.stop()


def test_a_screen_that_fails_is_a_500_and_the_app_sees_nothing(app):
    def screen(head: HttpRequest) -> HttpResponse | None:
        raise RuntimeError("a bug in the screen")

    running = HttpServer(app, screen=screen).start()
    try:
        answer, closed = exchange(running, post("/c", b"Content-Length: 2", body=b"hi"))
        assert answer.startswith(b"HTTP/1.1 500 ") and b"emulator internal error" in answer
        assert app.requests == []
    finally:
        running.stop()

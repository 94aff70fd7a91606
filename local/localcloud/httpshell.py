"""The HTTP front end of every emulator: waitress parses and frames each request, this module turns
it into an `HttpRequest` value, hands it to an application function and writes back its
`HttpResponse`.

Every emulator is such a function, so the dev server and the pytest fixture run the same code.
Framing is waitress's job, not ours: a hand-written reader once ran requests whose body had not
fully arrived, and read chunked bodies as empty. What waitress guarantees, and the tests in
`tests/contract/test_httpshell.py` check on raw sockets:

- a request reaches the app only once its whole body has arrived; a client that hangs up (or
  shuts down its write side) before that gets nothing run;
- `Transfer-Encoding: chunked` bodies are decoded;
- a Content-Length that is not digits, or two that disagree, is a 400 and the connection closes;
- a body over `max_body_bytes` is refused before it is read (413, or the service's own refusal);
- slow or half-sent requests are read by one event loop, so they hold no worker thread and cannot
  starve other clients; idle connections close after `IDLE_SECONDS`.

Two things happen before a body is read. A server's `screen` sees each request's head (method,
target, headers; the body empty) as soon as its headers are in, and may answer it instead of the
app: the local cloud's guard (`localcloud.guard`) and OSS's signature check do. And a refused
request's answer is written, our side of the connection shut, and what the client still sends is
read and dropped (up to `DRAIN_BYTES`) before the close: a client that writes its whole body before
reading, as most do, reads the answer instead of a reset.

HTTP/1.1 keep-alive matters: the SDKs use `requests.Session`, and a server that closed every
connection would make them reconnect on each call. TCP_NODELAY is on (waitress's default): with
Nagle, a reply written in two segments waits ~40 ms for the client's delayed ACK.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, unquote, urlsplit

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import Error

from .faults import DropConnection

log = logging.getLogger("localcloud.http")

DEFAULT_MAX_BODY = 1024 * 1024 * 1024  # OSS takes deployment packages; FC sets its own 6 MB
# Worker threads per server. An emulator call can block for a long time (a `slow` fault, a
# function run), and FC must see enough concurrent requests to reach its instance limit.
DEFAULT_THREADS = 32
CONNECTION_LIMIT = 512  # waitress's 100 would stall a soak whose clients keep connections open
IDLE_SECONDS = 120  # a connection with no complete request for this long is closed
# After a refusal, the most a client may still send (read and dropped) before a hard close.
DRAIN_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class HttpRequest:
    method: str
    raw_path: str  # path as sent, still percent-encoded, without the query
    query_string: str
    headers: Mapping[str, str]  # keys lower-cased
    body: bytes
    client_ip: str
    client_port: str = ""  # with client_ip, tells connections apart (LocalCloud.traffic)
    server_port: int = 0  # the port it came in on
    # With `HttpServer(stream_bodies=True)`: the body unread (waitress holds it, in a temporary
    # file once large), `body` empty; for an app that stores uploads without holding them.
    body_file: BinaryIO | None = field(default=None, compare=False)

    def body_chunks(self, size: int = 1024 * 1024) -> Iterator[bytes]:
        """The body in chunks, read from `body_file` when there is one."""
        if self.body_file is None:
            if self.body:
                yield self.body
            return
        while chunk := self.body_file.read(size):
            yield chunk

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.query_string, keep_blank_values=True))

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # A body written as it is produced (a large file), instead of `body`; its Content-Length
    # must be among the headers.
    stream: Iterable[bytes] | None = field(default=None, compare=False)

    def with_headers(self, *extra: tuple[str, str]) -> HttpResponse:
        return HttpResponse(self.status, self.body, self.headers + tuple(extra), self.stream)


App = Callable[[HttpRequest], HttpResponse]
# Sees a request's head (its body empty, not yet read); an answer refuses the request with it.
Screen = Callable[[HttpRequest], "HttpResponse | None"]


@dataclass(frozen=True)
class Refusal:
    """A request the server refused before any app saw it: 400 (bad framing), 413 (body over the
    limit), 431 (headers too large) or 501 (a transfer coding other than chunked)."""

    status: int
    reason: str


Refuse = Callable[[Refusal], HttpResponse]
_START_RESPONSE = Callable[..., Any]


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def _raw_path(request_uri: str) -> str:
    target = request_uri or "/"
    if not target.startswith("/"):  # absolute form (`GET http://host/path`), as proxies send
        target = urlsplit(target).path or "/"
    return target.partition("?")[0]


def _request(environ: Mapping[str, Any], stream_bodies: bool = False) -> HttpRequest:
    length = int(environ.get("CONTENT_LENGTH") or 0)  # waitress checked it is digits
    body = environ["wsgi.input"].read(length) if length and not stream_bodies else b""
    return HttpRequest(
        method=str(environ["REQUEST_METHOD"]),
        raw_path=_raw_path(str(environ.get("REQUEST_URI", ""))),
        query_string=str(environ.get("QUERY_STRING", "")),
        headers=_headers(environ),
        body=body,
        client_ip=str(environ.get("REMOTE_ADDR", "")),
        client_port=str(environ.get("REMOTE_PORT", "")),
        server_port=int(environ.get("SERVER_PORT") or 0),
        body_file=environ["wsgi.input"] if stream_bodies else None,
    )


def _wsgi(
    app: App, stream_bodies: bool = False
) -> Callable[[dict[str, Any], _START_RESPONSE], Iterable[bytes]]:
    def application(environ: dict[str, Any], start_response: _START_RESPONSE) -> Iterable[bytes]:
        request = _request(environ, stream_bodies)
        try:
            response = app(request)
        except DropConnection:
            raise  # _AppTask hangs up
        except Exception:  # an emulator bug must not kill the connection silently
            log.exception("unhandled error in %s %s", request.method, request.raw_path)
            response = HttpResponse(
                500,
                b'{"error": "emulator internal error"}',
                (("Content-Type", "application/json"),),
            )
        headers = list(response.headers)
        if not any(k.lower() == "content-length" for k, _ in headers):
            headers.append(("Content-Length", str(len(response.body))))
        start_response(_status_line(response.status), headers)
        if response.stream is not None and request.method != "HEAD":
            return response.stream
        return [b"" if request.method == "HEAD" else response.body]

    return application


class _AppTask(WSGITask):
    def service(self) -> None:
        try:
            super().service()
        except DropConnection:
            # An injected outage: hang up without a byte, as an unreachable host would. Nothing
            # was written yet (the app raised before start_response).
            self.close_on_finish = True


class _Screened(Error):  # waitress's error shape, for its error task
    """A request its server's screen answered from the head."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__("")
        self.code = response.status
        self.response = response


class _Parser(HTTPRequestParser):
    """waitress's parser, which shows the head to the server's screen once headers are in."""

    def __init__(self, adj: Any, *, screen: Screen | None, server_port: int) -> None:
        super().__init__(adj)
        self._screen = screen
        self._server_port = server_port
        self._screened = False

    def received(self, data: bytes) -> int:
        consumed = int(super().received(data))
        if self.headers_finished and not self._screened:
            self._screened = True
            refused_already = getattr(self, "error", None) is not None
            if self._screen is not None and not refused_already and not self.empty:
                answer = self._screened_answer()
                if answer is not None:
                    self.error = _Screened(answer)
                    self.completed = True
                    self.expect_continue = False  # no "100 Continue" for a refused body
        return consumed

    def _screened_answer(self) -> HttpResponse | None:
        assert self._screen is not None
        head = self._head()
        try:
            return self._screen(head)
        except Exception:  # a screen's bug must not take the event loop's connection down
            log.exception("unhandled error screening %s %s", head.method, head.raw_path)
            return HttpResponse(
                500,
                b'{"error": "emulator internal error"}',
                (("Content-Type", "application/json"),),
            )

    def _head(self) -> HttpRequest:
        headers = {k.lower().replace("_", "-"): v for k, v in self.headers.items()}
        return HttpRequest(
            method=str(self.command),
            raw_path=_raw_path(self.request_uri),
            query_string=str(self.query or ""),
            headers=headers,
            body=b"",
            client_ip="",
            server_port=self._server_port,
        )


class _RefusalTask(ErrorTask):
    """waitress's error answer, in the service's own format when the server was given one; a
    screen's answer as it is. The connection then drains and closes (_Channel)."""

    def execute(self) -> None:
        refuse: Refuse | None = getattr(self.channel.server, "refuse", None)
        error = self.request.error
        self.channel.drain_on_close = True
        if isinstance(error, _Screened):
            response = error.response
        elif refuse is None:
            super().execute()
            return
        else:
            response = refuse(Refusal(int(error.code), str(error.body)))
        self.status = _status_line(response.status)
        framing = ("content-length", "connection")  # waitress writes these itself
        self.response_headers.extend(
            (k, v) for k, v in response.headers if k.lower() not in framing
        )
        self.set_close_on_finish()  # the framing is lost: nothing after it can be trusted
        self.content_length = len(response.body)
        self.write(response.body)


class _Channel(HTTPChannel):
    """waitress's channel; after a refusal's answer it shuts its write side and drops what the
    client still sends (up to DRAIN_BYTES) until the client closes, instead of resetting."""

    task_class = _AppTask
    error_task_class = _RefusalTask
    drain_on_close = False

    def __init__(self, server: _Server, *args: Any, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        self.parser_class = functools.partial(
            _Parser, screen=server.screen, server_port=int(server.effective_port)
        )
        self._drained: int | None = None  # bytes dropped, once draining

    def handle_close(self) -> None:
        if self.drain_on_close and self._drained is None and self.connected:
            self._drained = 0
            self.will_close = False
            try:
                self.socket.shutdown(socket.SHUT_WR)  # the answer is out: FIN, not RST
                return
            except OSError:
                pass
        super().handle_close()

    def readable(self) -> bool:
        return True if self._drained is not None else bool(super().readable())

    def writable(self) -> bool:
        # While draining, only the idle timeout's will_close (handle_write then closes).
        return self.will_close if self._drained is not None else bool(super().writable())

    def handle_read(self) -> None:
        if self._drained is None:
            super().handle_read()
            return
        try:
            data = self.recv(self.adj.recv_bytes)  # b"" (and a close) when the client is done
        except OSError:
            data = b""
        self._drained += len(data)
        if data and self._drained <= DRAIN_BYTES:
            self.last_activity = time.time()
        elif self.connected:
            super().handle_close()


class _Server(TcpWSGIServer):
    channel_class = _Channel
    refuse: Refuse | None = None
    screen: Screen | None = None


class HttpServer:
    """Serves one application on host:port (port 0 picks a free one) in a background thread.

    `max_body_bytes` is the largest body passed on; `refuse` renders refused requests in the
    service's error format (waitress answers in plain text otherwise); `screen` sees each
    request's head before its body is read, and may answer it instead of the app;
    `stream_bodies` hands the app each body unread (`HttpRequest.body_file`)."""

    def __init__(
        self,
        app: App,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        refuse: Refuse | None = None,
        screen: Screen | None = None,
        threads: int = DEFAULT_THREADS,
        stream_bodies: bool = False,
    ) -> None:
        self._server = _Server(
            _wsgi(app, stream_bodies),
            host=host,
            port=port,
            threads=threads,
            ident="localcloud",
            # waitress refuses a body whose length is >= the limit; ours is the largest allowed.
            max_request_body_size=max_body_bytes + 1,
            connection_limit=CONNECTION_LIMIT,
            channel_timeout=IDLE_SECONDS,
            # An emulator passes on what the client sent; waitress would drop X-Forwarded-*.
            clear_untrusted_proxy_headers=False,
            # stop() wakes the loop through its trigger; this only bounds an idle poll.
            asyncore_loop_timeout=1,
        )
        self._server.refuse = refuse
        self._server.screen = screen
        self._thread = threading.Thread(
            target=self._server.run, daemon=True, name=f"localcloud-http-{self.port}"
        )

    @property
    def host(self) -> str:
        return str(self._server.effective_host)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket and every connection, then let the workers go. A request
        still running (a slow fault, a function) finishes on its daemon thread, unanswered."""
        server = self._server

        def close_all() -> None:  # runs in the event loop's thread, which owns the sockets
            for channel in list(server._map.values()):
                channel.close()

        if self._thread.is_alive():
            try:
                server.trigger.pull_trigger(close_all)
                self._thread.join(timeout=5)
            except OSError:
                # Seen rarely in full test runs: the trigger's pipe is already gone (EBADF), so
                # the loop cannot be woken. Stopping must still release the port: the sockets
                # are closed from this thread below, and the loop ends when select() sees it.
                pass
        close_all()  # a no-op after the loop closed everything (closed channels leave the map)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)


def json_response(status: int, payload: object, *headers: tuple[str, str]) -> HttpResponse:
    import json

    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return HttpResponse(status, body, (("Content-Type", "application/json"),) + tuple(headers))

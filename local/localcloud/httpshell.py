"""A thin stdlib HTTP shell: turns each request into an `HttpRequest` value, hands it to an
application function and writes back its `HttpResponse`.

Every emulator is such a function, so the dev server and the pytest fixture run the same code.
HTTP/1.1 keep-alive matters: the SDKs use `requests.Session`, and a server that closed every
connection would make them reconnect on each call.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

from .faults import DropConnection

log = logging.getLogger("localcloud.http")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    raw_path: str  # path as sent, still percent-encoded, without the query
    query_string: str
    headers: Mapping[str, str]  # keys lower-cased
    body: bytes
    client_ip: str

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

    def with_headers(self, *extra: tuple[str, str]) -> HttpResponse:
        return HttpResponse(self.status, self.body, self.headers + tuple(extra))


App = Callable[[HttpRequest], HttpResponse]


def _make_handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "localcloud"
        # Headers and body go out in two writes; with Nagle on, the second waits for the client's
        # delayed ACK (~40 ms per request on loopback).
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            raw_path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                body = self._read_chunked()  # oss2 streams some uploads (an empty one, files)
            request = HttpRequest(
                method=self.command,
                raw_path=raw_path,
                query_string=query,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                client_ip=self.client_address[0],
            )
            try:
                response = app(request)
            except DropConnection:
                # An injected outage: hang up without a byte, as an unreachable host would.
                self.close_connection = True
                return
            except Exception:  # an emulator bug must not kill the connection silently
                log.exception("unhandled error in %s %s", self.command, raw_path)
                response = HttpResponse(500, b'{"error": "emulator internal error"}',
                                        (("Content-Type", "application/json"),))
            self.send_response(response.status)
            names = {k.lower() for k, _ in response.headers}
            for key, value in response.headers:
                self.send_header(key, value)
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def _read_chunked(self) -> bytes:
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _serve

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s " + format, self.address_string(), *args)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a sixth client connecting at the same moment was
    # reset ("Connection reset by peer"), which no cloud endpoint does to a burst of 20.
    request_queue_size = 128


class HttpServer:
    """Serves one application on host:port (port 0 picks a free one) in a background thread."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), _make_handler(app))
        # A short poll interval: stop() waits for it, and tests start and stop servers often.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name=f"localcloud-http-{self.port}")

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def json_response(status: int, payload: object, *headers: tuple[str, str]) -> HttpResponse:
    import json

    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return HttpResponse(status, body, (("Content-Type", "application/json"),) + tuple(headers))

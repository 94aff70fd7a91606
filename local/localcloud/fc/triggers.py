"""HTTP triggers: the request as the WSGI environ FC's Python runtime builds, and the function's
WSGI answer back as an HTTP response.

URL: `/2016-08-15/proxy/{service}[.{qualifier}]/{function}/{path...}`; the function sees
`PATH_INFO` = the part after the function name (at least "/"), `fc.request_uri` = the whole path
and query as received, `REMOTE_ADDR` = the client's address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from ..httpshell import HttpRequest, HttpResponse

PROXY_PREFIX = "/2016-08-15/proxy/"
# Framing headers are the server's business, not the function's.
_DROPPED_RESPONSE_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass(frozen=True)
class TriggerTarget:
    service: str
    qualifier: str | None
    function: str
    raw_subpath: str  # still percent-encoded, starts with "/"


def parse_target(raw_path: str) -> TriggerTarget | None:
    if not raw_path.startswith(PROXY_PREFIX):
        return None
    rest = raw_path[len(PROXY_PREFIX) :]
    parts = rest.split("/", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return None
    service, _, qualifier = parts[0].partition(".")
    subpath = "/" + parts[2] if len(parts) == 3 else "/"
    return TriggerTarget(service, qualifier or None, parts[1], subpath)


def wsgi_environ(request: HttpRequest, target: TriggerTarget) -> dict[str, Any]:
    """The JSON-able part of the environ; the worker adds wsgi.input, fc.context and friends."""
    host = request.header("host", "127.0.0.1")
    server_name, _, server_port = host.partition(":")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        # PEP 3333: PATH_INFO is unescaped, as bytes decoded latin-1.
        "PATH_INFO": unquote_to_bytes(target.raw_subpath).decode("latin-1"),
        "QUERY_STRING": request.query_string,
        "CONTENT_TYPE": request.header("content-type"),
        "CONTENT_LENGTH": str(len(request.body)),
        "SERVER_NAME": server_name,
        "SERVER_PORT": server_port or "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": request.client_ip,
        "wsgi.url_scheme": "http",
        "fc.request_uri": request.raw_path
        + (f"?{request.query_string}" if request.query_string else ""),
    }
    for name, value in request.headers.items():
        if name in ("content-type", "content-length"):
            continue
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def wsgi_response(
    status: str, headers: list[list[str]], body: bytes, request_id: str
) -> HttpResponse:
    code = int(status.split(" ", 1)[0])
    kept = tuple(
        (str(k), str(v)) for k, v in headers if str(k).lower() not in _DROPPED_RESPONSE_HEADERS
    )
    return HttpResponse(code, body, kept + (("x-fc-request-id", request_id),))

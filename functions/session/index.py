"""The session function: FC HTTP trigger, WSGI. Thin by design: it turns the WSGI call into a
`SessionApp.handle` call and the answer back into a WSGI response; everything else lives in
`miniapp`.

The client IP is REMOTE_ADDR, which FC's front end sets to the address the request came from. The
X-Forwarded-For header is not used: the client writes it, so a bot could put a fresh address in
every request and never hit the per-IP rate limit.
"""

from __future__ import annotations

from miniapp import gc_pause

# No cyclic garbage collection until the app is built (miniapp.gc_pause): what the instance
# imports lives as long as it does (docs/design/gc-pause.md).
gc_pause.hold_for_start()

import json
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # typeshed's names for the WSGI signature (wsgiref.types is 3.11+)
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

from miniapp import deadline
from miniapp.config import ConfigError, FcContext
from miniapp.domain.limits import MAX_BODY_BYTES
from miniapp.entrypoints.json_body import BodyHead
from miniapp.entrypoints.session_app import HttpAnswer, SessionApp
from miniapp.errors import MiniAppError
from miniapp.services.failures import report_bug, report_misconfiguration, report_start_failure
from miniapp.wiring import AppCache, build_session_app

APPS: AppCache[SessionApp] = AppCache("session", build_session_app)


def initializer(context: Any) -> None:  # FC's context object
    """Optional FC initializer: build the app before the first request (a failure is retried
    on that request)."""
    try:
        APPS.get(FcContext.from_fc(context))
    except Exception:  # noqa: BLE001 - retried on the first request
        pass


def handler(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    ctx = FcContext.from_fc(environ.get("fc.context"))
    # One deadline for every upstream call of this invocation, from FC's timeout.
    with deadline.invocation(ctx.timeout_seconds):
        return _handle(ctx, environ, start_response)


def _handle(
    ctx: FcContext, environ: WSGIEnvironment, start_response: StartResponse
) -> Iterable[bytes]:
    request_id = ctx.request_id or str(environ.get("HTTP_X_FC_REQUEST_ID", ""))
    try:
        app = APPS.get(ctx)
        answer = app.handle(
            method=str(environ.get("REQUEST_METHOD", "")),
            path=str(environ.get("PATH_INFO", "")),
            body=_read_body(environ),
            client_ip=str(environ.get("REMOTE_ADDR", "")),
            request_id=request_id,
        )
    except ConfigError as exc:
        error = report_misconfiguration(exc, request_id)
        answer = HttpAnswer(error.http_status, error.to_body())
    except MiniAppError as exc:  # the app could not be built (KMS); retried on the next request
        failure = report_start_failure(exc, request_id)
        answer = HttpAnswer(failure.http_status, failure.to_body())
    except Exception as exc:  # noqa: BLE001 - never a stack trace to the client
        error = report_bug(exc, request_id)
        answer = HttpAnswer(error.http_status, error.to_body())
    try:
        payload = json.dumps(answer.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except Exception as exc:  # noqa: BLE001 - e.g. a value JSON cannot hold; never a stack trace
        answer = HttpAnswer(500, report_bug(exc, request_id).to_body())
        payload = json.dumps(answer.body).encode("utf-8")
    start_response(
        f"{answer.status} {HTTPStatus(answer.status).phrase}",
        [*answer.headers, ("Content-Length", str(len(payload)))],
    )
    return [payload]


def _read_body(environ: WSGIEnvironment) -> bytes:
    """At most one byte over the limit is kept: enough for the app to answer PayloadTooLarge
    without holding a huge body in memory. The refusal still says the body's real size: the
    declared Content-Length, or, without one, the bytes counted while draining the rest."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    want = MAX_BODY_BYTES + 1 if length < 0 else min(length, MAX_BODY_BYTES + 1)
    head = stream.read(want) if want else b""
    if len(head) <= MAX_BODY_BYTES:
        return head
    if length >= 0:
        return BodyHead(head, length)
    size = len(head)
    while chunk := stream.read(MAX_BODY_BYTES):  # FC bounds a body (6 MB) before we run
        size += len(chunk)
    return BodyHead(head, size)

"""The payments package's two functions (template.yml: each in a service and role of its own).

- `notify`: FC HTTP trigger (anonymous, WSGI), where Alipay posts its asynchronous notifies; it
  answers the plain text `success` or `fail` (miniapp.services.notify).
- `orders`: FC event handler: the reconciler's timer trigger and the operator's commands
  (scripts/orders.py), answered as JSON (miniapp.entrypoints.payments).

Thin by design, as the other functions: everything else lives in `miniapp`."""

from __future__ import annotations

from miniapp import gc_pause

# No cyclic garbage collection until the app is built (miniapp.gc_pause).
gc_pause.hold_for_start()

import json
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # typeshed's names for the WSGI signature (wsgiref.types is 3.11+)
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

from miniapp import deadline
from miniapp.config import ConfigError, FcContext
from miniapp.domain.notify_form import MAX_FORM_BYTES
from miniapp.entrypoints.payments import NotifyApp, OrdersApp, TextAnswer
from miniapp.errors import MiniAppError
from miniapp.services.failures import report_bug, report_misconfiguration, report_start_failure
from miniapp.wiring import AppCache, build_notify_app, build_orders_app

NOTIFY: AppCache[NotifyApp] = AppCache("notify", build_notify_app)
ORDERS: AppCache[OrdersApp] = AppCache("orders", build_orders_app)


def notify_initializer(context: Any) -> None:  # FC's context object
    try:
        NOTIFY.get(FcContext.from_fc(context))
    except Exception:  # noqa: BLE001 - retried on the first request
        pass


def orders_initializer(context: Any) -> None:
    try:
        ORDERS.get(FcContext.from_fc(context))
    except Exception:  # noqa: BLE001 - retried on the first request
        pass


def notify(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    ctx = FcContext.from_fc(environ.get("fc.context"))
    request_id = ctx.request_id or str(environ.get("HTTP_X_FC_REQUEST_ID", ""))
    with deadline.invocation(ctx.timeout_seconds):
        try:
            stream = environ.get("wsgi.input")
            body = stream.read(MAX_FORM_BYTES + 1) if stream is not None else b""
            answer = NOTIFY.get(ctx).handle(
                str(environ.get("REQUEST_METHOD", "")),
                body,
                str(environ.get("CONTENT_TYPE", "")),
                request_id,
            )
        except ConfigError as exc:
            report_misconfiguration(exc, request_id)
            answer = TextAnswer(200, "fail")  # Alipay retries; the log says what is wrong
        except MiniAppError as exc:
            report_start_failure(exc, request_id)
            answer = TextAnswer(200, "fail")
        except Exception as exc:  # noqa: BLE001 - never a stack trace to anyone
            report_bug(exc, request_id)
            answer = TextAnswer(200, "fail")
    payload = answer.body.encode("utf-8")
    start_response(
        f"{answer.status} {HTTPStatus(answer.status).phrase}",
        [*answer.headers, ("Content-Length", str(len(payload)))],
    )
    return [payload]


def orders(event: Any, context: Any) -> str:
    ctx = FcContext.from_fc(context)
    with deadline.invocation(ctx.timeout_seconds):
        raw = event if isinstance(event, (bytes, bytearray)) else str(event).encode("utf-8")
        try:
            answer = ORDERS.get(ctx).handle(bytes(raw), ctx.request_id)
        except ConfigError as exc:
            answer = report_misconfiguration(exc, ctx.request_id).to_body()
        except MiniAppError as exc:
            answer = report_start_failure(exc, ctx.request_id).to_body()
        except Exception as exc:  # noqa: BLE001 - errors are results, never unhandled
            answer = report_bug(exc, ctx.request_id).to_body()
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":"))

"""The db function: FC event handler, invoked with the client's STS credentials. Thin by design:
the event goes to `DbApp.handle`, the answer comes back as JSON text. It answers errors as
results (`{"error": {...}}`) and never raises: a raised exception would reach the client as
FC's UnhandledInvocationError, stack trace included."""

from __future__ import annotations

from miniapp import gc_pause

# No cyclic garbage collection until the app is built (miniapp.gc_pause): what the instance
# imports lives as long as it does (docs/design/gc-pause.md).
gc_pause.hold_for_start()

import json
from typing import Any

from miniapp import deadline
from miniapp.config import ConfigError, FcContext
from miniapp.domain.json_text import render
from miniapp.entrypoints.db_app import DbApp
from miniapp.errors import MiniAppError
from miniapp.services.failures import report_bug, report_misconfiguration, report_start_failure
from miniapp.wiring import AppCache, build_db_app

APPS: AppCache[DbApp] = AppCache("db", build_db_app)


def initializer(context: Any) -> None:  # FC's context object
    try:
        APPS.get(FcContext.from_fc(context))
    except Exception:  # noqa: BLE001 - retried on the first request
        pass


def handler(event: Any, context: Any) -> str:  # FC's signature
    ctx = FcContext.from_fc(context)
    # One deadline for every Tablestore call (retries included) of this invocation.
    with deadline.invocation(ctx.timeout_seconds):
        return _handle(ctx, event)


def _handle(ctx: FcContext, event: Any) -> str:
    try:
        raw = (
            event
            if isinstance(event, (bytes, bytearray))
            else str(event).encode("utf-8", "surrogatepass")
        )
        answer = APPS.get(ctx).handle(bytes(raw), ctx.request_id)
    except ConfigError as exc:
        answer = report_misconfiguration(exc, ctx.request_id).to_body()
    except MiniAppError as exc:  # the app could not be built (KMS); retried on the next request
        answer = report_start_failure(exc, ctx.request_id).to_body()
    except Exception as exc:  # noqa: BLE001 - errors are results, never unhandled
        answer = report_bug(exc, ctx.request_id).to_body()
    # Compact separators and raw UTF-8, as the 2020 Node function's JSON.stringify answered; a
    # 2020 list's rows were encoded once already, while it read them (json_text.render).
    try:
        return render(answer)
    except Exception as exc:  # noqa: BLE001 - e.g. a value a store returned that JSON cannot hold
        return json.dumps(report_bug(exc, ctx.request_id).to_body())

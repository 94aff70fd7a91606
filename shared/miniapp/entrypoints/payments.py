"""The two payment functions' front ends, independent of FC.

`NotifyApp`: Alipay's notify, an anonymous HTTP POST, answered as Alipay reads it: HTTP 200 and
the plain text `success` or `fail` (services/notify.py decides which). Another method is 405.

`OrdersApp`: the orders function's events. FC's timer event (`{"triggerTime", "triggerName",
"payload"}`) runs the reconciler; the operator's events (scripts/orders.py, invoked with the
operator's own credentials: the clients' STS policy names only the db function) are

    {"op": "list", "limit"?, "before"?}            -> {"data": [order, ...]}, newest first
    {"op": "refund", "id", "requestNo", "amount"?} -> {"data": order}; amount in yuan,
                                                      by default what is left to refund
    {"op": "close", "id"}                          -> {"data": order}

answered `{"data": ...}` or `{"error": {"code", "message"}}`, as the db function answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..errors import InvalidRequest, MiniAppError
from ..services.failures import report_bug
from ..services.notify import NotifyReceiver
from ..services.reconcile import Desk, Reconciler
from .fields import optional_int, optional_str, reject_unknown, required_str
from .json_body import parse_json_object

LIST_MAX = 100


@dataclass(frozen=True)
class TextAnswer:
    """An HTTP answer with a plain text body."""

    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/plain; charset=utf-8"),)


class NotifyApp:
    def __init__(self, receiver: NotifyReceiver) -> None:
        self.receiver = receiver

    def handle(self, method: str, body: bytes, content_type: str, request_id: str) -> TextAnswer:
        if method != "POST":
            return TextAnswer(405, "fail", (("Allow", "POST"), ("Content-Type", "text/plain")))
        return TextAnswer(200, self.receiver.receive(body, content_type, request_id))


class OrdersApp:
    def __init__(self, reconciler: Reconciler, desk: Desk) -> None:
        self.reconciler = reconciler
        self.desk = desk

    def handle(self, event: bytes, request_id: str) -> dict[str, Any]:
        try:
            fields = parse_json_object(event)
            return {"data": self._run(fields)}
        except MiniAppError as error:
            return error.to_body()
        except Exception as exc:  # noqa: BLE001 - errors are results, never unhandled
            return report_bug(exc, request_id).to_body()

    def _run(self, fields: Mapping[str, Any]) -> Any:
        if "triggerTime" in fields:  # FC's timer event
            return self.reconciler.run(_trigger_time_ms(fields["triggerTime"]))
        op = required_str(fields, "op")
        if op == "list":
            reject_unknown(fields, {"op", "limit", "before"}, "a list event")
            limit = optional_int(fields, "limit", 1, LIST_MAX) or 20
            return self.desk.list(limit, optional_str(fields, "before"))
        if op == "refund":
            reject_unknown(fields, {"op", "id", "requestNo", "amount"}, "a refund event")
            return self.desk.refund(
                required_str(fields, "id"),
                optional_str(fields, "amount"),
                required_str(fields, "requestNo"),
            )
        if op == "close":
            reject_unknown(fields, {"op", "id"}, "a close event")
            return self.desk.close(required_str(fields, "id"))
        raise InvalidRequest("'op' must be one of list, refund, close")


def _trigger_time_ms(value: Any) -> int | None:
    """The timer's scheduled time (`2026-01-01T00:05:00Z`), which the reconciler ages orders
    against: the time FC meant the run for (on the local cloud, its clock, which tests move)."""
    try:
        moment = datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)

"""Receiving Alipay's asynchronous notifies: verify, check against our own order, apply once.

The order of the checks, each refusal answered `fail` (so a genuine notify that failed for a
passing reason is sent again by Alipay) and recorded with its reason:

  1. the form reads (domain/notify_form.py: charset, encoding, no field twice, a `sign`);
  2. `sign_type` is RSA2 and the signature verifies with Alipay's key (or certificate): a forged
     notify stops here, whatever it claims;
  3. `app_id` is our app and `seller_id` our merchant (a notify addressed to someone else);
  4. `out_trade_no` is an order of ours, `total_amount` its amount and `trade_no` its trade
     (OrderBook.apply);
  5. what it says is ahead of the order: applied (grant first, then the status), answered
     `success` once stored; the same as the order: nothing to change, `success` (Alipay's retry
     or duplicate); behind the order: a replayed or out-of-date notify, refused.

A failure to store (Tablestore unavailable) answers `fail` and Alipay retries. Records hold the
reason, the order id, the trade status and the notify id: no buyer, no amount, nothing signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..domain.ids import is_item_id
from ..domain.notify_form import FormRefused, parse_form, trade_state
from ..errors import MiniAppError, NotFound
from ..ports import Clock, LogSink, OrderIndex
from .orders import Mismatch, OrderBook

SUCCESS, FAIL = "success", "fail"


class NotifyVerifier(Protocol):
    def verify(self, fields: dict[str, str], charset: str) -> bool:
        """Whether `sign` is Alipay's RSA2 signature over the other fields but `sign_type`."""
        ...


@dataclass(frozen=True)
class NotifySettings:
    """Whom a notify must be addressed to: our app and our merchant (seller) id."""

    app_id: str
    seller_id: str


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotifyReceiver:
    def __init__(
        self,
        settings: NotifySettings,
        verifier: NotifyVerifier,
        index: OrderIndex,
        book: OrderBook,
        sink: LogSink,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._verifier = verifier
        self._index = index
        self._book = book
        self._sink = sink
        self._clock = clock

    def receive(self, body: bytes, content_type: str, request_id: str) -> str:
        """`success` or `fail`, the body Alipay reads."""
        record: dict[str, object] = {"orderId": "", "tradeStatus": "", "notifyId": ""}
        try:
            outcome = self._receive(body, content_type, record)
        except Refused as refused:
            self._record(request_id, "refused", record, refused.reason)
            return FAIL
        except MiniAppError as exc:  # not stored: Alipay sends it again
            self._record(request_id, "not_stored", record, exc.code)
            return FAIL
        self._record(request_id, outcome, record, "")
        return SUCCESS

    def _receive(self, body: bytes, content_type: str, record: dict[str, object]) -> str:
        try:
            fields, charset = parse_form(body, content_type)
        except FormRefused as exc:
            raise Refused(f"malformed: {exc.reason}") from None
        order_id = fields.get("out_trade_no", "")
        record.update(
            orderId=order_id if is_item_id(order_id) else "",
            tradeStatus=fields.get("trade_status", "")[:32],
            notifyId=fields.get("notify_id", "")[:64],
        )
        if fields.get("sign_type", "RSA2") != "RSA2":
            raise Refused("sign_type is not RSA2")
        if not self._verifier.verify(fields, charset):
            raise Refused("the signature does not verify with Alipay's key (forged?)")
        if fields.get("app_id") != self._settings.app_id:
            raise Refused("app_id is another app's")
        if fields.get("seller_id") != self._settings.seller_id:
            raise Refused("seller_id is another merchant's")
        if not is_item_id(order_id):
            raise Refused("out_trade_no is not an order of ours")
        try:
            seen = trade_state(fields)
        except FormRefused as exc:
            raise Refused(f"malformed: {exc.reason}") from None
        owner = self._index.owner(order_id)
        if owner is None:
            raise Refused("out_trade_no is not an order of ours")
        try:
            applied = self._book.apply(owner, order_id, seen)
        except NotFound:
            raise Refused("out_trade_no is not an order of ours") from None
        except Mismatch as exc:
            raise Refused(exc.reason) from None
        if applied.progress == "behind":
            raise Refused(
                f"replayed or out of date: the order is {applied.order.values['status']}"
            )
        return "applied" if applied.progress == "ahead" else "duplicate"

    def _record(
        self, request_id: str, outcome: str, record: dict[str, object], reason: str
    ) -> None:
        try:
            self._sink.emit(
                {
                    "kind": "payment",
                    "event": "notify",
                    "time": self._clock.now_ms(),
                    "requestId": request_id,
                    "function": "notify",
                    "outcome": outcome,
                    "reason": reason,
                    **record,
                }
            )
        except Exception:  # noqa: BLE001 - logging never fails a notify
            pass

"""The trade methods of `gateway.do` and the sandbox cashier, between HTTP and the trade rules.

Replies name the buyer as the app's identity mode says at the time (`buyer_user_id` and/or
`buyer_open_id` in replies, `buyer_id` and/or `buyer_open_id` in notifies). A payment, each
refund and the end of a paid trade's refund window (TRADE_FINISHED) queue a notify to the trade's
`notify_url` (when it has one), which the scheduler sends.

The cashier plays `my.tradePay` in the buyer's Alipay app, which cannot run on a laptop:
`{"tradeNo", "user_id", "result"}` where `result` says what the buyer does, answered with the
shape `my.tradePay` resolves with (`{"resultCode", "memo"}`):

    success        pays; 9000
    processing     pays, but the app only knows it is under way; 8000
    unknown        pays, but the app cannot tell; 6004
    fail           does not pay; 4000
    cancel         the buyer backs out; 6001
    network_error  the app could not reach Alipay, nothing paid; 6002

A payment the cashier cannot take (unknown trade, another buyer, not WAIT_BUYER_PAY) is 4000
with the reason in `memo`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from . import errors
from .apps import App, AppRegistry, seller_id
from .core import USER_ID, InvalidSandboxRequest
from .errors import AlipayError
from .gateway import (
    TRADE_CLOSE,
    TRADE_CREATE,
    TRADE_QUERY,
    TRADE_REFUND,
    TRADE_REFUND_QUERY,
    GatewayCall,
)
from .money import yuan
from .notify import Notifier, beijing
from .trades import TRADE_CLOSED, CashierRefusal, Trade, TradeBook, finishes_by, read_biz

CASHIER_RESULTS: dict[str, tuple[str, bool, str]] = {
    "success": ("9000", True, "支付成功"),
    "processing": ("8000", True, "正在处理中"),
    "unknown": ("6004", True, "支付结果未知"),
    "fail": ("4000", False, "订单支付失败"),
    "cancel": ("6001", False, "用户中途取消"),
    "network_error": ("6002", False, "网络连接出错"),
}


class Payments:
    """The trade methods and the cashier, and a scheduler job: it finishes the paid trades whose
    refund window has ended (each with its TRADE_FINISHED notify). Add it to the scheduler
    before the notifier, so a notify it queues goes in the same tick."""

    def __init__(
        self,
        trades: TradeBook,
        apps: AppRegistry,
        notifier: Notifier,
        wake: Callable[[], None],
        *,
        alipay_cert_sn: str,
    ) -> None:
        self._trades = trades
        self._apps = apps
        self._notifier = notifier
        self._wake = wake  # the scheduler: a queued notify may go at once
        self._alipay_cert_sn = alipay_cert_sn  # named in the notifies of apps in cert mode

    def call(self, call: GatewayCall) -> dict[str, object]:
        """The reply fields of a trade method; raises AlipayError for a refusal."""
        if not call.app.payments:
            raise AlipayError(errors.INSUFFICIENT_ISV_PERMISSIONS)
        app, biz = call.app, read_biz(call.params)
        if call.method == TRADE_CREATE:
            trade = self._trades.create(app, biz, call.param("notify_url"))
            return _ok(out_trade_no=trade.out_trade_no, trade_no=trade.trade_no)
        if call.method == TRADE_QUERY:
            trade = self._trades.find(app, biz)
            fields = _ok(
                trade_no=trade.trade_no,
                out_trade_no=trade.out_trade_no,
                trade_status=trade.status,
                total_amount=yuan(trade.total_fen),
                buyer_pay_amount=yuan(trade.total_fen if trade.paid_at else 0),
                point_amount="0.00",
            )
            if trade.paid_at is not None:
                fields["send_pay_date"] = beijing(trade.paid_at)
            return {**fields, **self._buyer(app, trade, user_key="buyer_user_id")}
        if call.method == TRADE_CLOSE:
            trade = self._trades.close(app, biz)
            return _ok(trade_no=trade.trade_no, out_trade_no=trade.out_trade_no)
        if call.method == TRADE_REFUND:
            trade, refund, moved = self._trades.refund(app, biz)
            if moved:
                self._notify(
                    app, trade, refund_request=refund.out_request_no, refunded_at=refund.refunded_at
                )
            return {
                **_ok(
                    trade_no=trade.trade_no,
                    out_trade_no=trade.out_trade_no,
                    fund_change="Y" if moved else "N",
                    refund_fee=yuan(trade.refunded_fen),
                    gmt_refund_pay=beijing(refund.refunded_at),
                ),
                **self._buyer(app, trade, user_key="buyer_user_id"),
            }
        if call.method == TRADE_REFUND_QUERY:
            trade, found = self._trades.refund_of(app, biz)
            if found is None:
                return _ok()  # no data: that request refunded nothing
            return _ok(
                trade_no=trade.trade_no,
                out_trade_no=trade.out_trade_no,
                out_request_no=found.out_request_no,
                total_amount=yuan(trade.total_fen),
                refund_amount=yuan(found.refund_fen),
                refund_status="REFUND_SUCCESS",
            )
        raise AssertionError(f"not a trade method: {call.method}")

    def cashier(self, payload: Mapping[str, Any]) -> dict[str, str]:
        unknown = set(payload) - {"tradeNo", "user_id", "result"}
        if unknown:
            raise InvalidSandboxRequest(f"unknown fields: {', '.join(sorted(unknown))}")
        trade_no, user_id, result = (
            payload.get("tradeNo"),
            payload.get("user_id"),
            payload.get("result"),
        )
        if not isinstance(trade_no, str) or not trade_no:
            raise InvalidSandboxRequest("tradeNo must be the trade_no of alipay.trade.create")
        if not isinstance(user_id, str) or not USER_ID.fullmatch(user_id):
            raise InvalidSandboxRequest("user_id must be 16 digits starting with 2088")
        if result not in CASHIER_RESULTS:
            raise InvalidSandboxRequest(f"result must be one of {', '.join(CASHIER_RESULTS)}")
        code, pays, memo = CASHIER_RESULTS[result]
        if pays:
            try:
                trade = self._trades.pay(trade_no, user_id)
            except CashierRefusal as refusal:
                return {"resultCode": "4000", "memo": str(refusal)}
            self._notify(self._apps.get(trade.app_id), trade)
        return {"resultCode": code, "memo": memo}

    # -- the scheduler job ---------------------------------------------------------------------
    def next_due(self) -> float | None:
        return self._trades.next_finish()

    def run_due(self, now: float) -> None:
        def notify(trade: Trade) -> None:
            assert trade.paid_at is not None  # only paid trades finish
            closed_at = finishes_by(trade)
            self._notify(self._apps.get(trade.app_id), trade, closed_at=closed_at, at=now)

        self._trades.finish_due(now, notify)

    # -- notifies ------------------------------------------------------------------------------
    def _notify(
        self,
        app: App,
        trade: Trade,
        *,
        refund_request: str | None = None,
        refunded_at: float | None = None,
        closed_at: float | None = None,
        at: float | None = None,
    ) -> None:
        """Queue the notify of the trade's new state. In certificate mode it names the Alipay
        certificate it is signed under, `alipay_cert_sn`. Alipay documents that field on the
        gateway's replies in certificate mode; for notifies we follow smartwalle/alipay (a widely
        used Go SDK), which reads it from a notify's form to pick the certificate. Whether the
        signature covers it is documented nowhere we found: we sign it with the rest, since the
        official SDKs' verifiers (python-alipay-sdk `verify`, the Java SDK's
        `AlipaySignature.certVerifyV1`, the Node SDK's `checkNotifySign`) leave out only `sign`
        and `sign_type`, and a field outside the signature would fail all three."""
        if not trade.notify_url:
            return
        total = yuan(trade.total_fen)
        fields = {
            "notify_type": "trade_status_sync",
            "app_id": app.app_id,
            "auth_app_id": app.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "seller_id": seller_id(app.app_id),
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "subject": trade.subject,
            "total_amount": total,
            "receipt_amount": total,
            "buyer_pay_amount": total,
            "invoice_amount": total,
            "point_amount": "0.00",
            "gmt_create": beijing(trade.created_at),
            "fund_bill_list": json.dumps(
                [{"amount": total, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")
            ),
            **self._buyer(app, trade, user_key="buyer_id"),
        }
        if trade.paid_at is not None:
            fields["gmt_payment"] = beijing(trade.paid_at)
        if refund_request is not None and refunded_at is not None:
            fields.update(
                out_biz_no=refund_request,
                refund_fee=yuan(trade.refunded_fen),
                gmt_refund=beijing(refunded_at) + ".000",
            )
            if trade.status == TRADE_CLOSED:
                fields["gmt_close"] = beijing(refunded_at)
        if closed_at is not None:
            fields["gmt_close"] = beijing(closed_at)
        if app.signing == "cert":
            fields["alipay_cert_sn"] = self._alipay_cert_sn
        self._notifier.enqueue(trade.trade_no, trade.notify_url, fields, at)
        self._wake()

    def _buyer(self, app: App, trade: Trade, *, user_key: str) -> dict[str, str]:
        named = self._apps.identity_fields(self._apps.get(app.app_id), trade.buyer_user_id)
        fields = {}
        if "user_id" in named:
            fields[user_key] = named["user_id"]
        if "open_id" in named:
            fields["buyer_open_id"] = named["open_id"]
        return fields


def _ok(**fields: object) -> dict[str, object]:
    return {"code": "10000", "msg": "Success", **fields}

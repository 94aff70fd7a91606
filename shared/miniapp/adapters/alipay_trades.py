"""TradeGateway on python-alipay-sdk: the JSAPI payment methods of a mini program, signed in key
or certificate mode as login is (adapters/alipay.py builds the client and translates the SDK).

How Alipay answers, and what we make of it:

    trade.create: trade_no                                         -> the trade number
    trade.create: ACQ.BUYER_NOT_EXIST (the buyer named as the app's
      identity mode no longer allows, e.g. after the move to open_id) -> SessionExpired: a new
                                                                      login names them anew
    trade.query: the trade                                         -> TradeState
    trade.query: ACQ.TRADE_NOT_EXIST                               -> None
    trade.close: ACQ.TRADE_STATUS_ERROR (paid meanwhile)           -> False
    trade.refund: fund_change, refund_fee (refunded so far)        -> Refunded
    refusals a caller can act on (ACQ.REFUND_AMT_NOT_EQUAL_TOTAL,
      ACQ.DISCORDANT_REPEAT_REQUEST, ACQ.TRADE_STATUS_ERROR, ...)   -> Conflict, sub_code named
    anything else Alipay refuses, or an unreachable, slow or
      unverifiable gateway                                         -> UpstreamUnavailable

Amounts cross as integer fen and go to Alipay as yuan strings ("9.90"), never floats.
"""

from __future__ import annotations

from typing import Any

from ..domain.money import fen_of, yuan
from ..domain.orders import TRADE_STATUSES, TradeState
from ..domain.records import Buyer, Refunded
from ..errors import Conflict, SessionExpired, UpstreamUnavailable
from .alipay import GatewayRefusal, call

CREATE, QUERY, CLOSE, REFUND = (
    "alipay.trade.create",
    "alipay.trade.query",
    "alipay.trade.close",
    "alipay.trade.refund",
)
PRODUCT_CODE = "JSAPI_PAY"  # a mini program's payment (my.tradePay)
# Refusals about the trade's own state: the operator (or client) can act on them.
_STATE_SUB_CODES = (
    "ACQ.TRADE_STATUS_ERROR",
    "ACQ.TRADE_HAS_SUCCESS",
    "ACQ.TRADE_HAS_CLOSE",
    "ACQ.TRADE_HAS_FINISHED",
    "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
    "ACQ.DISCORDANT_REPEAT_REQUEST",
    "ACQ.CONTEXT_INCONSISTENT",
)


class AlipayTrades:
    def __init__(self, client: Any, app_id: str) -> None:
        """`client`: adapters.alipay.alipay_client, with the app's private key."""
        self._client = client
        self._app_id = app_id

    def create(
        self,
        out_trade_no: str,
        amount_fen: int,
        subject: str,
        buyer: Buyer,
        notify_url: str,
        timeout_minutes: int,
    ) -> str:
        biz: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "total_amount": yuan(amount_fen),
            "subject": subject,
            "product_code": PRODUCT_CODE,
            "op_app_id": self._app_id,
            "timeout_express": f"{timeout_minutes}m",
        }
        if buyer.open_id:
            biz["buyer_open_id"] = buyer.open_id
        else:
            biz["buyer_id"] = buyer.user_id
        try:
            reply = call(
                self._client, CREATE, "trade.create", biz_content=biz, notify_url=notify_url
            )
        except GatewayRefusal as refusal:
            if refusal.sub_code == "ACQ.BUYER_NOT_EXIST":
                raise SessionExpired(
                    "Alipay does not know the buyer as this session names them; sign in again"
                ) from None
            raise _translated(refusal) from None
        trade_no = reply.get("trade_no")
        if not isinstance(trade_no, str) or not trade_no:
            raise UpstreamUnavailable("Alipay reply lacks the trade_no")
        return trade_no

    def query(self, out_trade_no: str) -> TradeState | None:
        try:
            reply = call(
                self._client, QUERY, "trade.query", biz_content={"out_trade_no": out_trade_no}
            )
        except GatewayRefusal as refusal:
            if refusal.sub_code == "ACQ.TRADE_NOT_EXIST":
                return None
            raise _translated(refusal) from None
        status, total = reply.get("trade_status"), fen_of(reply.get("total_amount"))
        if (
            status not in TRADE_STATUSES
            or total is None
            or reply.get("out_trade_no") != out_trade_no
        ):
            raise UpstreamUnavailable("Alipay's trade.query reply is malformed")
        # Query names a paid trade's payment time (send_pay_date), never what was refunded.
        return TradeState.reported(
            str(reply.get("trade_no", "")),
            out_trade_no,
            total,
            status,
            paid_at=bool(reply.get("send_pay_date")),
        )

    def close(self, out_trade_no: str) -> bool:
        try:
            call(self._client, CLOSE, "trade.close", biz_content={"out_trade_no": out_trade_no})
        except GatewayRefusal as refusal:
            if refusal.sub_code in ("ACQ.TRADE_STATUS_ERROR", "ACQ.TRADE_NOT_EXIST"):
                return False
            raise _translated(refusal) from None
        return True

    def refund(self, out_trade_no: str, amount_fen: int, out_request_no: str) -> Refunded:
        try:
            reply = call(
                self._client,
                REFUND,
                "trade.refund",
                biz_content={
                    "out_trade_no": out_trade_no,
                    "refund_amount": yuan(amount_fen),
                    "out_request_no": out_request_no,
                },
            )
        except GatewayRefusal as refusal:
            raise _translated(refusal) from None
        total = fen_of(reply.get("refund_fee"))
        if total is None:
            raise UpstreamUnavailable("Alipay's trade.refund reply lacks refund_fee")
        return Refunded(total_refunded_fen=total, moved=reply.get("fund_change") == "Y")


def _translated(refusal: GatewayRefusal) -> Conflict | UpstreamUnavailable:
    if refusal.sub_code in _STATE_SUB_CODES:
        return Conflict(f"Alipay refused: {refusal.sub_code}")
    return refusal.unavailable()

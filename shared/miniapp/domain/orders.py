"""The rules of an order's life, without I/O.

    CREATED ──paid──> PAID ──part refunded──> PARTIALLY_REFUNDED ──rest refunded──> REFUNDED
       │                └──────────────fully refunded──────────────────────────────────^
       └──closed unpaid──> CLOSED

What Alipay says about a trade (a query or a verified notify) is a `TradeState`; the order moves
to what it says only forward (`compare`): a notify, a query and the reconciler may each see the
same change, in any order, and it is applied once; news older than the order changes nothing. A
trade that Alipay calls paid while our order is CLOSED, or closed unpaid while ours is paid,
contradicts us: it is refused and logged, never applied.

An order grants its product's grant while it is PAID or PARTIALLY_REFUNDED (`grants`): a full
refund takes the grant back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CREATED, PAID, PARTIALLY_REFUNDED, REFUNDED, CLOSED = (
    "CREATED",
    "PAID",
    "PARTIALLY_REFUNDED",
    "REFUNDED",
    "CLOSED",
)
STATUSES = (CREATED, PAID, PARTIALLY_REFUNDED, REFUNDED, CLOSED)
_RANK = {CREATED: 0, PAID: 1, PARTIALLY_REFUNDED: 2, REFUNDED: 3}
# Alipay's trade_status values (alipay.trade.query, notifies)
WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_FINISHED, TRADE_CLOSED = (
    "WAIT_BUYER_PAY",
    "TRADE_SUCCESS",
    "TRADE_FINISHED",
    "TRADE_CLOSED",
)
TRADE_STATUSES = (WAIT_BUYER_PAY, TRADE_SUCCESS, TRADE_FINISHED, TRADE_CLOSED)

Progress = Literal["ahead", "same", "behind", "contradicts"]


@dataclass(frozen=True)
class OrderState:
    """Where an order stands: its status and what was refunded of it (fen)."""

    status: str
    refunded_fen: int = 0

    @property
    def grants(self) -> bool:
        return self.status in (PAID, PARTIALLY_REFUNDED)


@dataclass(frozen=True)
class TradeState:
    """What Alipay says about a trade. `paid`: the buyer paid it (whatever was refunded since);
    `refunded_fen`: refunded so far (0 when the source does not say)."""

    trade_no: str
    out_trade_no: str
    total_fen: int
    trade_status: str
    paid: bool
    refunded_fen: int = 0

    @classmethod
    def reported(
        cls,
        trade_no: str,
        out_trade_no: str,
        total_fen: int,
        trade_status: str,
        *,
        paid_at: bool,
        refunded_fen: int = 0,
    ) -> TradeState:
        """The trade as a query or a notify reports it, which says nothing of `paid`: a trade is
        paid when it succeeded or finished, or when it is closed yet names a payment time
        (`paid_at`) or a refund; a closed trade that was paid was refunded in full, whether or
        not the report says how much (`refunded_fen`, 0 when it does not)."""
        paid = trade_status in (TRADE_SUCCESS, TRADE_FINISHED) or (
            trade_status == TRADE_CLOSED and (paid_at or refunded_fen > 0)
        )
        if trade_status == TRADE_CLOSED and paid and not refunded_fen:
            refunded_fen = total_fen
        return cls(trade_no, out_trade_no, total_fen, trade_status, paid, refunded_fen)

    def order_state(self) -> OrderState:
        if self.paid:
            if self.refunded_fen <= 0:
                return OrderState(PAID)
            if self.refunded_fen < self.total_fen:
                return OrderState(PARTIALLY_REFUNDED, self.refunded_fen)
            return OrderState(REFUNDED, self.total_fen)
        if self.trade_status == TRADE_CLOSED:
            return OrderState(CLOSED)
        return OrderState(CREATED)


def compare(current: OrderState, seen: OrderState) -> Progress:
    """How what Alipay says (`seen`) stands to the order (`current`)."""
    if current == seen:
        return "same"
    if current.status == CLOSED:
        return "behind" if seen.status == CREATED else "contradicts"
    if seen.status == CLOSED:
        return "ahead" if current.status == CREATED else "contradicts"
    here = (_RANK[current.status], current.refunded_fen)
    there = (_RANK[seen.status], seen.refunded_fen)
    return "ahead" if there > here else "behind"

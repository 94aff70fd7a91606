"""The orders function: the reconciler on a timer, and the operator's commands.

`Reconciler.run` looks at every order the index still holds open that is older than a minute
(younger ones are left to their notify): an order that moved already leaves the index; one still
CREATED is asked about (alipay.trade.query) and completed if Alipay saw it paid, or closed if
Alipay closed its trade, or closed by us (alipay.trade.close) once the buyer's time to pay is
over. An index row without an order (the db function's create failed after the index write) has
its trade closed, if Alipay made one, and leaves the index.

`Desk` is the operator's side (scripts/orders.py): list orders, refund one in full or in part
(idempotent by `out_request_no`, which Alipay keeps per trade), close an unpaid one. Refunds and
closes are applied to the order at once through OrderBook, as their notifies would.
"""

from __future__ import annotations

import logging
from typing import Any

from ..domain.ids import first_id_at, id_time_ms, is_item_id
from ..domain.money import fen_of, yuan
from ..domain.orders import CREATED, PAID, PARTIALLY_REFUNDED, TRADE_CLOSED, TradeState
from ..domain.schema import Item
from ..errors import Conflict, InvalidRequest, MiniAppError, NotFound
from ..ports import Clock, OrderIndex, TradeGateway
from .orders import Mismatch, OrderBook

log = logging.getLogger("miniapp.reconcile")

MIN_AGE_MS = 60_000  # a younger order is left to its notify
BATCH = 100  # orders looked at per run (the timer's next run takes the rest)
_OUT_REQUEST_NO = 64


class Reconciler:
    def __init__(
        self,
        index: OrderIndex,
        book: OrderBook,
        trades: TradeGateway,
        clock: Clock,
        pay_minutes: int,
    ) -> None:
        self._index = index
        self._book = book
        self._trades = trades
        self._clock = clock
        self._pay_ms = pay_minutes * 60_000

    def run(self, now_ms: int | None = None) -> dict[str, int]:
        """What each open order came to: {"settled": n, "paid": n, "closed": n, "waiting": n,
        "failed": n}. One order failing (Alipay down) leaves it for the next run. `now_ms`: the
        time the run was scheduled for (the timer event's triggerTime), else the clock's."""
        now = self._clock.now_ms() if now_ms is None else now_ms
        counts = {"settled": 0, "paid": 0, "closed": 0, "waiting": 0, "failed": 0}
        for order_id, user_id in self._index.open_orders(first_id_at(now - MIN_AGE_MS), BATCH):
            try:
                counts[self._one(order_id, user_id, now)] += 1
            except (MiniAppError, Mismatch) as exc:
                log.warning("reconcile %s: %s", order_id, getattr(exc, "reason", exc))
                counts["failed"] += 1
        return counts

    def _one(self, order_id: str, user_id: str, now: int) -> str:
        overdue = now - id_time_ms(order_id) > self._pay_ms
        try:
            order = self._book.get(user_id, order_id)
        except NotFound:
            if not overdue:
                return "waiting"
            self._trades.close(order_id)  # a trade the failed create may have made
            self._index.settle(order_id)
            return "settled"
        if order.values["status"] != CREATED:
            self._index.settle(order_id)
            return "settled"
        seen = self._trades.query(order_id)
        if seen is not None:
            status = self._book.apply(user_id, order_id, seen).order.values["status"]
            if status != CREATED:
                self._index.settle(order_id)
                return "paid" if status != "CLOSED" else "closed"
        if not overdue:
            return "waiting"
        return self._close(order_id, user_id, order, seen)

    def _close(self, order_id: str, user_id: str, order: Item, seen: TradeState | None) -> str:
        """`order` as `_one` read it: its amount, which never changes, when Alipay has no trade."""
        if seen is None or self._trades.close(order_id):
            closed = TradeState(
                # Alipay has no trade: the order keeps the trade number its create was given,
                # if any (OrderBook refuses a state naming another trade).
                seen.trade_no if seen else str(order.values.get("tradeNo") or ""),
                order_id,
                seen.total_fen if seen else fen_of(order.values["amount"]) or 0,
                TRADE_CLOSED,
                False,
            )
            self._book.apply(user_id, order_id, closed)
            self._index.settle(order_id)
            return "closed"
        # Not closable: paid (or closed) since the query. Ask again and apply that.
        again = self._trades.query(order_id)
        if again is not None:
            self._book.apply(user_id, order_id, again)
        return "waiting"


class Desk:
    """The operator's commands, run by the orders function with its own role."""

    def __init__(self, index: OrderIndex, book: OrderBook, trades: TradeGateway) -> None:
        self._index = index
        self._book = book
        self._trades = trades

    def list(self, limit: int, before: str | None) -> list[dict[str, Any]]:
        found = []
        for order_id, user_id in self._index.recent(limit, before):
            try:
                order = self._book.get(user_id, order_id)
            except (NotFound, Mismatch):
                continue  # indexed by a create that never wrote its order
            found.append({**order.to_wire(), "user": user_id})
        return found

    def refund(self, order_id: str, amount: str | None, request_no: str) -> dict[str, Any]:
        user_id, order = self._order(order_id)
        if order.values["status"] not in (PAID, PARTIALLY_REFUNDED) and not amount:
            raise Conflict(f"the order is {order.values['status']}: nothing to refund")
        total = fen_of(order.values["amount"]) or 0
        refunded = fen_of(order.values.get("refunded", "0.00")) or 0
        fen = fen_of(amount) if amount else total - refunded
        if fen is None or fen < 1:
            raise InvalidRequest("'amount' must be yuan with at most two decimals, at least 0.01")
        if (
            not 1 <= len(request_no) <= _OUT_REQUEST_NO
            or not request_no.replace("-", "").replace("_", "").isalnum()
        ):
            raise InvalidRequest("'requestNo' must be 1 to 64 letters, digits, '_' or '-'")
        done = self._trades.refund(order_id, fen, request_no)
        seen = TradeState(
            str(order.values.get("tradeNo", "")),
            order_id,
            total,
            TRADE_CLOSED if done.total_refunded_fen >= total else "TRADE_SUCCESS",
            True,
            done.total_refunded_fen,
        )
        applied = self._book.apply(user_id, order_id, seen)
        return {**applied.order.to_wire(), "user": user_id, "fundChange": done.moved}

    def close(self, order_id: str) -> dict[str, Any]:
        user_id, order = self._order(order_id)
        if order.values["status"] != CREATED:
            raise Conflict(f"the order is {order.values['status']}: only a CREATED one closes")
        if not self._trades.close(order_id):
            seen = self._trades.query(order_id)
            if seen is not None:
                self._book.apply(user_id, order_id, seen)
            raise Conflict("Alipay would not close the trade: it was paid or closed meanwhile")
        total = fen_of(order.values["amount"]) or 0
        seen = TradeState(
            str(order.values.get("tradeNo", "")), order_id, total, TRADE_CLOSED, False
        )
        self._index.settle(order_id)
        return {**self._book.apply(user_id, order_id, seen).order.to_wire(), "user": user_id}

    def _order(self, order_id: str) -> tuple[str, Any]:
        if not is_item_id(order_id):
            raise InvalidRequest("'id' must be an order id (26 characters, Crockford base32)")
        user_id = self._index.owner(order_id)
        if user_id is None:
            raise NotFound("no such order")
        try:
            return user_id, self._book.get(user_id, order_id)
        except Mismatch as exc:
            raise Conflict(exc.reason) from None


__all__ = ["Desk", "Reconciler", "yuan"]

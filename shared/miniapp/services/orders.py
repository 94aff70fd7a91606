"""Orders: what a user buys, priced by the catalog, paid through Alipay, and applied once.

`OrderBook.apply` is the one way an order changes: given what Alipay says about its trade (a
query, a verified notify, a refund's answer), it moves the order forward (domain/orders.py) with
a write conditional on the version it read, so of a notify, a sync and the reconciler that see
the same payment at once exactly one writes it, and the others find it done. The grant comes
first: a paid order's grant is written (one column per order, so writing it twice grants once)
before the order says PAID, and taken back before it says REFUNDED; a crash between the two
leaves the status unchanged, so the next notify, sync or reconciler run completes it. One that
loses a race and finds the order moved elsewhere puts back the grant it touched.

`PaidOrders` is the db function's side (the `orders` collection's service): `create` makes the
order and its Alipay trade, `sync` asks Alipay about an order still CREATED.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .. import prefetch
from ..domain.catalog import Catalog, Product
from ..domain.identity import USER_ID
from ..domain.money import fen_of, yuan
from ..domain.orders import CLOSED, CREATED, OrderState, Progress, TradeState, compare
from ..domain.records import Buyer, Row
from ..domain.schema import Collection, Item, StoredItemInvalid
from ..errors import Conflict, InvalidRequest, NotFound, SessionExpired
from ..ports import Clock, CollectionRows, Grants, OrderIndex, TradeGateway
from .collection import CollectionService

log = logging.getLogger("miniapp.orders")

ORDERS = "orders"  # the collection that holds orders (collections/orders.py)
_ATTEMPTS = 4


class Mismatch(Exception):
    """What Alipay says does not fit our order (another amount or trade, or a state that
    contradicts ours): nothing is applied. `reason` names it without any personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Applied:
    """The order after `apply`, and how what Alipay said stood to it before."""

    order: Item
    progress: Progress


class OrderBook:
    def __init__(
        self,
        declaration: Collection,
        catalog: Catalog,
        rows: CollectionRows,
        grants: Grants,
        clock: Clock,
    ) -> None:
        self.declaration = declaration
        self.catalog = catalog
        self._rows = rows
        self._grants = grants
        self._clock = clock

    def get(self, user_id: str, order_id: str) -> Item:
        row = self._rows.get(user_id, ORDERS, order_id)
        if row is None:
            raise NotFound("no such order")
        try:
            return self.declaration.item_from_columns(order_id, row.columns)
        except StoredItemInvalid as exc:
            raise Mismatch(f"stored order breaks the declaration ({exc})") from None

    def apply(self, user_id: str, order_id: str, seen: TradeState) -> Applied:
        """Move the order to what `seen` says, if that is ahead of it. Mismatch when `seen` is
        not about this order (amount, trade number) or contradicts it; NotFound when there is
        no such order."""
        touched: bool | None = None  # the grant state this call wrote, if any
        for _ in range(_ATTEMPTS):
            order = self.get(user_id, order_id)
            current = state_of(order)
            if fen_of(order.values["amount"]) != seen.total_fen:
                raise Mismatch("the amount is not the order's")
            if order.values.get("tradeNo") not in (None, seen.trade_no):
                raise Mismatch("the trade is not the order's")
            target = seen.order_state()
            progress = compare(current, target)
            if progress == "contradicts":
                raise Mismatch(f"Alipay says {target.status}, the order is {current.status}")
            if progress != "ahead":
                if touched is not None and touched != current.grants:
                    self._set_grant(user_id, order, current.grants)  # we lost: put it back
                return Applied(order, progress)
            if target.grants != current.grants:
                self._set_grant(user_id, order, target.grants)
                touched = target.grants
            values = {
                **order.values,
                "status": target.status,
                "refunded": yuan(target.refunded_fen),
            }
            if seen.paid and "paidAt" not in order.values:
                values["paidAt"] = self._clock.now_ms()
            updated = replace(
                order,
                values=values,
                updated_at=max(self._clock.now_ms(), order.updated_at),
                version=order.version + 1,
            )
            try:
                self._rows.replace_if_version(
                    Row(user_id, order_id, updated.to_columns()), ORDERS, order.version
                )
            except Conflict:
                continue  # another notify, sync or run changed it: read it again
            log.info("order %s: %s -> %s", order_id, current.status, target.status)
            return Applied(updated, "ahead")
        raise Conflict("the order kept changing while it was updated; retry")

    def _set_grant(self, user_id: str, order: Item, on: bool) -> None:
        product = self.catalog.get(str(order.values["sku"]))
        if product is None:
            log.warning("order %s: its sku is no longer in the catalog: no grant", order.id)
            return
        grant = product.grant
        if on:
            self._grants.grant(user_id, grant.collection, order.id, grant.items)
        else:
            self._grants.revoke(user_id, grant.collection, order.id)


def state_of(order: Item) -> OrderState:
    return OrderState(str(order.values["status"]), fen_of(order.values.get("refunded", "0")) or 0)


class PaidOrders(CollectionService):
    """The `orders` collection as the db function serves it: get and list as any collection,
    and the two ops a client may call (the server writes every order)."""

    def __init__(
        self,
        declaration: Collection,
        *,
        book: OrderBook,
        trades: Callable[[], TradeGateway],
        index: OrderIndex,
        notify_url: str,
        pay_minutes: int,
        **collection: Any,
    ) -> None:
        """`trades` builds the Alipay client on first use, so an instance that only serves
        todos never imports the Alipay SDK nor reads the app's private key."""
        super().__init__(declaration, **collection)
        self._book = book
        self._trades = trades
        self._index = index
        self._notify_url = notify_url
        self._pay_minutes = pay_minutes

    def create(self, user_id: str, sku: str, idempotency_key: str) -> Item:
        """A new order for `sku` at the catalog's price, with its Alipay trade. A retry with the
        same key answers the same order; the key with another sku is Conflict. Alipay failing
        leaves no order (the quota's slot goes back; the reconciler closes any trade it made)."""
        product = self._product(sku)
        buyer = _buyer(user_id)

        def open_trade(order_id: str) -> dict[str, str]:
            self._index.add(order_id, user_id)  # first: the reconciler finds a trade made below
            trade_no = self._trades().create(
                order_id,
                product.amount_fen,
                product.subject,
                buyer,
                self._notify_url,
                self._pay_minutes,
            )
            return {"tradeNo": trade_no}

        values = {
            "sku": product.sku,
            "subject": product.subject,
            "amount": product.amount,
            "status": CREATED,
            "refunded": "0.00",
        }
        order = self.add(user_id, values, idempotency_key, complete=open_trade)
        if order.values["sku"] != product.sku:
            raise Conflict("this idempotencyKey already created an order for another sku")
        return order

    def sync(self, user_id: str, order_id: str) -> Item:
        """The order as it stands after asking Alipay, for a client that saw my.tradePay answer
        8000 or 6004, or whose notify is late. Only a CREATED order is asked about."""
        order = self.get(user_id, order_id)
        if order.values["status"] != CREATED:
            return order
        seen = self._trades().query(order_id)
        if seen is None:
            return order
        try:
            return self._book.apply(user_id, order_id, seen).order
        except Mismatch as exc:
            log.error("order %s: sync refused what Alipay said: %s", order_id, exc.reason)
            return self.get(user_id, order_id)

    def _product(self, sku: str) -> Product:
        product = self._book.catalog.get(sku)
        if product is None:
            raise InvalidRequest(f"'sku' must be one of {', '.join(self._book.catalog.skus)}")
        return product


def _buyer(user_id: str) -> Buyer:
    """The caller as Alipay knows them to this app, from their session (never from the event).
    A session from before payments has no such record: a user keyed by their Alipay user_id is
    that buyer; anyone else signs in again."""
    record = prefetch.caller()
    if record is not None and record.user_id == user_id:
        if record.alipay_open_id:
            return Buyer(open_id=record.alipay_open_id)
        if record.alipay_user_id:
            return Buyer(user_id=record.alipay_user_id)
    if USER_ID.fullmatch(user_id):
        return Buyer(user_id=user_id)
    raise SessionExpired("this session predates payments; sign in again to pay")


__all__ = ["CLOSED", "ORDERS", "Applied", "Mismatch", "OrderBook", "PaidOrders", "state_of"]

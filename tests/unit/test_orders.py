"""Orders on fakes: the catalog's rules, amounts read exactly, the order's forward-only moves, and
the db function's `create` and `sync` with their grant (miniapp.testing.World)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from miniapp.domain.catalog import Catalog, Grant, Product
from miniapp.domain.money import fen_of, yuan
from miniapp.domain.orders import (
    CLOSED,
    CREATED,
    PAID,
    PARTIALLY_REFUNDED,
    REFUNDED,
    TRADE_CLOSED,
    TRADE_SUCCESS,
    WAIT_BUYER_PAY,
    OrderState,
    TradeState,
    compare,
)
from miniapp.domain.schema import DeclarationError
from miniapp.errors import UpstreamUnavailable
from miniapp.testing import ALICE, World


def test_amounts_are_read_exactly_and_written_as_alipay_writes_them():
    assert [fen_of(t) for t in ("9.9", "9.90", "10", "0.01", "0.1")] == [990, 990, 1000, 1, 10]
    assert [fen_of(t) for t in ("9.999", "-1", "1e3", " 1", 9.9, "01")] == [None] * 6
    assert [yuan(f) for f in (990, 1, 100, 0)] == ["9.90", "0.01", "1.00", "0.00"]


def test_a_broken_catalog_names_every_problem():
    with pytest.raises(DeclarationError) as broken:
        Catalog(
            (
                Product("Pro", "", 0, Grant("todos", 0)),
                Product("pro", "ok", 990, Grant("todos", 1)),
                # A float price on purpose: the catalog must refuse it at run time too.
                Product("pro", "ok", 9.9, Grant("No", 1)),  # type: ignore[arg-type]
            )
        )
    rules = str(broken.value)
    for fragment in ("sku must match", "subject", "between 1 and", "declared twice", "names no"):
        assert fragment in rules


def trade(status: str, paid: bool, refunded: int = 0) -> TradeState:
    return TradeState("2026", "o1", 990, status, paid, refunded)


@pytest.mark.parametrize(
    ("current", "seen", "progress"),
    [
        (OrderState(CREATED), trade(TRADE_SUCCESS, True), "ahead"),
        (OrderState(PAID), trade(TRADE_SUCCESS, True), "same"),
        (OrderState(REFUNDED, 990), trade(TRADE_SUCCESS, True), "behind"),
        (OrderState(PAID), trade(TRADE_SUCCESS, True, 100), "ahead"),
        (OrderState(PARTIALLY_REFUNDED, 500), trade(TRADE_SUCCESS, True, 100), "behind"),
        (OrderState(CREATED), trade(TRADE_CLOSED, True, 990), "ahead"),
        (OrderState(CREATED), trade(TRADE_CLOSED, False), "ahead"),
        (OrderState(CLOSED), trade(WAIT_BUYER_PAY, False), "behind"),
        (OrderState(CLOSED), trade(TRADE_SUCCESS, True), "contradicts"),
        (OrderState(PAID), trade(TRADE_CLOSED, False), "contradicts"),
    ],
)
def test_an_order_only_moves_forward(current, seen, progress):
    assert compare(current, seen.order_state()) == progress


def test_a_full_refund_seen_first_is_refunded_and_grants_nothing():
    assert trade(TRADE_CLOSED, True, 990).order_state() == OrderState(REFUNDED, 990)
    assert not OrderState(REFUNDED, 990).grants and OrderState(PARTIALLY_REFUNDED, 1).grants


def test_a_paid_order_grants_its_quota_once_through_sync():
    world = World(item_quota=1)
    sid = world.login()
    order = world.ok(world.v2(sid, "create", collection="orders", sku="pro", idempotencyKey="a"))
    world.trades.pay(order["id"])
    for _ in range(3):
        assert world.ok(world.v2(sid, "sync", collection="orders", id=order["id"]))["version"] == 2
    assert world.ok(world.v2(sid, "quota")) == {"quota": 1001, "used": 0, "granted": 1000}
    world.ok(world.v2(sid, "add", text="one"))
    world.ok(world.v2(sid, "add", text="two"))  # over the base quota of 1: granted


def test_the_quota_refusal_says_the_quota():
    world = World(item_quota=1)
    sid = world.login()
    world.ok(world.v2(sid, "add", text="one"))
    refused = world.v2(sid, "add", text="two")["error"]
    assert refused["code"] == "QuotaExceeded" and "at most 1 in 'todos'" in refused["message"]


def test_alipay_failing_leaves_no_order_and_gives_the_slot_back():
    world = World()
    sid = world.login()
    world.trades.fail_next("create", UpstreamUnavailable("down"))
    answer = world.v2(sid, "create", collection="orders", sku="pro", idempotencyKey="k")
    assert answer["error"]["code"] == "UpstreamUnavailable"
    assert world.rows.of("2088000000000001", "orders") == {}
    assert world.tallies.counted("2088000000000001", "orders") == 0
    retried = world.ok(world.v2(sid, "create", collection="orders", sku="pro", idempotencyKey="k"))
    assert world.tallies.counted("2088000000000001", "orders") == 1
    assert world.trades.created == [retried["id"]]  # the same out_trade_no both times


def test_an_open_id_user_pays_as_their_open_id():
    world = World()
    sid = world.login("", open_id="0openid")
    order = world.ok(world.v2(sid, "create", collection="orders", sku="pro", idempotencyKey="k"))
    assert world.trades.trades[order["id"]]["buyer"].open_id == "0openid"


def test_a_session_from_before_payments_signs_in_again_to_pay_unless_keyed_by_user_id():
    world = World()
    opened, keyed = world.login("", open_id="0openid"), world.login(ALICE)
    for key, record in list(world.sessions.rows.items()):  # rows as written before payments
        world.sessions.rows[key] = replace(record, alipay_user_id="", alipay_open_id="")
    answer = world.v2(opened, "create", collection="orders", sku="pro", idempotencyKey="k")
    assert answer["error"]["code"] == "SessionExpired"
    order = world.ok(world.v2(keyed, "create", collection="orders", sku="pro", idempotencyKey="k"))
    assert world.trades.trades[order["id"]]["buyer"].user_id == ALICE


def test_an_overdue_order_whose_trade_alipay_no_longer_has_is_closed_by_the_reconciler():
    """An order with a trade number whose trade Alipay answers it does not have: the reconciler
    closes the order under its own trade number, once, instead of failing on every run."""
    from miniapp.catalog import CATALOG
    from miniapp.collections import declared
    from miniapp.services.orders import ORDERS, OrderBook
    from miniapp.services.reconcile import Reconciler

    world = World()
    sid = world.login(ALICE)
    order = world.ok(world.v2(sid, "create", collection="orders", sku="pro", idempotencyKey="a"))
    assert order["tradeNo"]
    del world.trades.trades[order["id"]]  # Alipay answers TRADE_NOT_EXIST from now on
    orders = next(c for c in declared() if c.name == ORDERS)
    book = OrderBook(orders, CATALOG, world.rows, world.tallies, world.clock)
    reconciler = Reconciler(world.order_index, book, world.trades, world.clock, pay_minutes=15)
    world.clock.advance(16 * 60)
    assert reconciler.run()["closed"] == 1
    closed = world.ok(world.v2(world.login(ALICE), "get", collection="orders", id=order["id"]))
    assert (closed["status"], closed["tradeNo"]) == ("CLOSED", order["tradeNo"])
    assert reconciler.run() == {"settled": 0, "paid": 0, "closed": 0, "waiting": 0, "failed": 0}

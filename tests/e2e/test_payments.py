"""Orders end to end on a local cloud of this module's own, through the real SDKs: the db
function opens an order and its Alipay trade (`orders.create`), the buyer pays in the sandbox
cashier, and `orders.sync` completes the order from alipay.trade.query; the paid order grants
its product's extra todo quota once, visible in the todo app's `quota`. Bad input is refused with
a typed error and creates nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.faults import Fault
from tests.conftest import running_local_cloud, warm_up
from tests.e2e.paykit import Buyer, grants, order_row


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_local_cloud(tmp_path_factory.mktemp("payments")) as running:
        warm_up(running.cloud_config())
        yield running


def test_an_order_is_created_with_its_trade_at_the_catalog_price(cloud):
    buyer = Buyer(cloud)
    order = buyer.create()
    assert (order["sku"], order["amount"], order["status"]) == ("pro", "9.90", "CREATED")
    assert len(order["tradeNo"]) == 28 and order["tradeNo"].isdigit()
    listed = buyer.orders("list")["data"]["items"]
    assert [o["id"] for o in listed] == [order["id"]]
    assert buyer.orders("get", id=order["id"])["data"] == order


def test_paying_then_sync_makes_it_paid_and_grants_once(cloud):
    buyer = Buyer(cloud)
    before = buyer.quota()
    order = buyer.create()
    assert buyer.pay(order["tradeNo"], "unknown") == {"resultCode": "6004", "memo": "支付结果未知"}
    synced = buyer.orders("sync", id=order["id"])["data"]
    assert synced["status"] == "PAID" and synced["version"] == 2 and synced["paidAt"] > 0
    assert buyer.orders("sync", id=order["id"])["data"] == synced  # applied once
    assert grants(cloud, buyer.app.user_id) == {order["id"]: 1000}
    after = buyer.quota()
    assert after["quota"] == before["quota"] + 1000 and after["granted"] == 1000


def test_a_retried_create_answers_the_same_order(cloud):
    buyer = Buyer(cloud)
    first = buyer.create(key="retry-1")
    assert buyer.create(key="retry-1") == first
    assert len(buyer.orders("list")["data"]["items"]) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sku": "max", "idempotencyKey": "k1"}, "'sku' must be one of pro"),
        ({"sku": "pro", "idempotencyKey": "k1", "amount": "0.01"}, "unknown field 'amount'"),
        ({"sku": "pro"}, "'idempotencyKey' is required"),
        ({"sku": "pro", "idempotencyKey": "no spaces"}, "'idempotencyKey' must be"),
    ],
)
def test_bad_creates_are_refused_and_create_nothing(cloud, fields, message):
    buyer = Buyer(cloud)
    answer = buyer.orders("create", **fields)
    assert answer["error"]["code"] == "InvalidRequest" and message in answer["error"]["message"]
    assert buyer.orders("list")["data"]["items"] == []


def test_clients_cannot_write_orders(cloud):
    buyer = Buyer(cloud)
    order = buyer.create()
    for op, fields in (
        ("add", {"sku": "pro"}),
        ("update", {"id": order["id"], "status": "PAID"}),
        ("remove", {"id": order["id"]}),
    ):
        answer = buyer.orders(op, **fields)
        assert answer["error"]["code"] == "InvalidRequest", op
    assert buyer.orders("get", id=order["id"])["data"]["status"] == "CREATED"


def test_another_users_order_is_not_found(cloud):
    alice, bob = Buyer(cloud), Buyer(cloud)
    order = alice.create()
    for op in ("get", "sync"):
        assert bob.orders(op, id=order["id"])["error"]["code"] == "NotFound"


def test_alipay_down_during_create_is_upstream_unavailable_and_leaves_no_order(cloud):
    buyer = Buyer(cloud)
    cloud.faults.set(Fault("alipay", "down", api="alipay.trade.create"))
    try:
        answer = buyer.orders("create", sku="pro", idempotencyKey="down-1")
    finally:
        cloud.faults.clear()
    assert answer["error"]["code"] == "UpstreamUnavailable"
    assert buyer.orders("list")["data"]["items"] == []
    order = buyer.create(key="down-1")  # the client's retry, with the same key
    assert order["status"] == "CREATED" and order_row(cloud, buyer.app.user_id, order["id"])
    assert len(buyer.orders("list")["data"]["items"]) == 1


def test_a_cancelled_payment_leaves_the_order_created(cloud):
    buyer = Buyer(cloud)
    order = buyer.create()
    assert buyer.pay(order["tradeNo"], "cancel")["resultCode"] == "6001"
    assert buyer.orders("sync", id=order["id"])["data"]["status"] == "CREATED"
    assert grants(cloud, buyer.app.user_id) == {}

"""Orders end to end on a local cloud of this module's own, through the real SDKs: the db
function opens an order and its Alipay trade (`orders.create`), the buyer pays in the sandbox
cashier, and `orders.sync` completes the order from alipay.trade.query; the paid order grants
its product's extra todo quota once, visible in the todo app's `quota`. Bad input is refused with
a typed error and creates nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.faults import Fault
from tests.conftest import SHARED_CLOUD_PARAMETERS, parameters_set, running_local_cloud, warm_up
from tests.e2e.paykit import (
    Buyer,
    delivered_forms,
    grants,
    order_row,
    orders_script,
    payment_records,
    post_notify,
)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # The shared cloud's lifted login limits: every buyer logs in from 127.0.0.1, more than 30
    # a minute over the module.
    with running_local_cloud(
        tmp_path_factory.mktemp("payments"), SHARED_CLOUD_PARAMETERS
    ) as running:
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


def paid_by_notify(cloud: Any, buyer: Buyer, order: dict[str, Any]) -> dict[str, Any]:
    """The order once the notify of its payment was delivered (the scheduler's thread sends it
    at once; a bound on waiting, not a timing assertion)."""
    for _ in range(100):
        notifies = cloud.alipay.notifies.all(order["tradeNo"])
        if notifies and all(n.state != "pending" or n.attempts for n in notifies):
            if notifies[-1].state == "delivered":
                break
        time.sleep(0.1)
    return dict(buyer.orders("get", id=order["id"])["data"])


def test_the_notify_makes_the_order_paid_and_grants_once(cloud):
    buyer = Buyer(cloud)
    order = buyer.create()
    assert buyer.pay(order["tradeNo"])["resultCode"] == "9000"
    paid = paid_by_notify(cloud, buyer, order)
    assert paid["status"] == "PAID" and paid["version"] == 2
    assert grants(cloud, buyer.app.user_id) == {order["id"]: 1000}
    (notify,) = cloud.alipay.notifies.all(order["tradeNo"])
    assert (notify.state, notify.attempts) == ("delivered", 1)  # answered success at once


def wait_for(predicate: Any, what: str) -> None:
    """A bound on waiting for the scheduler's thread, not a timing assertion."""
    for _ in range(150):
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"never: {what}")


def test_a_duplicated_notify_is_applied_once(cloud):
    buyer = Buyer(cloud)
    order = buyer.create()
    cloud.faults.set(Fault("alipay", "notify_duplicated", api="notify"))
    try:
        buyer.pay(order["tradeNo"])
        paid = paid_by_notify(cloud, buyer, order)
    finally:
        cloud.faults.clear()
    assert (paid["status"], paid["version"]) == ("PAID", 2)
    assert grants(cloud, buyer.app.user_id) == {order["id"]: 1000}


def test_a_forged_notify_is_refused_and_logged_and_the_real_one_applied(cloud):
    since = int(cloud.clock.now()) - 1
    buyer = Buyer(cloud)
    order = buyer.create()
    cloud.faults.set(Fault("alipay", "notify_forged", api="notify"))
    try:
        buyer.pay(order["tradeNo"])
        paid = paid_by_notify(cloud, buyer, order)
    finally:
        cloud.faults.clear()
    assert (paid["status"], paid["version"]) == ("PAID", 2)
    wait_for(
        lambda: any(
            r["outcome"] == "refused" and r["orderId"] == order["id"]
            for r in payment_records(cloud, since)
        ),
        "the forged notify's refusal in the log",
    )
    refused = [
        r
        for r in payment_records(cloud, since)
        if r["orderId"] == order["id"] and r["outcome"] == "refused"
    ]
    assert refused[0]["reason"].startswith("the signature does not verify")
    assert buyer.app.user_id not in json.dumps(refused)  # nothing personal beyond order ids


def attempted(cloud: Any, order: dict[str, Any]) -> bool:
    return any(n.attempts for n in cloud.alipay.notifies.all(order["tradeNo"]))


def crafted(cloud: Any, order: dict[str, Any], **changes: str) -> dict[str, str]:
    """A notify of the order's payment as the gateway made it, with `changes`."""
    fields = delivered_forms(cloud, order["tradeNo"])[0]
    fields.update(notify_time="2026-01-01 00:00:00", **changes)
    return fields


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"app_id": "9000000000000001"}, "app_id is another app's"),
        ({"seller_id": "2088000000000009"}, "seller_id is another merchant's"),
        ({"total_amount": "0.01"}, "the amount is not the order's"),
        ({"trade_no": "2026010122000000000000000001"}, "the trade is not the order's"),
        ({"out_trade_no": "01JZZZZZZZZZZZZZZZZZZZZZZZ"}, "not an order of ours"),
    ],
)
def test_a_mis_addressed_or_mis_priced_notify_changes_nothing(cloud, changes, reason):
    since = int(cloud.clock.now()) - 1
    buyer = Buyer(cloud)
    order = buyer.create()
    cloud.faults.set(Fault("alipay", "notify_lost", api="notify"))
    try:
        buyer.pay(order["tradeNo"], "processing")
        wait_for(lambda: attempted(cloud, order), "the notify's first (lost) attempt")
    finally:
        cloud.faults.clear()
    assert post_notify(cloud, crafted(cloud, order, **changes)) == "fail"
    assert buyer.orders("get", id=order["id"])["data"]["status"] == "CREATED"
    assert grants(cloud, buyer.app.user_id) == {}
    wait_for(
        lambda: any(reason in r.get("reason", "") for r in payment_records(cloud, since)),
        f"a refusal for {reason}",
    )


def test_a_replayed_notify_after_a_refund_is_refused_and_changes_nothing(cloud):
    buyer = Buyer(cloud)
    order = buyer.create()
    buyer.pay(order["tradeNo"])
    paid_by_notify(cloud, buyer, order)
    captured = crafted(cloud, order)
    assert post_notify(cloud, captured) == "success"  # the same again: a duplicate, acknowledged
    refunded = orders_script(cloud, "refund", order["id"], "--request-no", "r-replay")
    assert refunded["status"] == "REFUNDED"
    assert post_notify(cloud, captured) == "fail"  # replayed after the order moved on
    after = buyer.orders("get", id=order["id"])["data"]
    assert (after["status"], after["version"]) == ("REFUNDED", refunded["version"])
    assert grants(cloud, buyer.app.user_id) == {}


def reconcile(cloud: Any) -> None:
    """Move the clock over two firings of the reconciler's 5-minute timer: the second's
    triggerTime is at least 5 minutes after any order made before (it runs in this thread)."""
    cloud.clock.advance(301)
    cloud.clock.advance(301)


def test_a_lost_notify_is_completed_by_the_reconciler(cloud):
    buyer = Buyer(cloud)
    order = buyer.create()
    cloud.faults.set(Fault("alipay", "notify_lost", api="notify"))
    try:
        assert buyer.pay(order["tradeNo"])["resultCode"] == "9000"
        wait_for(lambda: attempted(cloud, order), "the notify's first (lost) attempt")
        reconcile(cloud)
    finally:
        cloud.faults.clear()
    stored = order_row(cloud, buyer.app.user_id, order["id"])
    assert stored is not None and (stored["status"], stored["version"]) == ("PAID", 2)
    assert grants(cloud, buyer.app.user_id) == {order["id"]: 1000}


def test_a_lost_notify_is_completed_by_sync(cloud):
    buyer = Buyer(cloud)
    order = buyer.create()
    cloud.faults.set(Fault("alipay", "notify_lost", api="notify"))
    try:
        assert buyer.pay(order["tradeNo"], "processing")["resultCode"] == "8000"
        wait_for(lambda: attempted(cloud, order), "the notify's first (lost) attempt")
        synced = buyer.orders("sync", id=order["id"])["data"]
    finally:
        cloud.faults.clear()
    assert (synced["status"], synced["version"]) == ("PAID", 2)
    assert grants(cloud, buyer.app.user_id) == {order["id"]: 1000}


def test_a_cancelled_order_is_closed_by_the_reconciler_once_its_time_to_pay_is_over(cloud):
    buyer = Buyer(cloud)
    order = buyer.create()
    assert buyer.pay(order["tradeNo"], "cancel")["resultCode"] == "6001"
    assert buyer.orders("sync", id=order["id"])["data"]["status"] == "CREATED"
    cloud.clock.advance(15 * 60)  # past the 15 minutes to pay
    reconcile(cloud)
    stored = order_row(cloud, buyer.app.user_id, order["id"])
    assert stored is not None and stored["status"] == "CLOSED"
    buyer.relogin()  # the clock moved past the STS credentials' 15 minutes
    assert buyer.orders("sync", id=order["id"])["data"]["status"] == "CLOSED"
    assert grants(cloud, buyer.app.user_id) == {}


def test_refunds_in_part_then_in_full_through_the_operator_script(cloud):
    buyer = Buyer(cloud)
    order = buyer.create()
    buyer.pay(order["tradeNo"])
    paid_by_notify(cloud, buyer, order)
    part = orders_script(cloud, "refund", order["id"], "--request-no", "r1", "--amount", "1.00")
    assert (part["status"], part["refunded"], part["fundChange"]) == (
        "PARTIALLY_REFUNDED",
        "1.00",
        True,
    )
    again = orders_script(cloud, "refund", order["id"], "--request-no", "r1", "--amount", "1.00")
    assert (again["refunded"], again["fundChange"], again["version"]) == ("1.00", False, 3)
    assert grants(cloud, buyer.app.user_id) == {order["id"]: 1000}  # a part refund keeps Pro
    rest = orders_script(cloud, "refund", order["id"], "--request-no", "r2")
    assert (rest["status"], rest["refunded"]) == ("REFUNDED", "9.90")
    assert grants(cloud, buyer.app.user_id) == {}
    listed = orders_script(cloud, "list", "--limit", "50")
    assert [o["status"] for o in listed if o["id"] == order["id"]] == ["REFUNDED"]


def test_the_operator_closes_an_unpaid_order(cloud):
    buyer = Buyer(cloud)
    order = buyer.create()
    closed = orders_script(cloud, "close", order["id"])
    assert closed["status"] == "CLOSED"
    assert buyer.pay(order["tradeNo"])["resultCode"] == "4000"  # the trade is closed too
    with pytest.raises(AssertionError, match="Conflict"):
        orders_script(cloud, "close", order["id"])


def test_in_certificate_mode_the_whole_flow_works(cloud):
    with parameters_set(cloud, {"AlipaySignMode": "cert"}):
        buyer = Buyer(cloud)
        order = buyer.create()
        buyer.pay(order["tradeNo"])
        paid = paid_by_notify(cloud, buyer, order)
        assert paid["status"] == "PAID"
        assert grants(cloud, buyer.app.user_id) == {order["id"]: 1000}
        refunded = orders_script(cloud, "refund", order["id"], "--request-no", "cert-1")
        assert refunded["status"] == "REFUNDED"
        # Alipay's public key certificate is read with cryptography's x509 here, and only here:
        # in key mode these two functions never load cryptography (tests/package/test_package.py).
        config = cloud.cloud_config()
        for service, function in (
            (config["serviceName"], config["dbFunctionName"]),
            (config["ordersServiceName"], config["ordersFunctionName"]),
        ):
            files, _ = cloud.fc.loaded_modules(service, function)
            assert [f for f in files if "/cryptography/x509/" in f], function


def test_for_an_open_id_app_the_buyer_pays_as_their_open_id(cloud):
    app_id = cloud.alipay_app_id
    cloud.alipay.apps.set_identity(app_id, "open_id")
    try:
        buyer = Buyer(cloud)
        order = buyer.create()
        assert buyer.pay(order["tradeNo"])["resultCode"] == "9000"
        paid = paid_by_notify(cloud, buyer, order)
        assert paid["status"] == "PAID"
        form = delivered_forms(cloud, order["tradeNo"])[0]
        assert "buyer_open_id" in form and "buyer_id" not in form
    finally:
        cloud.alipay.apps.set_identity(app_id, "user_id")


def test_the_bench_mix_reaches_all_four_functions_and_measures_each(cloud):
    """`make bench`'s payments and files mix (scripts/bench_mix.py) plays its round in both
    signing modes, and the memory sampler reads a peak for each function it sizes. Last in the
    module: the mix moves this cloud's clock over the reconciler's timer."""
    from scripts.bench_memory import PeakMemory
    from scripts.bench_mix import payments_and_files

    config, outputs = cloud.cloud_config(), cloud.template.outputs
    functions = {
        "session": (config["sessionServiceName"], config["sessionFunctionName"]),
        "db": (config["serviceName"], config["dbFunctionName"]),
        "notify": (str(outputs["NotifyServiceName"]), str(outputs["NotifyFunctionName"])),
        "orders": (config["ordersServiceName"], config["ordersFunctionName"]),
    }
    since = time.time()
    with PeakMemory(cloud, functions) as memory:
        payments_and_files(cloud, rounds=1)
    ran = {
        (i.function, i.collection, i.op)
        for i in cloud.fc.invocations.recent(limit=1000)
        if i.time >= since
    }
    assert {
        (config["dbFunctionName"], "orders", "create"),
        (config["dbFunctionName"], "files", "commit"),
        (config["ordersFunctionName"], "", "refund"),
        (config["ordersFunctionName"], "", "timer reconcile"),
    } <= ran
    assert str(outputs["NotifyFunctionName"]) in {function for function, _, _ in ran}
    assert all(peak > 10 for peak in memory.peaks_mb.values()), memory.peaks_mb

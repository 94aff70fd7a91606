"""The payments soak: buyers create orders, pay them with every my.tradePay outcome and sync them,
while notify and gateway faults switch on and off at random; then the clock moves past every
notify retry and reconciler run, and the invariants are checked against what Alipay's gateway
holds (its own books, read directly):

- every trade Alipay calls paid belongs to an order that says PAID, applied exactly once
  (version 2: CREATED, then PAID; paidAt set);
- every order that says PAID has a paid trade, and its grant; no grant without a paid order;
- every order whose trade was not paid ends CLOSED (the reconciler), none stays CREATED.

`make soak SOAK_PAYMENTS=1` runs it (scripts/soak.py); tests/e2e/test_pay_soak.py a short one."""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localcloud.faults import Fault

from .paykit import Buyer, grants, order_row

RESULTS = ("success", "success", "processing", "unknown", "fail", "cancel", "network_error")
FAULTS = (
    Fault("alipay", "notify_lost", api="notify"),
    Fault("alipay", "notify_duplicated", api="notify"),
    Fault("alipay", "notify_delayed", api="notify", seconds=30),
    Fault("alipay", "notify_out_of_order", api="notify"),
    Fault("alipay", "notify_forged", api="notify"),
    Fault("alipay", "down", api="alipay.trade.create", share=0.3),
    Fault("alipay", "lost_reply", api="alipay.trade.query", share=0.3),
)


@dataclass
class PaySoakResult:
    """What the run did and every invariant it found broken."""

    seed: int
    orders: int = 0
    payments: int = 0
    faults: int = 0
    violations: list[str] = field(default_factory=list)

    def table(self) -> str:
        return (
            f"payments soak seed {self.seed}: {self.orders} orders, {self.payments} payments, "
            f"{self.faults} faults switched, {len(self.violations)} violations"
        )


def run_pay_soak(
    cloud: Any, *, seconds: float, buyers: int, seed: int, log: Callable[[str], None] = print
) -> PaySoakResult:
    result = PaySoakResult(seed)
    master = random.Random(seed)
    people = [Buyer(cloud) for _ in range(buyers)]
    made: list[tuple[Buyer, str]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def shop(buyer: Buyer, rng: random.Random) -> None:
        while time.monotonic() < stop_at:
            key = secrets.token_hex(8)
            answer: Any = None
            for _ in range(3):  # the client's retries, with the same key
                answer = buyer.orders("create", sku="pro", idempotencyKey=key)
                if "data" in answer:
                    break
            if "data" not in answer:
                continue
            order = answer["data"]
            with lock:
                made.append((buyer, order["id"]))
                result.orders += 1
            outcome = buyer.pay(order["tradeNo"], rng.choice(RESULTS))
            if outcome["resultCode"] in ("9000", "8000", "6004"):
                with lock:
                    result.payments += 1
            if rng.random() < 0.5:
                buyer.orders("sync", id=order["id"])

    def switch(rng: random.Random) -> None:
        while time.monotonic() < stop_at:
            cloud.faults.clear()
            if rng.random() < 0.7:
                cloud.faults.set(rng.choice(FAULTS))
                result.faults += 1
            time.sleep(rng.uniform(0.3, 1.5))

    threads = [
        threading.Thread(target=shop, args=(b, random.Random(master.randrange(2**32))))
        for b in people
    ]
    threads.append(threading.Thread(target=switch, args=(random.Random(master.randrange(2**32)),)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cloud.faults.clear()
    log(f"{result.orders} orders made; faults off; moving the clock past retries and reconciler")
    for _ in range(12):  # 2 h in 10-minute steps: retries (4m, 10m, 10m, 1h) and the timer
        cloud.clock.advance(600)
    cloud.clock.advance(26 * 3600)  # past every retry, then two last reconciler runs
    cloud.clock.advance(301)
    cloud.clock.advance(301)
    _check(cloud, made, result)
    return result


def _check(cloud: Any, made: list[tuple[Buyer, str]], result: PaySoakResult) -> None:
    app = cloud.alipay.apps.get(cloud.alipay_app_id)
    by_user: dict[str, set[str]] = {}
    for buyer, order_id in made:
        user = buyer.app.user_id
        by_user.setdefault(user, set())
        row = order_row(cloud, user, order_id)
        trade = cloud.alipay.trades.find(app, {"out_trade_no": order_id})
        paid = trade.paid_at is not None
        status = row["status"] if row else None
        if paid:
            by_user[user].add(order_id)
            if status != "PAID" or row is None or row["version"] != 2 or not row.get("paidAt"):
                result.violations.append(f"order {order_id}: paid at Alipay, stored {row}")
        elif status != "CLOSED":
            result.violations.append(f"order {order_id}: unpaid at Alipay, stored {status}")
    for user, paid_orders in by_user.items():
        granted = set(grants(cloud, user))
        for order_id in granted - paid_orders:
            result.violations.append(f"user's grant {order_id} has no paid order")
        for order_id in paid_orders - granted:
            result.violations.append(f"paid order {order_id} has no grant")

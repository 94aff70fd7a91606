"""`make bench`'s memory mix beyond the soak: the paths the soak does not take, played on the
bench's local cloud so that each function's peak memory (scripts/bench_memory.py) covers them.

Each round is one buyer (tests/e2e/paykit.py plays them as tests/e2e/test_payments.py does):

- the db function's orders: `create` (python-alipay-sdk and cryptography, a signed
  alipay.trade.create), `get`, `list`, `sync` (alipay.trade.query);
- the notify function: the sandbox cashier pays, the gateway posts the payment's notify, and
  later the refunds' notifies;
- the db function's files: `prepareUpload` (STS AssumeRole), the upload as my.uploadFile posts
  it, `commit` (oss2), `list`, `url` and the signed GET, `remove`;
- the orders function, invoked as scripts/orders.py invokes it (the root key): `list`, a refund
  in part then in full, `close`; and its timer: an order whose notify was lost is completed by
  the reconciler from alipay.trade.query.

The rounds run in key mode, then once more in certificate mode (`AlipaySignMode` cert: the
functions load the certificates and pyOpenSSL). Anything but the expected answer stops the bench.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests

from localcloud.faults import Fault
from tests.e2e.paykit import Buyer

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64  # a 16 KiB JPEG's worth of bytes
WAIT_SECONDS = 15.0  # a bound on waiting for the gateway's notify thread, not a figure


def _wait(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench mix: never {what}")
        time.sleep(0.05)


def _data(answer: Any, what: str) -> Any:
    if not isinstance(answer, dict) or "data" not in answer:
        raise SystemExit(f"bench mix: {what} answered {answer}")
    return answer["data"]


def _operator(cloud: Any, event: dict[str, Any]) -> Any:
    """The orders function, as scripts/orders.py invokes it."""
    import fc2

    config = cloud.cloud_config()
    client = fc2.Client(
        endpoint=config["fcEndpoint"],
        accessKeyID=config["accessKeyId"],
        accessKeySecret=config["accessKeySecret"],
        Timeout=70,
    )
    resp = client.invoke_function(
        config["ordersServiceName"], config["ordersFunctionName"], payload=json.dumps(event)
    )
    return _data(json.loads(resp.data), f"orders {event['op']}")


def _files(buyer: Buyer) -> None:
    def files(op: str, **fields: Any) -> Any:
        return _data(buyer.todos(op, collection="files", **fields), f"files {op}")

    ticket = files("prepareUpload", name="照片.jpg", contentType="image/jpeg", size=len(PHOTO))
    posted = requests.post(
        ticket["url"],
        data=ticket["formData"],
        files={ticket["fileField"]: ("photo.jpg", PHOTO, "image/jpeg")},
        timeout=10,
    )
    if posted.status_code != 200:
        raise SystemExit(f"bench mix: the upload answered {posted.status_code}")
    item = files("commit", fileId=ticket["fileId"])
    files("list")
    if requests.get(files("url", id=item["id"])["url"], timeout=10).content != PHOTO:
        raise SystemExit("bench mix: the signed URL did not read the upload back")
    files("remove", id=item["id"])


def _round(cloud: Any) -> str:
    """One buyer's orders, payments, files and the operator's commands; the id of the order
    whose notify was lost (the reconciler completes it)."""
    buyer = Buyer(cloud)
    paid = buyer.create()
    buyer.pay(paid["tradeNo"])
    _wait(lambda: buyer.orders("get", id=paid["id"])["data"]["status"] == "PAID", "paid")
    _files(buyer)
    unpaid = buyer.create()
    buyer.pay(unpaid["tradeNo"], "cancel")
    _data(buyer.orders("sync", id=unpaid["id"]), "orders sync")
    lost = buyer.create()
    cloud.faults.set(Fault("alipay", "notify_lost", api="notify"))
    try:
        buyer.pay(lost["tradeNo"])
        _wait(
            lambda: any(n.attempts for n in cloud.alipay.notifies.all(lost["tradeNo"])),
            "the lost notify's attempt",
        )
    finally:
        cloud.faults.clear()
    _data(buyer.orders("list"), "orders list")
    _data(buyer.todos("quota"), "quota")
    _operator(cloud, {"op": "list", "limit": 50})
    part = _operator(cloud, {"op": "refund", "id": paid["id"], "requestNo": "p", "amount": "1.00"})
    full = _operator(cloud, {"op": "refund", "id": paid["id"], "requestNo": "f"})
    closed = _operator(cloud, {"op": "close", "id": unpaid["id"]})
    got = (part["status"], full["status"], closed["status"])
    if got != ("PARTIALLY_REFUNDED", "REFUNDED", "CLOSED"):
        raise SystemExit(f"bench mix: refund, refund, close answered {got}")
    return str(lost["id"])


def _reconcile(cloud: Any, lost: list[str]) -> None:
    """Two firings of the 5-minute timer (the clock moved past them, as the tests move it): the
    second finds the lost notifies' orders more than a minute old and completes them."""
    cloud.clock.advance(301)
    cloud.clock.advance(301)
    listed = {o["id"]: o["status"] for o in _operator(cloud, {"op": "list", "limit": 100})}
    if any(listed.get(order) != "PAID" for order in lost):
        raise SystemExit("bench mix: the reconciler left an order whose notify was lost unpaid")


def payments_and_files(cloud: Any, rounds: int) -> None:
    """`rounds` rounds in key mode and one in certificate mode, each mode then reconciled."""
    _reconcile(cloud, [_round(cloud) for _ in range(rounds)])
    cloud.set_parameters({"AlipaySignMode": "cert"})
    try:
        _reconcile(cloud, [_round(cloud)])
    finally:
        cloud.set_parameters({})

"""The payments flow as a mini program and its buyer play it on a local cloud of the test module's
own (the tests move its clock, which would move the shared cloud's for every later test): orders
through the db function (`aliyun-fc2`, STS credentials), the buyer's `my.tradePay` through the
sandbox cashier, the order's rows and the user's grants read back from Tablestore."""

from __future__ import annotations

import json
import secrets
import urllib.request
from typing import Any

from localcloud.miniprogram import MiniProgram, Session
from tests.e2e.support import ots_client as support_client

CASHIER_CODES = {
    "success": "9000",
    "processing": "8000",
    "unknown": "6004",
    "fail": "4000",
    "cancel": "6001",
    "network_error": "6002",
}


class Buyer:
    """One phone: a sandbox user logged in to the mini program, who buys and pays."""

    def __init__(self, cloud: Any, user_id: str | None = None) -> None:
        self.cloud = cloud
        self.app = MiniProgram(cloud.cloud_config(), user_id)
        self.session: Session = self.app.login()

    def relogin(self) -> None:
        """A new session (the clock moved past the STS credentials' 15 minutes)."""
        self.session = self.app.login()

    def orders(self, op: str, **fields: Any) -> Any:
        return self.app.db(self.session, op, v=2, collection="orders", **fields)

    def todos(self, op: str, **fields: Any) -> Any:
        return self.app.db(self.session, op, v=2, **fields)

    def create(self, sku: str = "pro", key: str | None = None) -> dict[str, Any]:
        answer = self.orders("create", sku=sku, idempotencyKey=key or secrets.token_hex(8))
        assert "data" in answer, answer
        return dict(answer["data"])

    def pay(self, trade_no: str, result: str = "success") -> dict[str, str]:
        """What my.tradePay resolves with, the sandbox cashier playing the buyer's Alipay app."""
        body = json.dumps({"tradeNo": trade_no, "user_id": self.app.user_id, "result": result})
        request = urllib.request.Request(
            self.cloud.cloud_config()["alipaySandbox"] + "/pay",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(json.loads(response.read()))

    def quota(self) -> dict[str, int]:
        answer = self.todos("quota")
        assert "data" in answer, answer
        return dict(answer["data"])


def order_row(cloud: Any, user_id: str, order_id: str) -> dict[str, Any] | None:
    """The order as stored, read with the root key."""
    _, row, _ = support_client(cloud).get_row(
        "user_data", [("uid", user_id), ("id", f"orders#{order_id}")], max_version=1
    )
    return None if row is None else {c[0]: c[1] for c in row.attribute_columns}


def grants(cloud: Any, user_id: str) -> dict[str, int]:
    """The grants on the user's todos tally: order id -> items."""
    _, row, _ = support_client(cloud).get_row(
        "user_data", [("uid", user_id), ("id", "todos!")], max_version=1
    )
    columns = {} if row is None else {c[0]: c[1] for c in row.attribute_columns}
    return {k[1:]: v for k, v in columns.items() if k.startswith("g")}


def post_notify(cloud: Any, fields: dict[str, str], *, key: Any = None) -> str:
    """POST a notify to the notify function as Alipay would: signed with the gateway's Alipay
    key (or `key`), form-encoded in UTF-8; the function's answer."""
    from urllib.parse import urlencode

    from localcloud.alipay.keys import load_private_key
    from localcloud.alipay.notify import signed_form

    signer = key or load_private_key(cloud.alipay.keys.alipay_private_key_file)
    form = signed_form(fields, signer)
    request = urllib.request.Request(
        cloud.cloud_config()["notifyUrl"],
        data=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return str(response.read().decode())


def delivered_forms(cloud: Any, trade_no: str) -> list[dict[str, str]]:
    """The fields of the notifies the gateway made for a trade (unsigned, as queued)."""
    return [dict(n.fields) for n in cloud.alipay.notifies.all(trade_no)]


def payment_records(cloud: Any, since: int) -> list[dict[str, Any]]:
    """The notify function's records (kind payment) in the logstore since `since` (the cloud's
    clock, which stamps them)."""
    from localcloud.logclient import log_client

    config = cloud.cloud_config()
    client = log_client(config["slsEndpoint"], config["accessKeyId"], config["accessKeySecret"])
    found: list[dict[str, Any]] = []
    offset = 0
    while True:
        resp = client.get_log(
            config["slsProject"],
            "function-logs",
            since,
            int(cloud.clock.now()) + 600,
            query="message.kind: payment",
            offset=offset,
            size=100,
        )
        page = [log.get_contents() for log in resp.get_logs()]
        for log in page:
            try:
                record = json.loads(log.get("message", ""))
            except ValueError:
                continue
            if isinstance(record, dict):
                found.append(record)
        if len(page) < 100:
            return found
        offset += 100


def orders_script(cloud: Any, *args: str) -> Any:
    """scripts/orders.py against this cloud (its cloud.json, the root key): the JSON it printed
    (a list for `list`), or AssertionError with what it said."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "orders.py"),
            "--cloud",
            str(cloud.cloud_file),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise AssertionError(done.stdout + done.stderr)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return lines if args[0] == "list" else lines[0]

"""The payment routes of a whole local cloud: the gateway's trade methods at `alipayGateway`, the
cashier at `alipaySandbox/pay` behind the sandbox's guard, notifies sent by the cloud's scheduler
at once and retried when the admin clock is advanced, and the admin list of notifies. The cloud is
this module's own: moving the clock of the shared one would move it for every later test."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from alipay import AliPay
from alipay_kit import Receiver, new_user, receiver

from localcloud.alipay.notify import RETRY_AFTER
from tests.conftest import running_local_cloud


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return dict(json.loads(response.read()))


@pytest.fixture(scope="module")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_local_cloud(tmp_path_factory.mktemp("payments-cloud")) as cloud:
        yield cloud


@pytest.fixture
def merchant() -> Any:
    with receiver() as running:
        yield running


def client(cloud: Any) -> AliPay:
    keys = cloud.alipay.keys
    sdk = AliPay(
        cloud.alipay_app_id,
        None,
        app_private_key_string=keys.app_private_key_file.read_text(),
        alipay_public_key_string=keys.alipay_public_key_file.read_text(),
        sign_type="RSA2",
    )
    sdk._gateway = cloud.cloud_config()["alipayGateway"]
    return sdk


def test_a_payment_in_the_cloud_notifies_at_once_and_retries_on_the_admin_clock(
    local_cloud: Any, merchant: Receiver
) -> None:
    config, user = local_cloud.cloud_config(), new_user()
    sdk = client(local_cloud)
    merchant.answers = [b"fail"]
    trade = sdk.api_alipay_trade_create(
        subject="Pro",
        out_trade_no="T" + secrets.token_hex(8),
        total_amount="9.90",
        notify_url=merchant.url,
        buyer_id=user,
        product_code="JSAPI_PAY",
    )
    paid = post(
        config["alipaySandbox"] + "/pay",
        {"tradeNo": trade["trade_no"], "user_id": user, "result": "success"},
    )
    assert paid["resultCode"] == "9000"
    assert len(merchant.wait_for(1)) == 1  # the scheduler's thread sent it, the clock unmoved
    post(config["fcEndpoint"] + "/_localcloud/clock", {"advance": RETRY_AFTER[0]})
    assert len(merchant.forms) == 2  # sent before the admin call answered
    data = dict(merchant.forms[1])
    assert sdk.verify(data, data.pop("sign"))
    listed = get(f"{config['fcEndpoint']}/_localcloud/alipay/notifies?tradeNo={trade['trade_no']}")
    assert [(n["state"], n["attempts"], n["tradeStatus"]) for n in listed["notifies"]] == [
        ("delivered", 2, "TRADE_SUCCESS")
    ]


def test_a_template_parameter_alipay_seller_id_is_the_seller_of_the_notifies(
    local_cloud: Any,
) -> None:
    app = local_cloud.alipay.apps.get(local_cloud.alipay_app_id).to_dict()
    assert local_cloud._alipay_parameters("key")["AlipaySellerId"] == app["sellerId"]
    assert app["sellerId"].startswith("2088") and len(app["sellerId"]) == 16


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/json", "Origin": "http://elsewhere.example"},
        {"Content-Type": "application/json", "Host": "elsewhere.example"},
    ],
)
def test_the_cashier_sits_behind_the_guard(local_cloud: Any, headers: dict[str, str]) -> None:
    config, user = local_cloud.cloud_config(), new_user()
    trade = client(local_cloud).api_alipay_trade_create(
        subject="Pro", out_trade_no="T" + secrets.token_hex(8), total_amount="1.00", buyer_id=user
    )
    body = json.dumps({"tradeNo": trade["trade_no"], "user_id": user, "result": "success"})
    request = urllib.request.Request(
        config["alipaySandbox"] + "/pay", data=body.encode(), headers=headers
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    state = client(local_cloud).api_alipay_trade_query(trade_no=trade["trade_no"])
    assert state["trade_status"] == "WAIT_BUYER_PAY"

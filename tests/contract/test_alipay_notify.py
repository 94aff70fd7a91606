"""Contract tests of the local Alipay gateway's asynchronous notifies: what a merchant's
notify_url receives (verified with python-alipay-sdk's `verify`, in key and certificate mode),
retries on Alipay's schedule on the local clock until the receiver answers `success`, and each
notify fault."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from alipay_trade_kit import Gateway, Receiver, gateway_for, new_user, out_no, receiver

from localcloud.alipay.notify import ATTEMPTS, RETRY_AFTER
from localcloud.faults import Fault

logging.getLogger("python-alipay-sdk").setLevel(logging.CRITICAL)


@pytest.fixture(
    scope="module",
    params=[("key", "user_id"), ("cert", "user_id"), ("key", "open_id")],
    ids=lambda p: "-".join(p),
)
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    with gateway_for(request, tmp_path_factory.mktemp("notify")) as running:
        yield running


@pytest.fixture
def merchant(gateway: Gateway) -> Iterator[Receiver]:
    with receiver() as running:
        yield running
    gateway.faults.clear()


def pay(
    gateway: Gateway, notify_url: str | None, subject: str = "Pro", amount: str = "12.30"
) -> tuple[dict[str, Any], str]:
    """A trade created with `notify_url` and paid in the cashier; the notify is queued."""
    user = new_user()
    if gateway.emulator.apps.get(gateway.app_id).identity == "open_id":
        named = {"buyer_open_id": gateway.open_id(user)}
    else:
        named = {"buyer_id": user}
    trade = dict(
        gateway.client().api_alipay_trade_create(
            subject=subject,
            out_trade_no=out_no(),
            total_amount=amount,
            notify_url=notify_url,
            product_code="JSAPI_PAY",
            **named,
        )
    )
    assert gateway.pay(trade["trade_no"], user)[1]["resultCode"] == "9000"
    return trade, user


def verifies(gateway: Gateway, form: dict[str, str]) -> bool:
    data = dict(form)
    sign = data.pop("sign")
    return bool(gateway.client().verify(data, sign))


def ticks(gateway: Gateway, *seconds: float) -> None:
    for step in seconds:
        gateway.clock.advance(step)


# -- what arrives -----------------------------------------------------------------------------


def test_a_payment_notifies_a_form_alipay_signed(gateway, merchant):
    trade, user = pay(gateway, merchant.url)
    gateway.scheduler.tick()
    (form,) = merchant.forms
    assert merchant.content_types == ["application/x-www-form-urlencoded; charset=utf-8"]
    assert verifies(gateway, form)
    app = gateway.emulator.apps.get(gateway.app_id).to_dict()
    assert {
        k: form[k]
        for k in (
            "trade_status",
            "app_id",
            "seller_id",
            "out_trade_no",
            "trade_no",
            "total_amount",
            "charset",
            "sign_type",
        )
    } == {
        "trade_status": "TRADE_SUCCESS",
        "app_id": gateway.app_id,
        "seller_id": app["sellerId"],
        "out_trade_no": trade["out_trade_no"],
        "trade_no": trade["trade_no"],
        "total_amount": "12.30",
        "charset": "utf-8",
        "sign_type": "RSA2",
    }
    assert form["notify_id"] and form["notify_time"] and form["gmt_payment"]


def test_the_notify_names_the_buyer_as_the_app_does(gateway, merchant):
    _, user = pay(gateway, merchant.url)
    gateway.scheduler.tick()
    (form,) = merchant.forms
    if gateway.emulator.apps.get(gateway.app_id).identity == "open_id":
        assert form["buyer_open_id"] == gateway.open_id(user) and "buyer_id" not in form
    else:
        assert form["buyer_id"] == user and "buyer_open_id" not in form


def test_a_changed_field_no_longer_verifies(gateway, merchant):
    pay(gateway, merchant.url)
    gateway.scheduler.tick()
    assert not verifies(gateway, {**merchant.forms[0], "total_amount": "0.01"})


def test_a_subject_with_url_characters_arrives_decoded_and_verifies(gateway, merchant):
    pay(gateway, merchant.url, subject="专业版 Pro & more=1+1%")
    gateway.scheduler.tick()
    assert merchant.forms[0]["subject"] == "专业版 Pro & more=1+1%"
    assert verifies(gateway, merchant.forms[0])


def test_a_trade_without_notify_url_notifies_nobody(gateway, merchant):
    trade, _ = pay(gateway, None)
    gateway.scheduler.tick()
    assert merchant.forms == [] and gateway.emulator.notifies.all(trade["trade_no"]) == []


def test_refunds_notify_their_fee_and_a_full_one_the_close(gateway, merchant):
    trade, _ = pay(gateway, merchant.url)
    client = gateway.client()
    client.api_alipay_trade_refund("2.30", trade_no=trade["trade_no"], out_request_no="r1")
    client.api_alipay_trade_refund("10.00", trade_no=trade["trade_no"], out_request_no="r2")
    client.api_alipay_trade_refund("10.00", trade_no=trade["trade_no"], out_request_no="r2")
    gateway.scheduler.tick()
    paid, partial, full = merchant.forms
    assert all(verifies(gateway, form) for form in merchant.forms)
    assert (partial["trade_status"], partial["refund_fee"], partial["out_biz_no"]) == (
        "TRADE_SUCCESS",
        "2.30",
        "r1",
    )
    assert (full["trade_status"], full["refund_fee"], full["out_biz_no"]) == (
        "TRADE_CLOSED",
        "12.30",
        "r2",
    )


def test_the_first_attempt_goes_at_once_without_the_clock_moving(tmp_path):
    gateway = Gateway(tmp_path, "key")
    gateway.scheduler.start()
    try:
        with receiver() as merchant:
            pay(gateway, merchant.url)
            assert len(merchant.wait_for(1)) == 1
    finally:
        gateway.scheduler.stop()
        gateway.close()


# -- retries ----------------------------------------------------------------------------------


def test_a_refused_notify_is_retried_on_alipays_schedule(gateway, merchant):
    merchant.answers = [b"fail", b"fail", b"fail"]
    trade, _ = pay(gateway, merchant.url)
    gateway.scheduler.tick()
    assert len(merchant.forms) == 1
    ticks(gateway, RETRY_AFTER[0] - 1)
    assert len(merchant.forms) == 1
    ticks(gateway, 1)
    assert len(merchant.forms) == 2
    ticks(gateway, RETRY_AFTER[1], RETRY_AFTER[2])
    assert len(merchant.forms) == 4  # the fourth answered success
    ticks(gateway, 24 * 3600)
    assert len(merchant.forms) == 4
    assert len({form["notify_id"] for form in merchant.forms}) == 1
    assert len({form["notify_time"] for form in merchant.forms}) == 4
    assert gateway.emulator.notifies.all(trade["trade_no"])[0].state == "delivered"


@pytest.mark.parametrize("answer", [b"SUCCESS", b"ok", b"", b"success!"])
def test_only_the_answer_success_ends_the_retries(gateway, merchant, answer):
    merchant.answers = [answer]
    pay(gateway, merchant.url)
    gateway.scheduler.tick()
    ticks(gateway, RETRY_AFTER[0])
    assert len(merchant.forms) == 2


def test_after_eight_attempts_alipay_gives_up(gateway, merchant):
    merchant.answers = [b"fail"] * 20
    trade, _ = pay(gateway, merchant.url)
    gateway.scheduler.tick()
    ticks(gateway, *RETRY_AFTER)
    assert len(merchant.forms) == ATTEMPTS == 8
    ticks(gateway, 48 * 3600)
    assert len(merchant.forms) == 8
    assert gateway.emulator.notifies.all(trade["trade_no"])[0].state == "given_up"


def test_an_unreachable_receiver_is_retried_too(gateway, merchant):
    trade, _ = pay(gateway, "http://127.0.0.1:9/notify")  # discard port: nothing listens
    gateway.scheduler.tick()
    (notify,) = gateway.emulator.notifies.all(trade["trade_no"])
    assert (notify.attempts, notify.state) == (1, "pending")


# -- faults -----------------------------------------------------------------------------------


def test_a_lost_notify_never_arrives_and_is_retried(gateway, merchant):
    gateway.faults.set(Fault("alipay", "notify_lost", api="notify"))
    pay(gateway, merchant.url)
    gateway.scheduler.tick()
    assert merchant.forms == []
    gateway.faults.clear()
    ticks(gateway, RETRY_AFTER[0])
    assert len(merchant.forms) == 1 and verifies(gateway, merchant.forms[0])


def test_a_duplicated_notify_arrives_twice_with_one_notify_id(gateway, merchant):
    gateway.faults.set(Fault("alipay", "notify_duplicated", api="notify"))
    pay(gateway, merchant.url)
    gateway.scheduler.tick()
    first, second = merchant.forms
    assert first == second and verifies(gateway, second)


def test_a_delayed_notify_waits_its_seconds_of_local_clock(gateway, merchant):
    gateway.faults.set(Fault("alipay", "notify_delayed", api="notify", seconds=120))
    pay(gateway, merchant.url)
    gateway.scheduler.tick()
    ticks(gateway, 119)
    assert merchant.forms == []
    ticks(gateway, 1)
    assert len(merchant.forms) == 1


def test_an_out_of_order_notify_arrives_after_the_next_one(gateway, merchant):
    gateway.faults.set(Fault("alipay", "notify_out_of_order", api="notify"))
    first, _ = pay(gateway, merchant.url)
    gateway.scheduler.tick()
    gateway.faults.clear()
    second, _ = pay(gateway, merchant.url)
    gateway.scheduler.tick()
    assert [form["trade_no"] for form in merchant.forms] == [second["trade_no"], first["trade_no"]]


def test_an_out_of_order_notify_alone_goes_after_its_seconds(gateway, merchant):
    gateway.faults.set(Fault("alipay", "notify_out_of_order", api="notify", seconds=60))
    pay(gateway, merchant.url)
    gateway.scheduler.tick()
    assert merchant.forms == []
    ticks(gateway, 60)
    assert len(merchant.forms) == 1


def test_a_forged_notify_comes_first_and_does_not_verify(gateway, merchant):
    gateway.faults.set(Fault("alipay", "notify_forged", api="notify"))
    merchant.answers = [b"fail"]  # what a receiver that verifies answers the forgery
    pay(gateway, merchant.url)
    gateway.scheduler.tick()
    forged, genuine = merchant.forms
    assert not verifies(gateway, forged) and forged["total_amount"] == "12.31"
    assert verifies(gateway, genuine) and genuine["total_amount"] == "12.30"
    gateway.faults.clear()
    ticks(gateway, RETRY_AFTER[0])
    assert len(merchant.forms) == 2  # the genuine one was answered success


def test_gateway_faults_leave_notifies_alone(gateway, merchant):
    trade, _ = pay(gateway, merchant.url)
    gateway.faults.set(Fault("alipay", "down"))
    gateway.scheduler.tick()
    assert [form["trade_no"] for form in merchant.forms] == [trade["trade_no"]]

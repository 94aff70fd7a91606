"""Contract tests of the local Alipay gateway's payment APIs, through python-alipay-sdk only
(`AliPay` in key mode, `DCAliPay` in certificate mode; plain HTTP for the sandbox cashier, which
plays `my.tradePay`), organised by Alipay's API reference: `alipay.trade.create`, `.query`,
`.close`, `.refund`, `.fastpay.refund.query` (https://opendocs.alipay.com/apis/api_1/<method>),
then the async notify (https://opendocs.alipay.com/open/204/105301: its fields, signature and
retries) and the notify faults. gateway.do and the common error codes are test_alipay.py's.

Most tests run once, on an app in key mode and user_id mode; those whose outcome depends on how
the app signs (key or certificate) or names its users (user_id or open_id) run in each of the
four combinations (the `each_mode` fixture).

The trade methods' documented sub-codes the template's payment paths can meet, each with a test:
ACQ.INVALID_PARAMETER, ACQ.TOTAL_FEE_EXCEED, ACQ.BUYER_NOT_EXIST, ACQ.CONTEXT_INCONSISTENT,
ACQ.TRADE_HAS_SUCCESS, ACQ.TRADE_HAS_CLOSE, ACQ.TRADE_NOT_EXIST, ACQ.TRADE_STATUS_ERROR,
ACQ.REFUND_AMT_NOT_EQUAL_TOTAL, ACQ.DISCORDANT_REPEAT_REQUEST, ACQ.TRADE_HAS_FINISHED (all 40004,
under the method's key, signed). ACQ.SYSTEM_ERROR is not emulated: an outage is the 20000 family
(test_alipay.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from alipay_kit import Gateway, Receiver, gateway_for, new_user, out_no, receiver, sub_code

from localcloud.alipay.notify import ATTEMPTS, CHINA_TIME, RETRY_AFTER
from localcloud.alipay.trades import DEFAULT_TIMEOUT, REFUND_WINDOW
from localcloud.faults import Fault

MODES = [("key", "user_id"), ("cert", "user_id"), ("key", "open_id"), ("cert", "open_id")]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    running = Gateway(tmp_path_factory.mktemp("trades"), "key", "user_id")
    yield running
    running.close()


@pytest.fixture(scope="module", params=MODES, ids=lambda p: "-".join(p))
def each_mode(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    with gateway_for(request, tmp_path_factory.mktemp("trades-mode")) as running:
        yield running


@pytest.fixture
def merchant(gateway: Gateway) -> Iterator[Receiver]:
    with receiver() as running:
        yield running
    gateway.faults.clear()


def create(gateway: Gateway, user: str, amount: Any = "12.30", **extra: Any) -> dict[str, Any]:
    fields = {
        "subject": "Pro",
        "out_trade_no": out_no(),
        "total_amount": amount,
        "product_code": "JSAPI_PAY",
        "op_app_id": gateway.app_id,
        **gateway.buyer(user),
        **extra,
    }
    return dict(gateway.client().api_alipay_trade_create(**fields))


def created(gateway: Gateway, user: str | None = None, **extra: Any) -> dict[str, Any]:
    reply = create(gateway, user or new_user(), **extra)
    assert reply["code"] == "10000", reply
    return reply


def paid(gateway: Gateway, **extra: Any) -> tuple[dict[str, Any], str]:
    user = new_user()
    trade = created(gateway, user, **extra)
    assert gateway.pay(trade["trade_no"], user) == (200, {"resultCode": "9000", "memo": "支付成功"})
    return trade, user


def query(gateway: Gateway, trade: dict[str, Any]) -> dict[str, Any]:
    return dict(gateway.client().api_alipay_trade_query(trade_no=trade["trade_no"]))


def refund(
    gateway: Gateway, trade: dict[str, Any], amount: str, request_no: str | None = None
) -> dict[str, Any]:
    extra = {"out_request_no": request_no} if request_no else {}
    return dict(
        gateway.client().api_alipay_trade_refund(
            refund_amount=amount, out_trade_no=trade["out_trade_no"], **extra
        )
    )


def verifies(gateway: Gateway, form: dict[str, str]) -> bool:
    """What a receiver does with python-alipay-sdk: `verify` the form less `sign`."""
    data = dict(form)
    sign = data.pop("sign")
    return bool(gateway.client().verify(data, sign))


def ticks(gateway: Gateway, *seconds: float) -> None:
    for step in seconds:
        gateway.clock.advance(step)


def beijing_time(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TIME).timestamp()


# -- alipay.trade.create ----------------------------------------------------------------------
def test_create_answers_a_trade_waiting_for_its_buyer(each_mode):
    trade = created(each_mode)
    assert trade["trade_no"].isdigit() and len(trade["trade_no"]) == 28
    state = query(each_mode, trade)
    assert (state["trade_status"], state["total_amount"], state["out_trade_no"]) == (
        "WAIT_BUYER_PAY",
        "12.30",
        trade["out_trade_no"],
    )


def test_creating_the_same_out_trade_no_again_answers_the_same_trade(gateway):
    user = new_user()
    first = created(gateway, user)
    again = created(gateway, user, out_trade_no=first["out_trade_no"])
    assert again["trade_no"] == first["trade_no"]


def test_the_same_out_trade_no_with_another_amount_is_acq_context_inconsistent(gateway):
    user = new_user()
    first = created(gateway, user)
    other = create(gateway, user, amount="12.31", out_trade_no=first["out_trade_no"])
    assert sub_code(other) == ("40004", "ACQ.CONTEXT_INCONSISTENT")


@pytest.mark.parametrize(
    ("amount", "written"),
    [
        ("0.01", "0.01"),
        ("0.1", "0.10"),
        ("12", "12.00"),
        (12.3, "12.30"),
        (7, "7.00"),
        ("100000000.00", "100000000.00"),
    ],
)
def test_total_amount_is_kept_exactly_in_yuan(gateway, amount, written):
    assert query(gateway, created(gateway, amount=amount))["total_amount"] == written


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("0.001", "ACQ.INVALID_PARAMETER"),
        (0.1 + 0.2, "ACQ.INVALID_PARAMETER"),
        ("-1", "ACQ.INVALID_PARAMETER"),
        ("1e2", "ACQ.INVALID_PARAMETER"),
        ("", "ACQ.INVALID_PARAMETER"),
        (True, "ACQ.INVALID_PARAMETER"),
        ("0.00", "ACQ.TOTAL_FEE_EXCEED"),
        ("100000000.01", "ACQ.TOTAL_FEE_EXCEED"),
    ],
)
def test_a_total_amount_that_is_not_exact_yuan_in_range_is_refused(gateway, amount, code):
    assert sub_code(create(gateway, new_user(), amount=amount)) == ("40004", code)


@pytest.mark.parametrize("missing", ["subject", "out_trade_no"])
def test_create_without_a_required_field_is_acq_invalid_parameter(gateway, missing):
    reply = create(gateway, new_user(), **{missing: ""})
    assert sub_code(reply) == ("40004", "ACQ.INVALID_PARAMETER")


def test_create_without_a_buyer_is_acq_invalid_parameter(gateway):
    reply = dict(
        gateway.client().api_alipay_trade_create(
            subject="Pro", out_trade_no=out_no(), total_amount="1.00"
        )
    )
    assert sub_code(reply) == ("40004", "ACQ.INVALID_PARAMETER")


def test_the_buyer_named_the_way_the_app_does_not_use_is_acq_buyer_not_exist(each_mode):
    user = new_user()
    if "buyer_id" in each_mode.buyer(user):
        wrong = {"buyer_open_id": "0" + "a" * 46}
    else:
        wrong = {"buyer_id": user}
    reply = dict(
        each_mode.client().api_alipay_trade_create(
            subject="Pro", out_trade_no=out_no(), total_amount="1.00", **wrong
        )
    )
    assert sub_code(reply) == ("40004", "ACQ.BUYER_NOT_EXIST")


# -- alipay.trade.query -----------------------------------------------------------------------
def test_query_names_the_buyer_as_the_app_does(each_mode):
    user = new_user()
    named = each_mode.buyer(user)  # {"buyer_id": user} or {"buyer_open_id": ...}
    state = query(each_mode, created(each_mode, user))
    if "buyer_id" in named:
        assert state["buyer_user_id"] == user and "buyer_open_id" not in state
    else:
        assert state["buyer_open_id"] == named["buyer_open_id"] and "buyer_user_id" not in state


def test_query_by_out_trade_no_finds_the_same_trade(gateway):
    trade = created(gateway)
    by_out = gateway.client().api_alipay_trade_query(out_trade_no=trade["out_trade_no"])
    assert by_out["trade_no"] == trade["trade_no"]


def test_an_unknown_trade_is_acq_trade_not_exist(gateway):
    client, unknown = gateway.client(), ("40004", "ACQ.TRADE_NOT_EXIST")
    assert sub_code(client.api_alipay_trade_query(out_trade_no=out_no())) == unknown
    assert sub_code(client.api_alipay_trade_close(out_trade_no=out_no())) == unknown
    assert sub_code(client.api_alipay_trade_refund("1.00", out_trade_no=out_no())) == unknown
    assert sub_code(client.api_alipay_trade_fastpay_refund_query("r", out_trade_no=out_no())) == (
        unknown
    )


# -- alipay.trade.close -----------------------------------------------------------------------
def test_close_closes_an_unpaid_trade_for_good(gateway):
    user = new_user()
    trade = created(gateway, user)
    closed = gateway.client().api_alipay_trade_close(out_trade_no=trade["out_trade_no"])
    assert (closed["code"], closed["trade_no"]) == ("10000", trade["trade_no"])
    assert query(gateway, trade)["trade_status"] == "TRADE_CLOSED"
    again = gateway.client().api_alipay_trade_close(trade_no=trade["trade_no"])
    assert sub_code(again) == ("40004", "ACQ.TRADE_STATUS_ERROR")
    recreated = create(gateway, user, out_trade_no=trade["out_trade_no"])
    assert sub_code(recreated) == ("40004", "ACQ.TRADE_HAS_CLOSE")
    assert gateway.pay(trade["trade_no"], user)[1]["resultCode"] == "4000"


def test_an_unpaid_trade_closes_when_its_timeout_lapses(gateway):
    trade = created(gateway, timeout_express="5m")
    gateway.clock.advance(4 * 60)
    assert query(gateway, trade)["trade_status"] == "WAIT_BUYER_PAY"
    gateway.clock.advance(60)
    assert query(gateway, trade)["trade_status"] == "TRADE_CLOSED"


def test_an_unpaid_trade_without_timeout_closes_after_fifteen_days(gateway):
    trade = created(gateway)
    gateway.clock.advance(DEFAULT_TIMEOUT)
    assert query(gateway, trade)["trade_status"] == "TRADE_CLOSED"


def test_a_paid_trade_cannot_be_closed(gateway):
    trade, _ = paid(gateway)
    closed = gateway.client().api_alipay_trade_close(trade_no=trade["trade_no"])
    assert sub_code(closed) == ("40004", "ACQ.TRADE_STATUS_ERROR")


# -- the cashier (my.tradePay) ----------------------------------------------------------------
def test_a_paid_trade_is_trade_success_and_cannot_be_created_again(gateway):
    trade, user = paid(gateway)
    state = query(gateway, trade)
    assert (state["trade_status"], state["buyer_pay_amount"]) == ("TRADE_SUCCESS", "12.30")
    assert state["send_pay_date"]
    again = create(gateway, user, out_trade_no=trade["out_trade_no"])
    assert sub_code(again) == ("40004", "ACQ.TRADE_HAS_SUCCESS")


@pytest.mark.parametrize(
    ("result", "code", "status"),
    [
        ("success", "9000", "TRADE_SUCCESS"),
        ("processing", "8000", "TRADE_SUCCESS"),
        ("unknown", "6004", "TRADE_SUCCESS"),
        ("fail", "4000", "WAIT_BUYER_PAY"),
        ("cancel", "6001", "WAIT_BUYER_PAY"),
        ("network_error", "6002", "WAIT_BUYER_PAY"),
    ],
)
def test_the_cashier_answers_my_trade_pay_result_codes(gateway, result, code, status):
    user = new_user()
    trade = created(gateway, user)
    http_status, answer = gateway.pay(trade["trade_no"], user, result)
    assert (http_status, answer["resultCode"]) == (200, code)
    assert query(gateway, trade)["trade_status"] == status


def test_another_buyer_cannot_pay_the_trade(gateway):
    trade = created(gateway)
    assert gateway.pay(trade["trade_no"], new_user())[1]["resultCode"] == "4000"
    assert query(gateway, trade)["trade_status"] == "WAIT_BUYER_PAY"


def test_a_trade_is_paid_once(gateway):
    trade, user = paid(gateway)
    assert gateway.pay(trade["trade_no"], user)[1]["resultCode"] == "4000"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"tradeNo": "1", "user_id": "2088000000000001"}',
        b'{"tradeNo": "1", "user_id": "42", "result": "success"}',
        b'{"tradeNo": 1, "user_id": "2088000000000001", "result": "success"}',
        b'{"tradeNo": "1", "user_id": "2088000000000001", "result": "maybe"}',
        b'{"tradeNo": "1", "user_id": "2088000000000001", "result": "success", "amount": "9"}',
    ],
)
def test_the_cashier_refuses_a_malformed_request(gateway, body):
    status, answer = gateway.sandbox_pay(body)
    assert status == 400 and answer["code"] in ("InvalidJson", "InvalidParameter")


def test_a_trade_paid_and_closed_at_once_ends_one_way(gateway):
    user = new_user()
    trade = created(gateway, user)
    with ThreadPoolExecutor(max_workers=2) as pool:
        paying = pool.submit(gateway.pay, trade["trade_no"], user)
        closing = pool.submit(gateway.client().api_alipay_trade_close, trade_no=trade["trade_no"])
        paid_code, closed = paying.result()[1]["resultCode"], closing.result()
    status = query(gateway, trade)["trade_status"]
    if status == "TRADE_SUCCESS":
        assert paid_code == "9000" and sub_code(closed) == ("40004", "ACQ.TRADE_STATUS_ERROR")
    else:
        assert status == "TRADE_CLOSED" and paid_code == "4000" and closed["code"] == "10000"


# -- alipay.trade.refund ----------------------------------------------------------------------
def test_an_unpaid_trade_cannot_be_refunded(gateway):
    trade = created(gateway)
    assert sub_code(refund(gateway, trade, "1.00")) == ("40004", "ACQ.TRADE_STATUS_ERROR")


def test_partial_refunds_add_up_and_a_full_one_closes_the_trade(each_mode):
    trade, _ = paid(each_mode)
    first = refund(each_mode, trade, "2.30", "r1")
    assert (first["code"], first["fund_change"], first["refund_fee"]) == ("10000", "Y", "2.30")
    assert query(each_mode, trade)["trade_status"] == "TRADE_SUCCESS"
    second = refund(each_mode, trade, "10.00", "r2")
    assert (second["fund_change"], second["refund_fee"]) == ("Y", "12.30")
    assert query(each_mode, trade)["trade_status"] == "TRADE_CLOSED"


def test_a_refund_asked_again_refunds_nothing_more(gateway):
    trade, _ = paid(gateway)
    refund(gateway, trade, "1.00", "r1")
    again = refund(gateway, trade, "1.00", "r1")
    assert (again["code"], again["fund_change"], again["refund_fee"]) == ("10000", "N", "1.00")


def test_a_refund_asked_again_with_another_amount_is_acq_discordant_repeat_request(gateway):
    trade, _ = paid(gateway)
    refund(gateway, trade, "1.00", "r1")
    assert sub_code(refund(gateway, trade, "2.00", "r1")) == (
        "40004",
        "ACQ.DISCORDANT_REPEAT_REQUEST",
    )


def test_refunds_past_the_total_are_acq_refund_amt_not_equal_total(gateway):
    trade, _ = paid(gateway)
    refund(gateway, trade, "12.00", "r1")
    assert sub_code(refund(gateway, trade, "0.31", "r2")) == (
        "40004",
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
    )
    assert refund(gateway, trade, "0.30", "r3")["refund_fee"] == "12.30"


def test_a_refund_without_out_request_no_is_the_whole_trade_once(gateway):
    trade, _ = paid(gateway)
    assert refund(gateway, trade, "12.30")["fund_change"] == "Y"
    assert refund(gateway, trade, "12.30")["fund_change"] == "N"


def test_a_refund_after_the_refund_window_is_acq_trade_has_finished(gateway):
    trade, _ = paid(gateway)
    gateway.clock.advance(REFUND_WINDOW)
    assert query(gateway, trade)["trade_status"] == "TRADE_FINISHED"
    assert sub_code(refund(gateway, trade, "1.00")) == ("40004", "ACQ.TRADE_HAS_FINISHED")


def test_concurrent_refunds_never_sum_past_the_total(gateway):
    trade, _ = paid(gateway)
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda n: refund(gateway, trade, "2.00", f"c{n}"), range(8)))
    assert (
        sorted(sub_code(r)[1] for r in replies) == [""] * 6 + ["ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"] * 2
    )
    assert refund(gateway, trade, "0.30", "last")["refund_fee"] == "12.30"


# -- alipay.trade.fastpay.refund.query --------------------------------------------------------
def test_refund_query_answers_a_refund_by_out_request_no(gateway):
    trade, _ = paid(gateway)
    refund(gateway, trade, "3.00", "r1")
    client = gateway.client()
    found = client.api_alipay_trade_fastpay_refund_query("r1", out_trade_no=trade["out_trade_no"])
    assert (
        found["code"],
        found["refund_amount"],
        found["refund_status"],
        found["total_amount"],
    ) == ("10000", "3.00", "REFUND_SUCCESS", "12.30")
    none = client.api_alipay_trade_fastpay_refund_query("r9", trade_no=trade["trade_no"])
    assert none["code"] == "10000" and "refund_amount" not in none


# -- the async notify: what arrives -----------------------------------------------------------
# The fields Alipay's notify page documents for a payment (those that apply to a JSAPI trade).
PAYMENT_FIELDS = {
    "notify_time",
    "notify_type",
    "notify_id",
    "app_id",
    "auth_app_id",
    "charset",
    "version",
    "sign_type",
    "sign",
    "trade_no",
    "out_trade_no",
    "seller_id",
    "trade_status",
    "total_amount",
    "receipt_amount",
    "invoice_amount",
    "buyer_pay_amount",
    "point_amount",
    "subject",
    "gmt_create",
    "gmt_payment",
    "fund_bill_list",
}


def pay_with_notify(
    gateway: Gateway, notify_url: str | None, subject: str = "Pro", amount: str = "12.30"
) -> tuple[dict[str, Any], str]:
    """A trade created with `notify_url` and paid in the cashier; the notify is queued."""
    user = new_user()
    trade = dict(
        gateway.client().api_alipay_trade_create(
            subject=subject,
            out_trade_no=out_no(),
            total_amount=amount,
            notify_url=notify_url,
            product_code="JSAPI_PAY",
            **gateway.buyer(user),
        )
    )
    assert gateway.pay(trade["trade_no"], user)[1]["resultCode"] == "9000"
    return trade, user


def test_a_payment_notifies_the_documented_fields_signed_by_alipay(each_mode):
    with receiver() as merchant:
        before = each_mode.clock.now()
        trade, user = pay_with_notify(each_mode, merchant.url)
        each_mode.scheduler.tick()
        after = each_mode.clock.now()
    (form,) = merchant.forms
    assert merchant.content_types == ["application/x-www-form-urlencoded; charset=utf-8"]
    assert verifies(each_mode, form)
    buyer = {"buyer_id"} if each_mode.identity() == "user_id" else {"buyer_open_id"}
    cert = {"alipay_cert_sn"} if each_mode.signing == "cert" else set()
    assert set(form) == PAYMENT_FIELDS | buyer | cert
    app = each_mode.emulator.apps.get(each_mode.app_id).to_dict()
    assert {k: form[k] for k in ("notify_type", "version", "charset", "sign_type")} == {
        "notify_type": "trade_status_sync",
        "version": "1.0",
        "charset": "utf-8",
        "sign_type": "RSA2",
    }
    assert (form["app_id"], form["auth_app_id"], form["seller_id"]) == (
        each_mode.app_id,
        each_mode.app_id,
        app["sellerId"],
    )
    assert (form["trade_no"], form["out_trade_no"], form["trade_status"]) == (
        trade["trade_no"],
        trade["out_trade_no"],
        "TRADE_SUCCESS",
    )
    assert (form["total_amount"], form["receipt_amount"], form["buyer_pay_amount"]) == (
        "12.30",
        "12.30",
        "12.30",
    )
    for moment in ("notify_time", "gmt_create", "gmt_payment"):  # Beijing time, whole seconds
        assert before - 1 <= beijing_time(form[moment]) <= after
    if each_mode.identity() == "user_id":
        assert form["buyer_id"] == user
    else:
        assert form["buyer_open_id"] == each_mode.open_id(user)
    if cert:  # the certificate it is signed under, as the gateway's replies name it
        assert form["alipay_cert_sn"] == each_mode.emulator.certs.alipay_cert_sn


def test_a_changed_field_no_longer_verifies(gateway, merchant):
    pay_with_notify(gateway, merchant.url)
    gateway.scheduler.tick()
    assert not verifies(gateway, {**merchant.forms[0], "total_amount": "0.01"})


def test_a_subject_with_url_characters_arrives_decoded_and_verifies(gateway, merchant):
    pay_with_notify(gateway, merchant.url, subject="专业版 Pro & more=1+1%")
    gateway.scheduler.tick()
    assert merchant.forms[0]["subject"] == "专业版 Pro & more=1+1%"
    assert verifies(gateway, merchant.forms[0])


def test_a_trade_without_notify_url_notifies_nobody(gateway, merchant):
    trade, _ = pay_with_notify(gateway, None)
    gateway.scheduler.tick()
    assert merchant.forms == [] and gateway.emulator.notifies.all(trade["trade_no"]) == []


def test_refunds_notify_their_fee_and_a_full_one_the_close(each_mode):
    with receiver() as merchant:
        trade, _ = pay_with_notify(each_mode, merchant.url)
        client = each_mode.client()
        client.api_alipay_trade_refund("2.30", trade_no=trade["trade_no"], out_request_no="r1")
        client.api_alipay_trade_refund("10.00", trade_no=trade["trade_no"], out_request_no="r2")
        client.api_alipay_trade_refund("10.00", trade_no=trade["trade_no"], out_request_no="r2")
        each_mode.scheduler.tick()
    paid_form, partial, full = merchant.forms
    assert all(verifies(each_mode, form) for form in merchant.forms)
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
    assert "gmt_refund" in partial and "gmt_close" in full and "gmt_close" not in partial


def test_the_first_attempt_goes_at_once_without_the_clock_moving(tmp_path):
    gateway = Gateway(tmp_path, "key")
    gateway.scheduler.start()
    try:
        with receiver() as merchant:
            pay_with_notify(gateway, merchant.url)
            assert len(merchant.wait_for(1)) == 1
    finally:
        gateway.scheduler.stop()
        gateway.close()


# -- the async notify: TRADE_FINISHED ---------------------------------------------------------
# Alipay notifies TRADE_FINISHED when a paid trade that supports refunds passes its refundable
# period (trades.py); the local clock passing it sends the notify, once.
def test_a_paid_trade_notifies_trade_finished_when_its_refund_window_ends(gateway, merchant):
    before = gateway.clock.now()
    trade, _ = pay_with_notify(gateway, merchant.url)
    after = gateway.clock.now()  # it was paid between the two
    gateway.scheduler.tick()
    ticks(gateway, before + REFUND_WINDOW - 60 - gateway.clock.now())
    assert len(merchant.forms) == 1
    ticks(gateway, after + REFUND_WINDOW - gateway.clock.now())
    payment, finished = merchant.forms
    assert verifies(gateway, finished)
    assert (finished["trade_status"], finished["trade_no"]) == ("TRADE_FINISHED", trade["trade_no"])
    assert finished["notify_id"] != payment["notify_id"]
    assert before - 1 <= beijing_time(finished["gmt_close"]) - REFUND_WINDOW <= after
    ticks(gateway, 30 * 24 * 3600)
    assert len(merchant.forms) == 2  # once
    assert query(gateway, trade)["trade_status"] == "TRADE_FINISHED"


def test_a_fully_refunded_trade_never_finishes(gateway, merchant):
    trade, _ = pay_with_notify(gateway, merchant.url)
    refund(gateway, trade, "12.30")
    gateway.scheduler.tick()
    ticks(gateway, REFUND_WINDOW + 1)
    assert [form["trade_status"] for form in merchant.forms] == ["TRADE_SUCCESS", "TRADE_CLOSED"]


# -- the async notify: retries ----------------------------------------------------------------
def test_a_refused_notify_is_retried_on_alipays_schedule(gateway, merchant):
    merchant.answers = [b"fail", b"fail", b"fail"]
    trade, _ = pay_with_notify(gateway, merchant.url)
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
    pay_with_notify(gateway, merchant.url)
    gateway.scheduler.tick()
    ticks(gateway, RETRY_AFTER[0])
    assert len(merchant.forms) == 2


def test_after_eight_attempts_alipay_gives_up(gateway, merchant):
    merchant.answers = [b"fail"] * 20
    trade, _ = pay_with_notify(gateway, merchant.url)
    gateway.scheduler.tick()
    ticks(gateway, *RETRY_AFTER)
    assert len(merchant.forms) == ATTEMPTS == 8
    ticks(gateway, 48 * 3600)
    assert len(merchant.forms) == 8
    assert gateway.emulator.notifies.all(trade["trade_no"])[0].state == "given_up"


def test_an_unreachable_receiver_is_retried_too(gateway):
    trade, _ = pay_with_notify(gateway, "http://127.0.0.1:9/notify")  # discard port: no one
    gateway.scheduler.tick()
    (notify,) = gateway.emulator.notifies.all(trade["trade_no"])
    assert (notify.attempts, notify.state) == (1, "pending")


# -- notify faults ----------------------------------------------------------------------------
def test_a_lost_notify_never_arrives_and_is_retried(gateway, merchant):
    gateway.faults.set(Fault("alipay", "notify_lost", api="notify"))
    pay_with_notify(gateway, merchant.url)
    gateway.scheduler.tick()
    assert merchant.forms == []
    gateway.faults.clear()
    ticks(gateway, RETRY_AFTER[0])
    assert len(merchant.forms) == 1 and verifies(gateway, merchant.forms[0])


def test_a_duplicated_notify_arrives_twice_with_one_notify_id(gateway, merchant):
    gateway.faults.set(Fault("alipay", "notify_duplicated", api="notify"))
    pay_with_notify(gateway, merchant.url)
    gateway.scheduler.tick()
    first, second = merchant.forms
    assert first == second and verifies(gateway, second)


def test_a_delayed_notify_waits_its_seconds_of_local_clock(gateway, merchant):
    gateway.faults.set(Fault("alipay", "notify_delayed", api="notify", seconds=120))
    pay_with_notify(gateway, merchant.url)
    gateway.scheduler.tick()
    ticks(gateway, 119)
    assert merchant.forms == []
    ticks(gateway, 1)
    assert len(merchant.forms) == 1


def test_an_out_of_order_notify_arrives_after_the_next_one(gateway, merchant):
    gateway.faults.set(Fault("alipay", "notify_out_of_order", api="notify"))
    first, _ = pay_with_notify(gateway, merchant.url)
    gateway.scheduler.tick()
    gateway.faults.clear()
    second, _ = pay_with_notify(gateway, merchant.url)
    gateway.scheduler.tick()
    assert [form["trade_no"] for form in merchant.forms] == [second["trade_no"], first["trade_no"]]


def test_an_out_of_order_notify_alone_goes_after_its_seconds(gateway, merchant):
    gateway.faults.set(Fault("alipay", "notify_out_of_order", api="notify", seconds=60))
    pay_with_notify(gateway, merchant.url)
    gateway.scheduler.tick()
    assert merchant.forms == []
    ticks(gateway, 60)
    assert len(merchant.forms) == 1


def test_a_forged_notify_comes_first_and_does_not_verify(gateway, merchant):
    gateway.faults.set(Fault("alipay", "notify_forged", api="notify"))
    merchant.answers = [b"fail"]  # what a receiver that verifies answers the forgery
    pay_with_notify(gateway, merchant.url)
    gateway.scheduler.tick()
    forged, genuine = merchant.forms
    assert not verifies(gateway, forged) and forged["total_amount"] == "12.31"
    assert verifies(gateway, genuine) and genuine["total_amount"] == "12.30"
    gateway.faults.clear()
    ticks(gateway, RETRY_AFTER[0])
    assert len(merchant.forms) == 2  # the genuine one was answered success


def test_gateway_faults_leave_notifies_alone(gateway, merchant):
    trade, _ = pay_with_notify(gateway, merchant.url)
    gateway.faults.set(Fault("alipay", "down"))
    gateway.scheduler.tick()
    assert [form["trade_no"] for form in merchant.forms] == [trade["trade_no"]]

"""Contract tests of the local Alipay gateway's trade methods and sandbox cashier, driven through
python-alipay-sdk only (`AliPay` in key mode, `DCAliPay` in certificate mode), for an app in
user_id mode and one in open_id mode."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from alipay_trade_kit import Gateway, gateway_for, new_user, out_no

from localcloud.alipay.trades import DEFAULT_TIMEOUT, REFUND_WINDOW

logging.getLogger("python-alipay-sdk").setLevel(logging.CRITICAL)


@pytest.fixture(
    scope="module",
    params=[("key", "user_id"), ("cert", "user_id"), ("key", "open_id"), ("cert", "open_id")],
    ids=lambda p: "-".join(p),
)
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    with gateway_for(request, tmp_path_factory.mktemp("alipay")) as running:
        yield running


def buyer(gateway: Gateway, user: str) -> dict[str, str]:
    """The buyer as the app knows them: user_id, or the open_id its login answered."""
    if gateway.emulator.apps.get(gateway.app_id).identity == "open_id":
        return {"buyer_open_id": gateway.open_id(user)}
    return {"buyer_id": user}


def create(gateway: Gateway, user: str, amount: Any = "12.30", **extra: Any) -> dict[str, Any]:
    fields = {
        "subject": "Pro",
        "out_trade_no": out_no(),
        "total_amount": amount,
        "product_code": "JSAPI_PAY",
        "op_app_id": gateway.app_id,
        **buyer(gateway, user),
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


def sub_code(reply: dict[str, Any]) -> tuple[str, str]:
    return reply["code"], reply.get("sub_code", "")


# -- create and query -------------------------------------------------------------------------


def test_create_answers_a_trade_waiting_for_its_buyer(gateway):
    trade = created(gateway)
    assert trade["trade_no"].isdigit() and len(trade["trade_no"]) == 28
    state = query(gateway, trade)
    assert (state["trade_status"], state["total_amount"], state["out_trade_no"]) == (
        "WAIT_BUYER_PAY",
        "12.30",
        trade["out_trade_no"],
    )


def test_query_names_the_buyer_as_the_app_does(gateway):
    user = new_user()
    named = buyer(gateway, user)  # {"buyer_id": user} or {"buyer_open_id": ...}
    state = query(gateway, created(gateway, user))
    if "buyer_id" in named:
        assert state["buyer_user_id"] == user and "buyer_open_id" not in state
    else:
        assert state["buyer_open_id"] == named["buyer_open_id"] and "buyer_user_id" not in state


def test_query_by_out_trade_no_finds_the_same_trade(gateway):
    trade = created(gateway)
    by_out = gateway.client().api_alipay_trade_query(out_trade_no=trade["out_trade_no"])
    assert by_out["trade_no"] == trade["trade_no"]


def test_creating_the_same_out_trade_no_again_answers_the_same_trade(gateway):
    user = new_user()
    first = created(gateway, user)
    again = created(gateway, user, out_trade_no=first["out_trade_no"])
    assert again["trade_no"] == first["trade_no"]


def test_the_same_out_trade_no_with_another_amount_is_inconsistent(gateway):
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
def test_create_without_a_required_field_is_refused(gateway, missing):
    reply = create(gateway, new_user(), **{missing: ""})
    assert sub_code(reply) == ("40004", "ACQ.INVALID_PARAMETER")


def test_the_buyer_named_the_way_the_app_does_not_use_does_not_exist(gateway):
    user = new_user()
    named = buyer(gateway, user)
    if "buyer_id" in named:
        wrong = {"buyer_open_id": "0" + "a" * 46}
    else:
        wrong = {"buyer_id": user}
    reply = dict(
        gateway.client().api_alipay_trade_create(
            subject="Pro", out_trade_no=out_no(), total_amount="1.00", **wrong
        )
    )
    assert sub_code(reply) == ("40004", "ACQ.BUYER_NOT_EXIST")


def test_create_without_a_buyer_is_refused(gateway):
    reply = dict(
        gateway.client().api_alipay_trade_create(
            subject="Pro", out_trade_no=out_no(), total_amount="1.00"
        )
    )
    assert sub_code(reply) == ("40004", "ACQ.INVALID_PARAMETER")


def test_an_unknown_trade_does_not_exist(gateway):
    client = gateway.client()
    assert sub_code(client.api_alipay_trade_query(out_trade_no=out_no())) == (
        "40004",
        "ACQ.TRADE_NOT_EXIST",
    )
    assert sub_code(client.api_alipay_trade_close(out_trade_no=out_no())) == (
        "40004",
        "ACQ.TRADE_NOT_EXIST",
    )
    assert sub_code(client.api_alipay_trade_refund("1.00", out_trade_no=out_no())) == (
        "40004",
        "ACQ.TRADE_NOT_EXIST",
    )


# -- close and time ---------------------------------------------------------------------------


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


# -- the cashier ------------------------------------------------------------------------------


def test_a_paid_trade_is_trade_success(gateway):
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


# -- refunds ----------------------------------------------------------------------------------


def test_an_unpaid_trade_cannot_be_refunded(gateway):
    trade = created(gateway)
    assert sub_code(refund(gateway, trade, "1.00")) == ("40004", "ACQ.TRADE_STATUS_ERROR")


def test_partial_refunds_add_up_and_a_full_one_closes_the_trade(gateway):
    trade, _ = paid(gateway)
    first = refund(gateway, trade, "2.30", "r1")
    assert (first["code"], first["fund_change"], first["refund_fee"]) == ("10000", "Y", "2.30")
    assert query(gateway, trade)["trade_status"] == "TRADE_SUCCESS"
    second = refund(gateway, trade, "10.00", "r2")
    assert (second["fund_change"], second["refund_fee"]) == ("Y", "12.30")
    assert query(gateway, trade)["trade_status"] == "TRADE_CLOSED"


def test_a_refund_asked_again_refunds_nothing_more(gateway):
    trade, _ = paid(gateway)
    refund(gateway, trade, "1.00", "r1")
    again = refund(gateway, trade, "1.00", "r1")
    assert (again["code"], again["fund_change"], again["refund_fee"]) == ("10000", "N", "1.00")


def test_a_refund_asked_again_with_another_amount_is_discordant(gateway):
    trade, _ = paid(gateway)
    refund(gateway, trade, "1.00", "r1")
    assert sub_code(refund(gateway, trade, "2.00", "r1")) == (
        "40004",
        "ACQ.DISCORDANT_REPEAT_REQUEST",
    )


def test_refunds_never_exceed_the_total(gateway):
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


def test_a_trade_finishes_when_its_refund_window_ends(gateway):
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

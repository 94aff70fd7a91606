"""Alipay's notify form as it arrives (domain/notify_form.py): decoded in its own charset, every
field once, and what it says about the trade."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from miniapp.domain.notify_form import FormRefused, parse_form, trade_state
from miniapp.domain.orders import PAID, PARTIALLY_REFUNDED, REFUNDED, OrderState

FORM = "application/x-www-form-urlencoded"


def encoded(fields: dict[str, str], charset: str = "utf-8") -> bytes:
    return "&".join(f"{k}={quote(v, encoding=charset)}" for k, v in fields.items()).encode()


def test_a_gbk_form_decodes_in_its_charset():
    body = encoded({"subject": "专业版", "charset": "gbk", "sign": "s"}, "gbk")
    fields, charset = parse_form(body, FORM + "; charset=gbk")
    assert (fields["subject"], charset) == ("专业版", "gbk")


def test_the_form_field_names_the_charset_before_the_content_type():
    body = encoded({"subject": "专业版", "charset": "gbk", "sign": "s"}, "gbk")
    assert parse_form(body, FORM + "; charset=utf-8")[0]["subject"] == "专业版"


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"", FORM, "empty body"),
        (b"a=1&sign=s", "application/json", "not a form"),
        (b"a=1&a=2&sign=s", FORM, "field a given twice"),
        (b"a=1", FORM, "no sign"),
        (b"a=%E4&sign=s&charset=utf-8", FORM, "does not decode"),
        (b"a=1&sign=s&charset=klingon", FORM, "unknown charset"),
        ("a=专&sign=s".encode(), FORM, "unescaped"),
    ],
)
def test_a_form_that_cannot_be_read_is_refused_with_its_reason(body, content_type, reason):
    with pytest.raises(FormRefused) as refused:
        parse_form(body, content_type)
    assert reason in refused.value.reason


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        ({"trade_status": "TRADE_SUCCESS"}, OrderState(PAID)),
        ({"trade_status": "TRADE_FINISHED"}, OrderState(PAID)),
        (
            {"trade_status": "TRADE_SUCCESS", "refund_fee": "1.00"},
            OrderState(PARTIALLY_REFUNDED, 100),
        ),
        ({"trade_status": "TRADE_CLOSED", "refund_fee": "9.90"}, OrderState(REFUNDED, 990)),
        (
            {"trade_status": "TRADE_CLOSED", "gmt_payment": "2026-01-01 00:00:00"},
            OrderState(REFUNDED, 990),
        ),
        ({"trade_status": "TRADE_CLOSED"}, OrderState("CLOSED")),
    ],
)
def test_what_a_notify_says_about_its_trade(fields, state):
    assert trade_state({"total_amount": "9.90", **fields}).order_state() == state


def test_a_refund_beyond_the_total_or_a_strange_status_is_refused():
    for fields in (
        {"trade_status": "TRADE_SUCCESS", "total_amount": "9.90", "refund_fee": "10.00"},
        {"trade_status": "PAID_MAYBE", "total_amount": "9.90"},
        {"trade_status": "TRADE_SUCCESS", "total_amount": "9.9x"},
    ):
        with pytest.raises(FormRefused):
            trade_state(fields)

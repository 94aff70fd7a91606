"""Alipay's asynchronous notify as it arrives: an `application/x-www-form-urlencoded` body whose
`charset` field (or the Content-Type's) names the encoding its percent-escapes decode in, and what
it says about the trade. No I/O.

What we refuse here, before any signature is checked: a body that is not such a form, a field
given twice (which value would be the signed one?), a charset Python does not know, a form
without `sign`, and, once verified, fields that do not describe a trade (`trade_state`).
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from urllib.parse import parse_qsl

from .money import fen_of
from .orders import TRADE_STATUSES, TradeState

MAX_FORM_BYTES = 64 * 1024


class FormRefused(ValueError):
    """The notify cannot be read; `reason` says why (never a field's value)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _charset_of(body: str, content_type: str) -> str:
    fields = parse_qsl(body, keep_blank_values=True, encoding="latin-1")
    named = [v for k, v in fields if k == "charset"]
    charset = named[0] if named else ""
    if not charset:
        for part in content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset":
                charset = value.strip().strip('"')
    return charset or "utf-8"


def parse_form(body: bytes, content_type: str) -> tuple[dict[str, str], str]:
    """The form's fields, percent-decoded in its charset, and that charset."""
    if not body:
        raise FormRefused("empty body")
    if len(body) > MAX_FORM_BYTES:
        raise FormRefused("body too large")
    if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise FormRefused("not a form (Content-Type)")
    try:
        text = body.decode("ascii")  # a urlencoded body escapes every other byte
    except UnicodeDecodeError:
        raise FormRefused("unescaped non-ASCII bytes in the form") from None
    charset = _charset_of(text, content_type)
    try:
        codecs.lookup(charset)
    except LookupError:
        raise FormRefused("unknown charset") from None
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, encoding=charset, errors="strict"
        )
    except (ValueError, UnicodeDecodeError):
        raise FormRefused(f"the form does not decode as {charset}") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise FormRefused(f"field {key} given twice")
        fields[key] = value
    if not fields.get("sign"):
        raise FormRefused("no sign")
    return fields, charset


def trade_state(fields: Mapping[str, str]) -> TradeState:
    """What a verified notify says about its trade: `gmt_payment` is its payment time and
    `refund_fee` what was refunded so far (TradeState.reported reads a closed trade by them)."""
    status = fields.get("trade_status", "")
    total = fen_of(fields.get("total_amount"))
    if status not in TRADE_STATUSES or total is None:
        raise FormRefused("no trade_status or total_amount")
    refunded = 0
    if fields.get("refund_fee"):
        fen = fen_of(fields["refund_fee"])
        if fen is None or fen > total:
            raise FormRefused("refund_fee is not an amount within the total")
        refunded = fen
    return TradeState.reported(
        fields.get("trade_no", ""),
        fields.get("out_trade_no", ""),
        total,
        status,
        paid_at=bool(fields.get("gmt_payment")),
        refunded_fen=refunded,
    )

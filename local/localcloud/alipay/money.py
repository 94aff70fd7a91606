"""Amounts as Alipay writes them: yuan with at most two decimals, kept here as integer fen so no
float ever rounds a price. A JSON number is read as the Decimal it spells (biz_content is parsed
with `parse_float=Decimal`), so `0.1` is ten fen and `0.001` is refused, never rounded."""

from __future__ import annotations

import re
from decimal import Decimal

from . import errors
from .errors import AlipayError

MIN_FEN = 1  # 0.01
MAX_FEN = 100_000_000 * 100  # Alipay's ceiling for one trade: 100,000,000.00
_YUAN = re.compile(r"(0|[1-9]\d{0,11})(?:\.(\d{1,2}))?")


def to_fen(value: object, name: str) -> int:
    """`value` ("12.30", 12.3 as Decimal, 12) in fen; ACQ.INVALID_PARAMETER when it is not an
    amount, ACQ.TOTAL_FEE_EXCEED when out of Alipay's range."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise AlipayError(errors.ACQ_INVALID_PARAMETER, f": {name} must be an amount in yuan")
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    match = _YUAN.fullmatch(text)
    if match is None:
        raise AlipayError(
            errors.ACQ_INVALID_PARAMETER, f": {name} must be yuan with at most two decimals"
        )
    fen = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if not MIN_FEN <= fen <= MAX_FEN:
        raise AlipayError(errors.ACQ_TOTAL_FEE_EXCEED, f": {name} out of range")
    return fen


def yuan(fen: int) -> str:
    """Fen as Alipay writes amounts: "12.30"."""
    return f"{fen // 100}.{fen % 100:02d}"

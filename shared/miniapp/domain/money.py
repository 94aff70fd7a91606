"""Amounts as Alipay writes them: yuan with at most two decimals ("9.90"), kept as integer fen
everywhere else, so no float ever rounds a price. No I/O."""

from __future__ import annotations

import re

MIN_FEN = 1  # 0.01, Alipay's smallest trade
MAX_FEN = 100_000_000 * 100  # Alipay's ceiling for one trade: 100,000,000.00
_YUAN = re.compile(r"(0|[1-9]\d{0,11})(?:\.(\d{1,2}))?")


def yuan(fen: int) -> str:
    """Fen as Alipay writes amounts: 990 -> "9.90"."""
    if fen < 0:
        raise ValueError("an amount is never negative")
    return f"{fen // 100}.{fen % 100:02d}"


def fen_of(text: object) -> int | None:
    """The fen a yuan string spells ("9.9", "9.90", "10"), or None when it is not one: read
    exactly, never through a float."""
    if not isinstance(text, str):
        return None
    match = _YUAN.fullmatch(text)
    if match is None:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))

"""Checks for the values the admin endpoint and the console take: each failure is a ValueError
whose message names the field, which both answer as a 400."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def finite(value: Any, field: str) -> float:
    """A finite JSON number (NaN, Infinity, booleans and strings refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{field} must be a number")
    if not math.isfinite(value):
        raise ValueError(f"{field} must be a finite number")
    return float(value)


def number(value: Any, field: str, low: float, high: float) -> float:
    """A finite JSON number in [low, high]."""
    if not low <= finite(value, field) <= high:
        raise ValueError(f"{field} must be a finite number in {low:g}..{high:g}")
    return float(value)


def query_number(
    query: Mapping[str, str], field: str, default: float, low: float, high: float
) -> float:
    """A query parameter read as a number, `default` when absent or empty."""
    text = query.get(field) or ""
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{field} must be a number") from None
    return number(value, field, low, high)


def query_integer(query: Mapping[str, str], field: str, default: int, low: int, high: int) -> int:
    """A query parameter read as a whole number, `default` when absent or empty."""
    text = query.get(field) or ""
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 18 and low <= int(text) <= high):
        raise ValueError(f"{field} must be a whole number in {low}..{high}")
    return int(text)


def text(value: Any, field: str, max_length: int) -> str:
    """A string of printable characters, at most `max_length` long."""
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string")
    if len(value) > max_length or not value.isprintable():
        raise ValueError(f"{field} must be printable text of at most {max_length} characters")
    return value

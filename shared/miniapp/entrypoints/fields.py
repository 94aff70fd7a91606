"""Reading typed fields out of a parsed JSON object. Each reader names the field in its error, so
the client learns exactly which value was wrong. JSON's `true` is a Python bool, which is also an
int: every integer reader rejects bools explicitly."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from ..domain.values import has_lone_surrogate, is_int
from ..errors import InvalidRequest


def reject_unknown(obj: Mapping[str, Any], allowed: Collection[str], what: str) -> None:
    unknown = sorted(k for k in obj if k not in allowed)
    if unknown:
        # repr() of a client string is safe to echo: it is escaped and we cut it short.
        raise InvalidRequest(f"unknown field {_short(unknown[0])} in {what}")


def required_str(obj: Mapping[str, Any], name: str) -> str:
    if name not in obj:
        raise InvalidRequest(f"'{name}' is required")
    value = obj[name]
    if not isinstance(value, str):
        raise InvalidRequest(f"'{name}' must be a string")
    if has_lone_surrogate(value):
        raise InvalidRequest(f"'{name}' contains an unpaired surrogate")
    return value


def optional_str(obj: Mapping[str, Any], name: str, *, allow_null: bool = False) -> str | None:
    if name not in obj or (allow_null and obj[name] is None):
        return None
    return required_str(obj, name)


def optional_bool(obj: Mapping[str, Any], name: str) -> bool | None:
    if name not in obj:
        return None
    value = obj[name]
    if not isinstance(value, bool):
        raise InvalidRequest(f"'{name}' must be true or false")
    return value


def optional_int(obj: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    if name not in obj:
        return None
    value = obj[name]
    if not is_int(value):
        raise InvalidRequest(f"'{name}' must be an integer")
    if not low <= value <= high:
        raise InvalidRequest(f"'{name}' must be between {low} and {high}")
    return value


def required_int(obj: Mapping[str, Any], name: str, low: int, high: int) -> int:
    if name not in obj:
        raise InvalidRequest(f"'{name}' is required")
    value = optional_int(obj, name, low, high)
    assert value is not None
    return value


def matching(value: str, name: str, pattern: re.Pattern[str], rule: str) -> str:
    if not pattern.fullmatch(value):
        raise InvalidRequest(f"'{name}' must be {rule}")
    return value


def _short(value: str, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

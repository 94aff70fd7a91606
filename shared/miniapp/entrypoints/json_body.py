"""Turning raw bytes into a JSON object, with every way that can go wrong mapped to a typed error.

The parser is stricter than `json.loads` on purpose: UTF-8 only (no BOM, no UTF-16 sniffing), no
`NaN`/`Infinity` literals, no duplicate keys (two parsers reading one body differently is a classic
smuggling trick), and nesting too deep for Python's recursion is an InvalidRequest, not a crash.
"""

from __future__ import annotations

import json
from typing import Any

from ..domain.limits import MAX_BODY_BYTES
from ..errors import InvalidRequest, PayloadTooLarge


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class _DuplicateKey(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


class BodyHead(bytes):
    """The first bytes of a body too large to read whole, with the body's real size: enough to
    refuse it, and to say truly how large it was."""

    size: int

    def __new__(cls, head: bytes, size: int) -> BodyHead:
        value = super().__new__(cls, head)
        value.size = size
        return value


def parse_json_object(raw: bytes | bytearray | str) -> dict[str, Any]:
    """The body as a dict, or PayloadTooLarge / InvalidRequest. Nothing else escapes."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    size = raw.size if isinstance(raw, BodyHead) else len(raw)
    if size > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is {size} bytes; the limit is {MAX_BODY_BYTES}")
    if not raw.strip():
        raise InvalidRequest("body is empty; a JSON object is required")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("body is not UTF-8") from None
    try:
        value = json.loads(
            text, parse_constant=_reject_constant, object_pairs_hook=_object_without_duplicates
        )
    except RecursionError:
        raise InvalidRequest("body is nested too deeply") from None
    except _DuplicateKey:
        raise InvalidRequest("body has a duplicate key") from None
    except ValueError:  # JSONDecodeError, duplicate keys, constants, over-long integers
        raise InvalidRequest("body is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidRequest("body must be a JSON object")
    return value

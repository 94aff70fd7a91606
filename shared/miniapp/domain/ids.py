"""Server-generated item ids of the declared collections, and the key a client may give an add
(an order's create) so that sending it twice writes once.

Ids are 128 bits, ULID-style: a 48-bit millisecond timestamp then 80 random bits, written as 26
Crockford base32 characters. Sorting ids as strings sorts items by creation time (to the
millisecond), which is the order Tablestore keeps rows in, so `list` needs no secondary index.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import InvalidRequest
from .limits import IDEMPOTENCY_KEY_MAX

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ITEM_ID_LENGTH = 26
ITEM_ID_PATTERN = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_TIMESTAMP_MAX = 2**48 - 1
IDEMPOTENCY_KEY = re.compile(rf"[A-Za-z0-9_-]{{1,{IDEMPOTENCY_KEY_MAX}}}")


def new_item_id(now_ms: int, random_bytes: Callable[[int], bytes]) -> str:
    if not 0 <= now_ms <= _TIMESTAMP_MAX:
        raise ValueError("timestamp out of range for an item id")
    value = (now_ms << 80) | int.from_bytes(random_bytes(10), "big")
    chars = []
    for _ in range(ITEM_ID_LENGTH):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_item_id(value: str) -> bool:
    return bool(ITEM_ID_PATTERN.fullmatch(value))


def check_item_id(value: str, what: str = "item", name: str = "id") -> str:
    if not is_item_id(value):
        raise InvalidRequest(f"'{name}' must be a {what} id (26 characters, Crockford base32)")
    return value


def check_idempotency_key(value: str) -> str:
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise InvalidRequest(
            f"'idempotencyKey' must be 1 to {IDEMPOTENCY_KEY_MAX} characters of A-Z a-z 0-9 _ -"
        )
    return value


def id_time_ms(item_id: str) -> int:
    """When an id was made (its 48-bit timestamp), ms since the epoch."""
    value = 0
    for char in item_id[:10]:
        value = value * 32 + CROCKFORD.index(char)
    return value  # 10 characters hold 50 bits: 2 of padding (26 x 5 = 130 for 128), then the 48


def first_id_at(time_ms: int) -> str:
    """The smallest id made at `time_ms`: every id made before sorts before it."""
    return new_item_id(time_ms, lambda n: bytes(n))

"""The v2 `list` cursor: opaque to clients, bound to the user and collection it was issued for.

A cursor is base64url (no padding) of the id of the last item a page looked at (26 characters)
followed by a 16-byte HMAC-SHA256 of (user, collection, id) under a key derived from DATA_KEY:
56 characters. The parser checks that shape; the service checks the MAC. A cursor from
another user or collection, or edited by hand, fails the MAC and is refused: it can never name a
position, let alone a row, outside the caller's own range.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from ..errors import InvalidRequest
from .ids import is_item_id

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_MAC_BYTES = 16
CURSOR_CHARS = 56  # base64url of 26 + 16 bytes
_REFUSED = "'cursor' is not a cursor this API returned for this collection"


def _mac(key: bytes, user_id: str, collection: str, position: str) -> bytes:
    message = "\0".join((user_id, collection, position)).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_cursor(key: bytes, user_id: str, collection: str, position: str) -> str:
    raw = position.encode("utf-8") + _mac(key, user_id, collection, position)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _split(cursor: str) -> tuple[str, bytes]:
    if not (len(cursor) == CURSOR_CHARS and _BASE64URL.fullmatch(cursor)):
        raise InvalidRequest(_REFUSED)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = raw[:-_MAC_BYTES].decode("ascii")
    except (binascii.Error, ValueError):
        raise InvalidRequest(_REFUSED) from None
    if not is_item_id(position) or base64.urlsafe_b64encode(raw).decode().rstrip("=") != cursor:
        raise InvalidRequest(_REFUSED)  # non-canonical spellings would alias positions
    return position, raw[-_MAC_BYTES:]


def check_cursor_shape(cursor: str) -> str:
    """What the parser can check without knowing the caller."""
    _split(cursor)
    return cursor


def decode_cursor(key: bytes, user_id: str, collection: str, cursor: str) -> str:
    position, mac = _split(cursor)
    if not hmac.compare_digest(mac, _mac(key, user_id, collection, position)):
        raise InvalidRequest(_REFUSED)
    return position

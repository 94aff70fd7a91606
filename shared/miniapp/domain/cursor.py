"""The v2 `list` cursor: base64url (no padding) of the id of the last row a page looked at.
Clients must treat it as opaque; on the way back in it is decoded and checked like an id, so a
forged cursor can only ever name a position inside the caller's own rows."""
from __future__ import annotations

import base64
import binascii
import re

from ..errors import InvalidRequest
from .compat import check_item_id
from .limits import COMPAT_ID_MAX_BYTES

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_MAX_CURSOR_CHARS = (COMPAT_ID_MAX_BYTES * 4 + 2) // 3


def encode_cursor(item_id: str) -> str:
    return base64.urlsafe_b64encode(item_id.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    if not (1 <= len(cursor) <= _MAX_CURSOR_CHARS and _BASE64URL.fullmatch(cursor)):
        raise InvalidRequest("'cursor' is not a cursor this API returned")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        item_id = raw.decode("utf-8")
        check_item_id(item_id, "cursor")
    except (binascii.Error, ValueError, InvalidRequest):
        raise InvalidRequest("'cursor' is not a cursor this API returned") from None
    if encode_cursor(item_id) != cursor:  # non-canonical spellings would alias positions
        raise InvalidRequest("'cursor' is not a cursor this API returned")
    return item_id

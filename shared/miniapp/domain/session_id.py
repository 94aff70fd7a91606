"""Session ids and the keys they are stored under. The id is 256 bits from `secrets`, given to the
client once; the store only ever sees its SHA-256, so a leaked session table opens nothing."""

from __future__ import annotations

import hashlib
import re
import secrets

SESSION_ID_BYTES = 32
# token_urlsafe(32): 43 characters of base64url, no padding.
SESSION_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")


def new_session_id() -> str:
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def is_session_id(value: str) -> bool:
    """Only ids we could have issued are looked up: anything else is SessionNotFound at once."""
    return bool(SESSION_ID_PATTERN.fullmatch(value))


def session_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()

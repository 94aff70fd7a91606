"""Secrets at rest and keyed hashes, with nothing from the domain.

- `TokenCipher`: AES-256-GCM (`cryptography`) for the Alipay tokens in a session row. Each value
  gets a fresh random 96-bit nonce; the row's key (the SHA-256 of the sessionId) is the associated
  data, so a ciphertext copied into another row does not decrypt. Layout: version byte 0x01,
  nonce (12 bytes), ciphertext with its 16-byte tag.
- `UserHasher`: HMAC-SHA256 of the user id, so logs and STS session names can be correlated
  without holding the Alipay user id. Its key is derived from the data key with a label, so the
  one secret parameter serves both purposes without reusing the same key for two algorithms.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable

_VERSION = b"\x01"
_NONCE_BYTES = 12
DATA_KEY_BYTES = 32


def parse_data_key(text: str) -> bytes | None:
    """The data key from its base64 text (standard or URL-safe, padding optional), or None when
    it is not DATA_KEY_BYTES bytes. `make deploy` checks the DataKey with this same rule."""
    raw = text.strip()
    try:
        key = base64.b64decode(raw.replace("-", "+").replace("_", "/") + "=" * (-len(raw) % 4),
                               validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == DATA_KEY_BYTES else None


class DecryptionFailed(Exception):
    """The ciphertext was altered, belongs to another row, or was sealed with another key."""


def derive_key(data_key: bytes, label: str) -> bytes:
    return hmac.new(data_key, b"miniapp/" + label.encode("ascii"), hashlib.sha256).digest()


class TokenCipher:
    def __init__(
        self, key: bytes, random_bytes: Callable[[int], bytes] = secrets.token_bytes
    ) -> None:
        if len(key) != DATA_KEY_BYTES:
            raise ValueError("the data key must be 32 bytes")
        # Imported here, not at module import: the db function never needs it.
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)
        self._random_bytes = random_bytes

    def seal(self, plaintext: str, associated: str) -> bytes:
        nonce = self._random_bytes(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"),
                                                     associated.encode("utf-8"))

    def open(self, blob: bytes, associated: str) -> str:
        from cryptography.exceptions import InvalidTag

        if len(blob) < 1 + _NONCE_BYTES + 16 or blob[:1] != _VERSION:
            raise DecryptionFailed("not a sealed value")
        nonce, sealed = blob[1:1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, sealed, associated.encode("utf-8")).decode("utf-8")
        except InvalidTag:
            raise DecryptionFailed("authentication failed") from None

    def __repr__(self) -> str:
        return "TokenCipher(<key redacted>)"


class UserHasher:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, user_id: str) -> str:
        """32 hex characters (128 bits): enough to never collide, short enough for a log field."""
        return hmac.new(self._key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def __repr__(self) -> str:
        return "UserHasher(<key redacted>)"

"""Secrets at rest and keyed hashes, with nothing from the domain.

- `KeyRing`: the data keys, by id, and which one seals now. Its text form (the `DataKey` secret)
  is `id:base64` entries joined by commas, the current key first (`2:AAAA...,1:BBBB...`); a bare
  base64 key is a ring of one key with id `1`. Rotating adds a key in front; old ones stay so
  tokens sealed under them still open.
- `TokenCipher`: AES-256-GCM (`cryptography`) for the Alipay tokens in a session row. Each value
  gets a fresh random 96-bit nonce; the row's key (the SHA-256 of the sessionId) is the associated
  data, so a ciphertext copied into another row does not decrypt. Layout: version byte 0x02, the
  key id's length (1 byte) and the id, nonce (12 bytes), ciphertext with its 16-byte tag. Values
  sealed before key rings (version 0x01, no id) open with whichever key of the ring sealed them.
- `UserHasher`: HMAC-SHA256 of the user id, so logs and STS session names can be correlated
  without holding the Alipay user id. Its key is derived with a label from the hash key, a
  secret both functions hold; the db function holds no data key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

_LEGACY = b"\x01"  # before key rings: no key id
_VERSION = b"\x02"
_NONCE_BYTES = 12
_TAG_BYTES = 16
DATA_KEY_BYTES = 32
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def parse_data_key(text: str) -> bytes | None:
    """The data key from its base64 text (standard or URL-safe, padding optional), or None when
    it is not DATA_KEY_BYTES bytes. `make deploy` checks the DataKey with this same rule."""
    raw = text.strip()
    try:
        key = base64.b64decode(
            raw.replace("-", "+").replace("_", "/") + "=" * (-len(raw) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == DATA_KEY_BYTES else None


@dataclass(frozen=True)
class KeyRing:
    """Data keys by id; `current_id` names the one that seals. Build with `parse_key_ring`."""

    current_id: str
    keys: Mapping[str, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if self.current_id not in self.keys or not all(
            _KEY_ID.fullmatch(k) and len(v) == DATA_KEY_BYTES for k, v in self.keys.items()
        ):
            raise ValueError(
                "a key ring holds 32-byte keys under ids of [A-Za-z0-9_-]{1,32}, "
                "the current one among them"
            )

    @classmethod
    def single(cls, key: bytes, key_id: str = "1") -> KeyRing:
        return cls(key_id, {key_id: key})

    def rotated(self, new_id: str, key: bytes) -> KeyRing:
        """A ring whose current key is `key` under `new_id`, the old keys kept."""
        if new_id in self.keys:
            raise ValueError(f"key id {new_id!r} is already in the ring")
        return KeyRing(new_id, {new_id: key, **self.keys})

    def text(self) -> str:
        """The ring's text form, current key first (what `parse_key_ring` reads)."""
        order = [self.current_id, *(k for k in self.keys if k != self.current_id)]
        return ",".join(f"{k}:{base64.b64encode(self.keys[k]).decode()}" for k in order)


def parse_key_ring(text: str) -> KeyRing | None:
    """A key ring from its text form (or a bare base64 key), or None when any entry is not
    DATA_KEY_BYTES bytes of base64 under a valid, unique id."""
    raw = text.strip()
    if ":" not in raw:
        key = parse_data_key(raw)
        return None if key is None else KeyRing.single(key)
    keys: dict[str, bytes] = {}
    for entry in raw.split(","):
        key_id, _, encoded = entry.strip().partition(":")
        key = parse_data_key(encoded)
        if not _KEY_ID.fullmatch(key_id) or key is None or key_id in keys:
            return None
        keys[key_id] = key
    return KeyRing(next(iter(keys)), keys)


class DecryptionFailed(Exception):
    """The ciphertext was altered, belongs to another row, or was sealed with another key."""


def derive_key(data_key: bytes, label: str) -> bytes:
    return hmac.new(data_key, b"miniapp/" + label.encode("ascii"), hashlib.sha256).digest()


class TokenCipher:
    """Seals with the ring's current key; opens with the key the sealed value names."""

    def __init__(
        self, keys: KeyRing | bytes, random_bytes: Callable[[int], bytes] = secrets.token_bytes
    ) -> None:
        if isinstance(keys, bytes):
            if len(keys) != DATA_KEY_BYTES:
                raise ValueError("the data key must be 32 bytes")
            keys = KeyRing.single(keys)
        # Imported here, not at module import: the db function never needs it.
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._current = keys.current_id
        self._aeads = {key_id: AESGCM(key) for key_id, key in keys.keys.items()}
        self._random_bytes = random_bytes

    def seal(self, plaintext: str, associated: str) -> bytes:
        nonce = self._random_bytes(_NONCE_BYTES)
        key_id = self._current.encode("ascii")
        return (
            _VERSION
            + bytes([len(key_id)])
            + key_id
            + nonce
            + self._aeads[self._current].encrypt(
                nonce, plaintext.encode("utf-8"), associated.encode("utf-8")
            )
        )

    def open(self, blob: bytes, associated: str) -> str:
        from cryptography.exceptions import InvalidTag

        if blob[:1] == _VERSION and len(blob) > 2:
            end = 2 + blob[1]
            aeads = [self._aeads.get(blob[2:end].decode("ascii", "replace"))]
        elif blob[:1] == _LEGACY:
            end, aeads = 1, list(self._aeads.values())  # sealed before rings: any key may fit
        else:
            raise DecryptionFailed("not a sealed value")
        nonce, sealed = blob[end : end + _NONCE_BYTES], blob[end + _NONCE_BYTES :]
        if len(nonce) < _NONCE_BYTES or len(sealed) < _TAG_BYTES or aeads == [None]:
            raise DecryptionFailed("not a sealed value, or sealed with a key not in the ring")
        for aead in aeads:
            try:
                assert aead is not None
                return aead.decrypt(nonce, sealed, associated.encode("utf-8")).decode("utf-8")
            except InvalidTag:
                continue
        raise DecryptionFailed("authentication failed")

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

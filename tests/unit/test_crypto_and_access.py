"""Tokens at rest, keyed hashes, the client's STS policy and session name."""

from __future__ import annotations

import base64
import os

import pytest

from miniapp.crypto import (
    DecryptionFailed,
    KeyRing,
    TokenCipher,
    UserHasher,
    derive_key,
    parse_key_ring,
)
from miniapp.domain.access import DbFunctionRef, client_policy, role_session_name


def test_a_sealed_token_opens_with_its_row_key() -> None:
    cipher = TokenCipher(os.urandom(32))
    assert cipher.open(cipher.seal("access-token", "row-a"), "row-a") == "access-token"


def test_a_sealed_token_does_not_contain_the_plaintext() -> None:
    assert b"access-token" not in TokenCipher(os.urandom(32)).seal("access-token", "row-a")


def test_sealing_twice_gives_different_ciphertexts() -> None:
    cipher = TokenCipher(os.urandom(32))
    assert cipher.seal("t", "row-a") != cipher.seal("t", "row-a")


def test_a_ciphertext_moved_to_another_row_does_not_open() -> None:
    cipher = TokenCipher(os.urandom(32))
    with pytest.raises(DecryptionFailed):
        cipher.open(cipher.seal("t", "row-a"), "row-b")


def test_a_ciphertext_under_another_key_does_not_open() -> None:
    blob = TokenCipher(os.urandom(32)).seal("t", "row-a")
    with pytest.raises(DecryptionFailed):
        TokenCipher(os.urandom(32)).open(blob, "row-a")


def test_a_tampered_ciphertext_does_not_open() -> None:
    cipher = TokenCipher(os.urandom(32))
    blob = bytearray(cipher.seal("t", "row-a"))
    blob[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        cipher.open(bytes(blob), "row-a")


def test_a_data_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        TokenCipher(b"short")


def test_the_user_hash_is_keyed_and_stable() -> None:
    key = derive_key(os.urandom(32), "user-hash/v1")
    assert UserHasher(key)("2088") == UserHasher(key)("2088")
    assert UserHasher(key)("2088") != UserHasher(derive_key(os.urandom(32), "user-hash/v1"))("2088")
    assert len(UserHasher(key)("2088")) == 32


def test_derived_keys_differ_by_label() -> None:
    data_key = os.urandom(32)
    assert derive_key(data_key, "a") != derive_key(data_key, "b")


def test_the_policy_allows_invoking_the_db_function_only() -> None:
    policy = client_policy(DbFunctionRef("cn-hangzhou", "123", "todo", "db"))
    assert policy == {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["fc:InvokeFunction"],
                "Resource": [
                    "acs:fc:cn-hangzhou:123:services/todo/functions/db",
                    "acs:fc:cn-hangzhou:123:services/todo.*/functions/db",
                ],
            }
        ],
    }


def test_the_role_session_name_fits_sts_rules() -> None:
    name = role_session_name("0123456789abcdef" * 2)
    assert name == "u-0123456789abcdef0123456789abcd" and len(name) == 32


def test_the_role_session_name_refuses_anything_but_a_hash() -> None:
    with pytest.raises(ValueError):
        role_session_name("has space/slash")


# ---- the data key ring -------------------------------------------------------------------------


def _ring_text(*entries: tuple[str, bytes]) -> str:
    return ",".join(f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in entries)


def test_a_bare_key_is_a_ring_of_one_key_with_id_1() -> None:
    key = os.urandom(32)
    ring = parse_key_ring(base64.b64encode(key).decode())
    assert ring == KeyRing("1", {"1": key})


def test_the_first_entry_of_a_ring_is_the_current_key() -> None:
    new, old = os.urandom(32), os.urandom(32)
    ring = parse_key_ring(_ring_text(("2", new), ("1", old)))
    assert ring is not None and ring.current_id == "2" and ring.keys == {"2": new, "1": old}
    assert parse_key_ring(ring.text()) == ring


@pytest.mark.parametrize(
    "text",
    [
        _ring_text(("1", b"short")),
        _ring_text(("1", os.urandom(32)), ("1", os.urandom(32))),
        _ring_text(("bad id", os.urandom(32))),
        "1:" + "not base64!" * 4,
        "",
    ],
    ids=["short key", "id twice", "id with a space", "not base64", "empty"],
)
def test_a_malformed_ring_is_refused(text: str) -> None:
    assert parse_key_ring(text) is None


def test_after_a_rotation_old_tokens_open_and_new_ones_use_the_new_key() -> None:
    ring = KeyRing.single(os.urandom(32))
    old_blob = TokenCipher(ring).seal("old-token", "row-a")
    rotated = ring.rotated("2", os.urandom(32))
    cipher = TokenCipher(rotated)
    assert cipher.open(old_blob, "row-a") == "old-token"
    new_blob = cipher.seal("new-token", "row-b")
    assert new_blob[:3] == b"\x02\x012"  # layout version, id length, the id "2"
    with pytest.raises(DecryptionFailed):
        TokenCipher(ring).open(new_blob, "row-b")  # the old ring lacks the new key


def test_a_token_sealed_before_key_rings_still_opens() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, nonce = os.urandom(32), os.urandom(12)
    legacy = b"\x01" + nonce + AESGCM(key).encrypt(nonce, b"2020-token", b"row-a")
    ring = KeyRing.single(key).rotated("2", os.urandom(32))
    assert TokenCipher(ring).open(legacy, "row-a") == "2020-token"


def test_a_token_naming_a_key_not_in_the_ring_does_not_open() -> None:
    blob = TokenCipher(KeyRing("7", {"7": os.urandom(32)})).seal("t", "row-a")
    with pytest.raises(DecryptionFailed):
        TokenCipher(os.urandom(32)).open(blob, "row-a")


def test_a_ring_never_shows_its_keys() -> None:
    key = os.urandom(32)
    assert base64.b64encode(key).decode() not in repr(KeyRing.single(key))

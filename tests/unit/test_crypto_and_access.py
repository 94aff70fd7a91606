"""Tokens at rest, keyed hashes, the client's STS policy and session name."""
from __future__ import annotations

import os

import pytest

from miniapp.crypto import DecryptionFailed, TokenCipher, UserHasher, derive_key
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
    assert policy == {"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": ["fc:InvokeFunction"],
        "Resource": ["acs:fc:cn-hangzhou:123:services/todo/functions/db",
                     "acs:fc:cn-hangzhou:123:services/todo.*/functions/db"]}]}


def test_the_role_session_name_fits_sts_rules() -> None:
    name = role_session_name("0123456789abcdef" * 2)
    assert name == "u-0123456789abcdef0123456789abcd" and len(name) == 32


def test_the_role_session_name_refuses_anything_but_a_hash() -> None:
    with pytest.raises(ValueError):
        role_session_name("has space/slash")

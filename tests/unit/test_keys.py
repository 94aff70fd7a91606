"""`adapters.keys.private_key`: the full check (`make deploy`) and the cold start's check without
the primality tests agree on every key a person can paste, and part only on factors that are not
prime, which the full check refuses."""

from __future__ import annotations

import base64
import math

import pytest
from Cryptodome.PublicKey import RSA
from Cryptodome.Util.number import getPrime, inverse

from miniapp.adapters.keys import KeyFormatError, private_key, private_key_pem

E = 65537


@pytest.fixture(scope="module")
def key() -> RSA.RsaKey:
    return RSA.generate(2048)


def _bare(pem: bytes) -> str:
    return "".join(line for line in pem.decode().splitlines() if not line.startswith("-----"))


def _forms(key: RSA.RsaKey) -> list[str]:
    pkcs1, pkcs8 = key.export_key(pkcs=1), key.export_key(pkcs=8)
    return [
        pkcs1.decode(),
        pkcs8.decode(),
        _bare(pkcs1),
        _bare(pkcs8),
        pkcs1.decode().replace("\n", "\\n"),
    ]


def test_both_checks_read_every_form_to_the_same_key(key: RSA.RsaKey) -> None:
    for text in _forms(key):
        full, quick = private_key(text), private_key(text, check_primes=False)
        assert (quick.n, quick.e, quick.d, quick.p * quick.q) == (key.n, key.e, key.d, key.n)
        assert (full.n, full.d) == (key.n, key.d)
        assert private_key_pem(text) == quick.export_key(pkcs=1).decode()


@pytest.mark.parametrize("check_primes", [True, False])
def test_a_key_whose_exponents_do_not_match_is_refused(key: RSA.RsaKey, check_primes: bool) -> None:
    broken = RSA.construct((key.n, key.e, key.d + 2, key.p, key.q), consistency_check=False)
    with pytest.raises(KeyFormatError):
        private_key(broken.export_key().decode(), check_primes=check_primes)


@pytest.mark.parametrize("check_primes", [True, False])
def test_a_public_key_or_junk_is_refused_without_quoting_it(
    key: RSA.RsaKey, check_primes: bool
) -> None:
    public = key.public_key().export_key().decode()
    with pytest.raises(KeyFormatError, match="got a public key"):
        private_key(public, check_primes=check_primes)
    junk = base64.b64encode(b"not a key at all").decode()
    with pytest.raises(KeyFormatError) as raised:
        private_key(junk, check_primes=check_primes)
    assert junk not in str(raised.value)
    with pytest.raises(KeyFormatError):
        private_key("   ", check_primes=check_primes)


def test_a_pkcs8_key_under_the_rsassa_pss_algorithm_passes_both_checks(key: RSA.RsaKey) -> None:
    """pycryptodomex's own import (the full check, `make deploy`) reads it, so the cold start's
    check must too, or a key that deploys would fail every cold start."""
    from Cryptodome.IO import PEM, PKCS8

    der = PKCS8.wrap(key.export_key(format="DER", pkcs=1), "1.2.840.113549.1.1.10")
    text = PEM.encode(der, "PRIVATE KEY")
    assert private_key(text).n == private_key(text, check_primes=False).n == key.n
    other = PEM.encode(
        PKCS8.wrap(key.export_key(format="DER", pkcs=1), "1.2.840.10045.2.1"), "PRIVATE KEY"
    )
    with pytest.raises(KeyFormatError):
        private_key(other, check_primes=False)


def test_only_the_full_check_refuses_a_factor_that_is_not_prime() -> None:
    """What the cold start leaves to `make deploy` (scripts/deploy.py checks with the full
    check): a key built from a composite factor, which no key generator makes."""
    while True:
        p, q = getPrime(256) * getPrime(256), getPrime(512)
        lcm = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
        if math.gcd(E, lcm) == 1:
            break
    text = (
        RSA.construct((p * q, E, inverse(E, lcm), p, q), consistency_check=False)
        .export_key()
        .decode()
    )
    with pytest.raises(KeyFormatError):
        private_key(text)
    assert private_key(text, check_primes=False).n == p * q

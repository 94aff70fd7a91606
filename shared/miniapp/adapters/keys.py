"""RSA key text as operators paste it, normalised to the PEM the Alipay SDK needs.

Alipay's console hands out keys as bare base64 (no header lines, sometimes PKCS#1, sometimes
PKCS#8), and template parameters often arrive with their newlines escaped as a literal `\\n`.
The SDK's `RSA.importKey` only understands PEM with header lines, so we parse whatever came and
write it back as PEM. Errors never quote the key text.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # imported when a key is first read (see _load)
    from Cryptodome.PublicKey.RSA import RsaKey


class KeyFormatError(ValueError):
    """The text is not an RSA key of the expected kind (the message never contains the key)."""


def _key_bytes(text: str) -> tuple[bool, bytes]:
    """(is PEM, the bytes to parse) of key text as pasted."""
    text = text.strip().replace("\\n", "\n")
    if not text:
        raise KeyFormatError("key is empty")
    try:
        if text.startswith("-----BEGIN"):
            return True, text.encode("ascii")
        return False, base64.b64decode("".join(text.split()), validate=True)
    except (ValueError, binascii.Error):
        raise KeyFormatError("not an RSA key in PEM or base64 DER form") from None


def _load(text: str) -> RsaKey:
    from Cryptodome.PublicKey import RSA  # comes with python-alipay-sdk

    _, data = _key_bytes(text)
    try:
        return RSA.import_key(data)
    except (ValueError, IndexError, TypeError):
        raise KeyFormatError("not an RSA key in PEM or base64 DER form") from None


def private_key(text: str, *, check_primes: bool = True) -> RsaKey:
    """The private key, parsed and checked.

    With `check_primes` (what `make deploy` checks a key with): pycryptodomex's consistency
    check, which tests that both factors are prime, about 85 ms on python3.10 here.
    Without (what the session function does at every cold start): the key's numbers are read
    with pycryptodomex's own PEM, PKCS#8 and DER decoders and checked for everything a damaged
    or mispasted key gets wrong: the factors multiply to the modulus and the exponents invert
    each other modulo lcm(p-1, q-1), the other rules of that consistency check. Factors that are
    not prime only come from a broken key generator, not from copying a key, and `make deploy`
    refuses them before they ship. (`cryptography`'s parser would serve too, but its
    serialization module loads its SSH and X.509 code at every cold start: docs/speed.md.)"""
    if check_primes:
        key = _load(text)
        if not key.has_private():
            raise KeyFormatError("expected an RSA private key, got a public key")
        return key
    from Cryptodome.PublicKey import RSA

    numbers = _private_numbers(text)
    if numbers is None:
        if _load(text).has_private():  # junk raises here; a public key is told apart
            raise KeyFormatError("not an RSA key in PEM or base64 DER form") from None
        raise KeyFormatError("expected an RSA private key, got a public key") from None
    n, e, d, p, q = numbers
    if not (
        1 < e < n
        and 1 < d < n
        and n % 2 == 1
        and 2 < p < n
        and 2 < q < n
        and p * q == n
        and math.gcd(n, e) == 1
        and math.gcd(n, d) == 1
        and e * d % ((p - 1) * (q - 1) // math.gcd(p - 1, q - 1)) == 1
    ):
        raise KeyFormatError("not a consistent RSA private key")
    return RSA.construct((n, e, d, p, q), consistency_check=False)


# The PKCS#8 algorithms of an RSA key: rsaEncryption, and RSASSA-PSS, which pycryptodomex's own
# import (`make deploy`'s check) accepts too.
_RSA_ALGORITHMS = {"1.2.840.113549.1.1.1", "1.2.840.113549.1.1.10"}


def _private_numbers(text: str) -> tuple[int, int, int, int, int] | None:
    """(n, e, d, p, q) of an unencrypted RSA private key in PKCS#1 or PKCS#8, PEM or bare DER;
    None when the text is not one."""
    from Cryptodome.IO import PEM, PKCS8
    from Cryptodome.Util.asn1 import DerSequence

    is_pem, data = _key_bytes(text)
    try:
        der = PEM.decode(data.decode("ascii"))[0] if is_pem else data
    except (ValueError, IndexError, TypeError):
        return None  # not PEM, or an encrypted one
    try:
        algorithm, der, _ = PKCS8.unwrap(der)
    except (ValueError, IndexError, TypeError):
        pass  # not PKCS#8: a PKCS#1 RSAPrivateKey itself
    else:
        if algorithm not in _RSA_ALGORITHMS:
            return None
    try:
        # RSAPrivateKey: version (0: two primes), n, e, d, p, q, d mod (p-1), d mod (q-1), q^-1
        fields = DerSequence()
        fields.decode(der, nr_elements=9, only_ints_expected=True)
    except (ValueError, IndexError, TypeError):
        return None
    # Integers (only_ints_expected); pycryptodomex's type stub says an item is None.
    version, n, e, d, p, q = (cast(int, fields[i]) for i in range(6))
    return (n, e, d, p, q) if version == 0 else None


def pem(key: RsaKey) -> str:
    return key.export_key(format="PEM", pkcs=1).decode("ascii")


def private_key_pem(text: str) -> str:
    return pem(private_key(text))


def certificate_pem(text: str) -> str:
    """An X.509 certificate (Alipay's public key certificate) as PEM, from PEM, PEM with `\\n`
    escapes or bare base64 DER. Only the first certificate of a PEM text is kept."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    text = text.strip().replace("\\n", "\n")
    if not text:
        raise KeyFormatError("certificate is empty")
    try:
        if text.startswith("-----BEGIN"):
            cert = x509.load_pem_x509_certificate(text.encode("ascii"))
        else:
            cert = x509.load_der_x509_certificate(
                base64.b64decode("".join(text.split()), validate=True)
            )
    except (ValueError, UnicodeEncodeError, binascii.Error):
        raise KeyFormatError("not an X.509 certificate in PEM or base64 DER form") from None
    return cert.public_bytes(Encoding.PEM).decode("ascii")


def public_key_pem(text: str) -> str:
    key = _load(text)
    if key.has_private():
        # A private key in the public slot is a pasting mistake; never use it as a public key.
        raise KeyFormatError("expected an RSA public key, got a private key")
    return key.export_key(format="PEM").decode("ascii")

"""RSA key text as operators paste it, normalised to the PEM the Alipay SDK needs.

Alipay's console hands out keys as bare base64 (no header lines, sometimes PKCS#1, sometimes
PKCS#8), and template parameters often arrive with their newlines escaped as a literal `\\n`.
The SDK's `RSA.importKey` only understands PEM with header lines, so we parse whatever came and
write it back as PEM. Errors never quote the key text.
"""
from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a key is first read (see _load)
    from Cryptodome.PublicKey.RSA import RsaKey


class KeyFormatError(ValueError):
    """The text is not an RSA key of the expected kind (the message never contains the key)."""


def _load(text: str) -> RsaKey:
    from Cryptodome.PublicKey import RSA  # comes with python-alipay-sdk

    text = text.strip().replace("\\n", "\n")
    if not text:
        raise KeyFormatError("key is empty")
    try:
        if text.startswith("-----BEGIN"):
            return RSA.import_key(text)
        der = base64.b64decode("".join(text.split()), validate=True)
        return RSA.import_key(der)
    except (ValueError, IndexError, TypeError, binascii.Error):
        raise KeyFormatError("not an RSA key in PEM or base64 DER form") from None


def private_key(text: str) -> RsaKey:
    """The key, parsed and checked (pycryptodomex's consistency check: about 85 ms on python3.10
    here, most of it testing that its two primes are prime), once per FC instance."""
    key = _load(text)
    if not key.has_private():
        raise KeyFormatError("expected an RSA private key, got a public key")
    return key


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
                base64.b64decode("".join(text.split()), validate=True))
    except (ValueError, UnicodeEncodeError, binascii.Error):
        raise KeyFormatError("not an X.509 certificate in PEM or base64 DER form") from None
    return cert.public_bytes(Encoding.PEM).decode("ascii")


def public_key_pem(text: str) -> str:
    key = _load(text)
    if key.has_private():
        # A private key in the public slot is a pasting mistake; never use it as a public key.
        raise KeyFormatError("expected an RSA public key, got a private key")
    return key.export_key(format="PEM").decode("ascii")

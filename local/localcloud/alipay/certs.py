"""The local gateway as a certificate authority, for apps in certificate mode.

In certificate mode ("公钥证书") the Alipay console hands the developer three files instead of
Alipay's bare public key: the app's public key certificate (`appCertPublicKey_<AppId>.crt`),
Alipay's public key certificate (`alipayCertPublicKey_RSA2.crt`) and Alipay's root certificate
chain (`alipayRootCert.crt`). Each request carries `app_cert_sn` and `alipay_root_cert_sn`; each
reply carries `alipay_cert_sn`. Here the gateway plays the authority: on first start it makes a
root and issues both certificates from it, over the key pairs `keys.py` keeps (the app's and
Alipay's), and writes them beside those keys. Later starts load them; a certificate whose key no
longer matches is issued again.

Serial numbers ("SN") are computed as python-alipay-sdk's `DCAliPay.get_cert_sn` does, which is
also Alipay's documented rule: MD5 (hex) of the issuer written `CN=..,OU=..,O=..,C=..` followed by
the certificate's serial number in decimal. Our issuer names have exactly those four attributes,
so the SDK's string and Alipay's (the RFC 2253 form of the issuer) are the same. The root SN is
the SNs of the chain's RSA-signed certificates joined by `_`; like Alipay's chain, ours also holds
a certificate that is not RSA-signed (an ECDSA root, standing in for Alipay's SM2 root), which the
rule skips. Certificates in the chain are separated by a blank line, as the SDK splits them.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID

from .keys import KEY_BITS, AlipayKeys, load_private_key, load_public_key, write_file

VALIDITY = datetime.timedelta(days=3650)
_ROOT_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Local Cloud"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Local Alipay Gateway"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Local Alipay Root CA"),
    ]
)
_EC_ROOT_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Local Cloud"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Local Alipay Gateway"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Local Alipay Root CA EC"),
    ]
)
_RSA_SIGNATURE_OID_PREFIX = "1.2.840.113549.1.1."


@dataclass(frozen=True)
class AlipayCertificates:
    root_cert_file: Path  # alipayRootCert.crt: the chain, for alipay_root_cert_sn
    app_cert_file: Path  # appCertPublicKey_<AppId>.crt: the app's key, for app_cert_sn
    alipay_cert_file: Path  # alipayCertPublicKey_RSA2.crt: the key replies are verified with
    root_cert_sn: str
    app_cert_sn: str
    alipay_cert_sn: str


def ensure_certificates(keys_dir: Path | str, keys: AlipayKeys, app_id: str) -> AlipayCertificates:
    directory = Path(keys_dir)
    root_key_file = directory / "root_private_key.pem"
    ec_root_key_file = directory / "root_ec_private_key.pem"
    root_file = directory / "alipayRootCert.crt"
    app_file = directory / "appCertPublicKey.crt"
    alipay_file = directory / "alipayCertPublicKey_RSA2.crt"

    root_key = _rsa_key(root_key_file)
    ec_root_key = _ec_key(ec_root_key_file)
    if not _chain_matches(root_file, root_key, ec_root_key):
        root = _self_signed(_ROOT_NAME, root_key)
        ec_root = _self_signed(_EC_ROOT_NAME, ec_root_key)
        write_file(root_file, _pem(root) + b"\n" + _pem(ec_root), mode=0o644)
        # A new root invalidates what the old one issued.
        app_file.unlink(missing_ok=True)
        alipay_file.unlink(missing_ok=True)
    root_cert = read_chain(root_file.read_bytes())[0]
    for path, subject, key_file in (
        (app_file, app_id, keys.app_public_key_file),
        (alipay_file, "Local Alipay Gateway RSA2", keys.alipay_public_key_file),
    ):
        public_key = load_public_key(key_file)
        if not _issued_for(path, public_key, subject):
            cert = _issue(root_cert, root_key, subject, public_key)
            write_file(path, _pem(cert), mode=0o644)
    return AlipayCertificates(
        root_cert_file=root_file,
        app_cert_file=app_file,
        alipay_cert_file=alipay_file,
        root_cert_sn=root_cert_sn(root_file.read_bytes()),
        app_cert_sn=cert_sn(x509.load_pem_x509_certificate(app_file.read_bytes())),
        alipay_cert_sn=cert_sn(x509.load_pem_x509_certificate(alipay_file.read_bytes())),
    )


def cert_sn(cert: x509.Certificate) -> str:
    issuer = cert.issuer

    def part(oid: x509.ObjectIdentifier) -> str:
        values = issuer.get_attributes_for_oid(oid)
        # pyOpenSSL answers None for an absent attribute, and the SDK formats it as "None".
        return str(values[0].value) if values else "None"

    name = (
        f"CN={part(NameOID.COMMON_NAME)},OU={part(NameOID.ORGANIZATIONAL_UNIT_NAME)},"
        f"O={part(NameOID.ORGANIZATION_NAME)},C={part(NameOID.COUNTRY_NAME)}"
    )
    return hashlib.md5((name + str(cert.serial_number)).encode()).hexdigest()


def root_cert_sn(chain_pem: bytes) -> str:
    return "_".join(
        cert_sn(cert)
        for cert in read_chain(chain_pem)
        if cert.signature_algorithm_oid.dotted_string.startswith(_RSA_SIGNATURE_OID_PREFIX)
    )


def read_chain(chain_pem: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(chain_pem)


def issue_certificate(
    root_file: Path, root_key_file: Path, subject: str, public_key: rsa.RSAPublicKey
) -> bytes:
    """A certificate from this gateway's root for any key (tests make foreign ones with it)."""
    root = read_chain(root_file.read_bytes())[0]
    return _pem(_issue(root, load_private_key(root_key_file), subject, public_key))


def _issue(
    root: x509.Certificate, root_key: rsa.RSAPrivateKey, subject: str, public_key: rsa.RSAPublicKey
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Local Cloud"),
            x509.NameAttribute(NameOID.COMMON_NAME, subject),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(root.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )


def _self_signed(
    name: x509.Name, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _rsa_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        return load_private_key(path)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    write_file(
        path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        mode=0o600,
    )
    return key


def _ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key
    key = ec.generate_private_key(ec.SECP256R1())
    write_file(
        path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        mode=0o600,
    )
    return key


def _same_key(a: CertificatePublicKeyTypes, b: CertificatePublicKeyTypes) -> bool:
    def der(key: CertificatePublicKeyTypes) -> bytes:
        return key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    return der(a) == der(b)


def _chain_matches(
    path: Path, root_key: rsa.RSAPrivateKey, ec_root_key: ec.EllipticCurvePrivateKey
) -> bool:
    if not path.exists():
        return False
    try:
        chain = read_chain(path.read_bytes())
    except ValueError:
        return False
    return (
        len(chain) == 2
        and _same_key(chain[0].public_key(), root_key.public_key())
        and _same_key(chain[1].public_key(), ec_root_key.public_key())
    )


def _issued_for(path: Path, public_key: rsa.RSAPublicKey, subject: str) -> bool:
    if not path.exists():
        return False
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError:
        return False
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return _same_key(cert.public_key(), public_key) and bool(names) and names[0].value == subject

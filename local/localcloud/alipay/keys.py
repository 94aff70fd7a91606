"""The two RSA-2048 key pairs of the local Alipay gateway, kept as PEM files under `keys_dir`.

On the real platform the developer makes the *app* pair and uploads its public key, and Alipay
holds the *alipay* pair and publishes its public key. Locally both are generated on first start and
loaded on every later start, so a function configured once keeps working after a restart. PEM with
header lines because python-alipay-sdk imports keys with `RSA.importKey`, which needs them.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_BITS = 2048


@dataclass(frozen=True)
class AlipayKeys:
    app_private_key_file: Path  # the developer's app signs requests with it (goes to the function)
    app_public_key_file: Path  # "uploaded" to the gateway: it verifies request signatures
    alipay_private_key_file: Path  # the gateway signs its replies with it (never leaves it)
    alipay_public_key_file: Path  # the function verifies replies with it


def ensure_keys(keys_dir: Path | str) -> AlipayKeys:
    """Load both key pairs from `keys_dir`, generating whatever pair is missing."""
    directory = Path(keys_dir)
    directory.mkdir(parents=True, exist_ok=True)
    keys = AlipayKeys(
        app_private_key_file=directory / "app_private_key.pem",
        app_public_key_file=directory / "app_public_key.pem",
        alipay_private_key_file=directory / "alipay_private_key.pem",
        alipay_public_key_file=directory / "alipay_public_key.pem",
    )
    _ensure_pair(keys.app_private_key_file, keys.app_public_key_file)
    _ensure_pair(keys.alipay_private_key_file, keys.alipay_public_key_file)
    return keys


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path.name} does not hold an RSA private key")
    return key


def load_public_key(path: Path) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"{path.name} does not hold an RSA public key")
    return key


def rsa2_sign(key: rsa.RSAPrivateKey, text: str) -> str:
    """Alipay's RSA2: PKCS#1 v1.5 over SHA-256 of the UTF-8 text, base64 on one line."""
    signature = key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def rsa2_verify(key: rsa.RSAPublicKey, text: str, sign: str) -> bool:
    try:
        signature = base64.b64decode(sign, validate=True)
        key.verify(signature, text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def _ensure_pair(private_file: Path, public_file: Path) -> None:
    if private_file.exists():
        private_key = load_private_key(private_file)
    else:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        # PKCS#1 ("BEGIN RSA PRIVATE KEY"), the form python-alipay-sdk's README shows.
        write_file(
            private_file,
            private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            ),
            mode=0o600,
        )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if not public_file.exists() or public_file.read_bytes() != public_pem:
        # A public key that no longer matches its private key would only produce baffling
        # signature errors; it is derived data, so rewrite it.
        write_file(public_file, public_pem, mode=0o644)


def write_file(path: Path, data: bytes, *, mode: int) -> None:
    """Write atomically with `mode` from the first byte (a private key is never world-readable)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)  # os.open's mode is filtered by the umask
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

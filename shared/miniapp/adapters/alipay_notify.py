"""NotifyVerifier on python-alipay-sdk: its `verify(data, sign)` checks RSA2 over the fields but
`sign` and `sign_type`, sorted by name, written `k=v` with their decoded values and joined by
`&`, with Alipay's public key (key mode) or the key in Alipay's public key certificate
(certificate mode: the client is the SDK's DCAliPay, which takes the key from the certificate).

The SDK encodes that text as UTF-8 before checking it. Alipay signs a notify's text in the
notify's own `charset`, so for an app set up with another charset (GBK) the same check is made
here over the text in that charset, with the SDK's key and the same PKCS#1 v1.5 SHA-256 scheme.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .alipay import alipay_client


class AlipayNotifyVerifier:
    def __init__(
        self,
        app_id: str,
        alipay_public_key_pem: str,
        gateway_url: str,
        *,
        app_cert_sn: str = "",
        root_cert_sn: str = "",
    ) -> None:
        """A client without the app's private key: it signs nothing, it only verifies."""
        self._client = alipay_client(
            app_id,
            None,
            alipay_public_key_pem,
            gateway_url,
            5.0,
            app_cert_sn=app_cert_sn,
            root_cert_sn=root_cert_sn,
        )

    def verify(self, fields: dict[str, str], charset: str) -> bool:
        data = {k: v for k, v in fields.items() if k not in ("sign", "sign_type")}
        sign = fields.get("sign", "")
        try:
            if charset.replace("-", "").lower() == "utf8":
                return bool(self._client.verify(data, sign))
            return _verify(self._client.alipay_public_key, data, sign, charset)
        except (ValueError, TypeError, binascii.Error, UnicodeEncodeError):
            return False  # a sign that is not base64, a text the charset cannot hold


def _verify(key: Any, data: dict[str, str], sign: str, charset: str) -> bool:
    from Cryptodome.Hash import SHA256
    from Cryptodome.Signature import PKCS1_v1_5

    message = "&".join(f"{k}={v}" for k, v in sorted(data.items()))
    digest = SHA256.new(message.encode(charset))
    return bool(PKCS1_v1_5.new(key).verify(digest, base64.b64decode(sign)))

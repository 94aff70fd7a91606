"""Signed replies of `gateway.do`, written as text so the signature covers exactly the bytes the
SDK checks.

A reply is `{"<method_with_underscores>_response": {...}, "sign": "..."}` (or `error_response` in
place of the method key). python-alipay-sdk finds the method key in the raw text, takes the object
after it up to its matching brace (counting braces, blind to strings) and verifies `sign` over that
substring with the Alipay public key. So we serialise the object once, sign that very text and
splice it in; values of signed replies must not contain braces, and ours never do.
To an app in certificate mode a reply also names the certificate it was signed under:
`"alipay_cert_sn"` beside `"sign"`, outside the signed text (as the SDK's docstring shows).
Alipay answers HTTP 200 for errors too (urllib would raise on anything else), as text/html.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric import rsa

from ..httpshell import HttpResponse
from .errors import AlipayError
from .gateway import OAUTH_TOKEN, USER_INFO_SHARE
from .keys import rsa2_sign

CONTENT_TYPE = "text/html;charset=utf-8"  # what openapi.alipay.com sends for its JSON


def response_key(method: str) -> str:
    """`alipay.system.oauth.token` -> `alipay_system_oauth_token_response`."""
    return method.replace(".", "_") + "_response"


class ReplyWriter:
    def __init__(self, alipay_private_key: rsa.RSAPrivateKey) -> None:
        self._key = alipay_private_key

    def result(
        self, method: str, fields: Mapping[str, object], *, cert_sn: str | None = None
    ) -> HttpResponse:
        """A method's own reply (success, or a business refusal the SDK returns, not raises)."""
        return self._write(response_key(method), fields, signed=True, cert_sn=cert_sn)

    def error(
        self, error: AlipayError, *, signed: bool = True, cert_sn: str | None = None
    ) -> HttpResponse:
        """`error_response`: the SDK raises AliPayException for it. Unsigned when the app is
        unknown, since the platform then has no key pair to sign with."""
        return self._write("error_response", error.body(), signed=signed, cert_sn=cert_sn)

    def forged(self, method: str, *, cert_sn: str | None = None) -> HttpResponse:
        """A well-formed reply whose signature is not over its content: what a tampered or
        corrupted answer looks like. The SDK must refuse it (AliPayValidationError)."""
        content = _text(_forged_fields(method))
        sign = rsa2_sign(self._key, content + " ")
        return _response(response_key(method), content, sign, cert_sn)

    def _write(
        self, key: str, fields: Mapping[str, object], *, signed: bool, cert_sn: str | None
    ) -> HttpResponse:
        content = _text(fields)
        return _response(
            key,
            content,
            rsa2_sign(self._key, content) if signed else None,
            cert_sn if signed else None,
        )


def _text(fields: Mapping[str, object]) -> str:
    # Compact and unescaped UTF-8, like the platform's replies.
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def _response(key: str, content: str, sign: str | None, cert_sn: str | None = None) -> HttpResponse:
    body = '{"' + key + '":' + content
    if cert_sn:
        body += ',"alipay_cert_sn":' + json.dumps(cert_sn)
    if sign is not None:
        body += ',"sign":' + json.dumps(sign)
    body += "}"
    return HttpResponse(200, body.encode("utf-8"), (("Content-Type", CONTENT_TYPE),))


def _forged_fields(method: str) -> dict[str, object]:
    if method == OAUTH_TOKEN:
        return {
            "access_token": "authusrB" + secrets.token_hex(16),
            "expires_in": 1209600,
            "re_expires_in": 15552000,
            "refresh_token": "authusrB" + secrets.token_hex(16),
            "user_id": "2088" + "".join(secrets.choice("0123456789") for _ in range(12)),
        }
    if method == USER_INFO_SHARE:
        return {
            "code": "10000",
            "msg": "Success",
            "nick_name": "forged",
            "user_id": "2088" + "".join(secrets.choice("0123456789") for _ in range(12)),
        }
    return {"code": "10000", "msg": "Success"}

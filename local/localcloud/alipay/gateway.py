"""The public checks of `gateway.do`: read the parameters of a GET or form POST, and refuse a call
whose public parameters or RSA2 signature are wrong, with the code the real gateway uses.

The string the app signed is every parameter except `sign`, with empty values left out, sorted by
name, as raw (not URL-encoded) `name=value` pairs joined by `&`. Leaving empty values out is the
platform's rule (its own SDKs skip them); python-alipay-sdk signs them too, so a call with an empty
parameter fails here with isv.invalid-signature as it would in the cloud.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives.asymmetric import rsa

from ..httpshell import HttpRequest
from . import errors
from .errors import AlipayError
from .keys import rsa2_verify

OAUTH_TOKEN = "alipay.system.oauth.token"
USER_INFO_SHARE = "alipay.user.info.share"
METHODS = (OAUTH_TOKEN, USER_INFO_SHARE)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
CHARSETS = ("utf-8", "utf8")  # the platform also takes GBK; we only decode UTF-8


@dataclass(frozen=True)
class GatewayCall:
    """A call that passed every public check: its method and all its parameters."""
    method: str
    params: Mapping[str, str]

    def param(self, name: str) -> str:
        return self.params.get(name, "")


def read_params(request: HttpRequest) -> dict[str, str]:
    """Query parameters, plus the form body of a POST (official SDKs split them that way)."""
    params = dict(parse_qsl(request.query_string, keep_blank_values=True))
    content_type = request.header("content-type").lower()
    if request.body and (not content_type or content_type.startswith(
            "application/x-www-form-urlencoded")):
        params.update(parse_qsl(request.body.decode("utf-8", errors="replace"),
                                keep_blank_values=True))
    return params


def signing_content(params: Mapping[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")


def check_call(params: Mapping[str, str], *, app_id: str,
               app_public_key: rsa.RSAPublicKey) -> GatewayCall:
    """The gateway's checks, most basic first; raises `AlipayError` for the first that fails."""
    method = params.get("method", "")
    if not method:
        raise AlipayError(errors.MISSING_METHOD)
    if not params.get("app_id"):
        raise AlipayError(errors.MISSING_APP_ID)
    if params["app_id"] != app_id:
        raise AlipayError(errors.INVALID_APP_ID)
    if method not in METHODS:
        raise AlipayError(errors.INVALID_METHOD)
    if not params.get("sign"):
        raise AlipayError(errors.MISSING_SIGNATURE)
    sign_type = params.get("sign_type", "")
    if not sign_type:
        raise AlipayError(errors.MISSING_SIGNATURE_TYPE)
    if sign_type == "RSA":
        # A real signing type, but the app registered only an RSA2 public key.
        raise AlipayError(errors.MISSING_SIGNATURE_CONFIG)
    if sign_type != "RSA2":
        raise AlipayError(errors.INVALID_SIGNATURE_TYPE)
    if not params.get("timestamp"):
        raise AlipayError(errors.MISSING_TIMESTAMP)
    if not _is_timestamp(params["timestamp"]):
        raise AlipayError(errors.INVALID_TIMESTAMP)
    if not params.get("version"):
        raise AlipayError(errors.MISSING_VERSION)
    if params.get("charset", "utf-8").lower() not in CHARSETS:
        raise AlipayError(errors.INVALID_CHARSET)
    content = signing_content(params)
    if not rsa2_verify(app_public_key, content, params["sign"]):
        # Like the real gateway, say what we verified: it is how developers find their mistake.
        raise AlipayError(errors.INVALID_SIGNATURE, detail=content)
    return GatewayCall(method, dict(params))


def _is_timestamp(value: str) -> bool:
    # Only the format: the SDK sends naive local time and the platform reads it as GMT+8, so a
    # skew check would fail every developer outside China for no benefit locally.
    try:
        datetime.strptime(value, TIMESTAMP_FORMAT)
    except ValueError:
        return False
    return True

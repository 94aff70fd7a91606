"""The public checks of `gateway.do`: read the parameters of a GET or form POST, and refuse a call
whose public parameters, certificate serial numbers or RSA2 signature are wrong, with the code the
real gateway uses.

The string the app signed is every parameter except `sign`, with empty values left out, sorted by
name, as raw (not URL-encoded) `name=value` pairs joined by `&`. Leaving empty values out is the
platform's rule (its own SDKs skip them); python-alipay-sdk signs them too, so a call with an empty
parameter fails here with isv.invalid-signature as it would in the cloud.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..httpshell import HttpRequest
from . import errors
from .apps import App
from .errors import AlipayError
from .keys import rsa2_verify

OAUTH_TOKEN = "alipay.system.oauth.token"
USER_INFO_SHARE = "alipay.user.info.share"
TRADE_CREATE = "alipay.trade.create"
TRADE_QUERY = "alipay.trade.query"
TRADE_CLOSE = "alipay.trade.close"
TRADE_REFUND = "alipay.trade.refund"
TRADE_REFUND_QUERY = "alipay.trade.fastpay.refund.query"
TRADE_METHODS = (TRADE_CREATE, TRADE_QUERY, TRADE_CLOSE, TRADE_REFUND, TRADE_REFUND_QUERY)
METHODS = (OAUTH_TOKEN, USER_INFO_SHARE, *TRADE_METHODS)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
CHARSETS = ("utf-8", "utf8")  # the platform also takes GBK; we only decode UTF-8


@dataclass(frozen=True)
class GatewayCall:
    """A call that passed every public check: the app, its method and all its parameters."""

    app: App
    method: str
    params: Mapping[str, str]

    def param(self, name: str) -> str:
        return self.params.get(name, "")


def read_params(request: HttpRequest) -> dict[str, str]:
    """Query parameters, plus the form body of a POST (official SDKs split them that way)."""
    params = dict(parse_qsl(request.query_string, keep_blank_values=True))
    content_type = request.header("content-type").lower()
    if request.body and (
        not content_type or content_type.startswith("application/x-www-form-urlencoded")
    ):
        params.update(
            parse_qsl(request.body.decode("utf-8", errors="replace"), keep_blank_values=True)
        )
    return params


def signing_content(params: Mapping[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")


def check_call(
    params: Mapping[str, str], *, find_app: Callable[[str], App | None], root_cert_sn: str
) -> GatewayCall:
    """The gateway's checks, most basic first; raises `AlipayError` for the first that fails.
    `root_cert_sn` is the SN of the root chain that apps in certificate mode must name."""
    method = params.get("method", "")
    if not method:
        raise AlipayError(errors.MISSING_METHOD)
    if not params.get("app_id"):
        raise AlipayError(errors.MISSING_APP_ID)
    app = find_app(params["app_id"])
    if app is None:
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
    if app.signing == "cert":
        _check_serials(params, app, root_cert_sn)
    content = signing_content(params)
    if not rsa2_verify(_public_key(app.public_key_pem), content, params["sign"]):
        # Like the real gateway, say what we verified: it is how developers find their mistake.
        raise AlipayError(errors.INVALID_SIGNATURE, detail=content)
    return GatewayCall(app, method, dict(params))


def _check_serials(params: Mapping[str, str], app: App, root_cert_sn: str) -> None:
    """Certificate mode: the request names the app's certificate and Alipay's root by serial
    number. (An app in key mode that sends them is not refused: the gateway ignores them.)"""
    if not params.get("app_cert_sn"):
        raise AlipayError(errors.MISSING_APP_CERT_SN)
    if not params.get("alipay_root_cert_sn"):
        raise AlipayError(errors.MISSING_ALIPAY_ROOT_CERT_SN)
    if params["alipay_root_cert_sn"] != root_cert_sn:
        raise AlipayError(errors.INVALID_ALIPAY_ROOT_CERT_SN)
    if params["app_cert_sn"] != app.app_cert_sn:
        raise AlipayError(errors.APP_CERT_NOT_EXIST)


@lru_cache(maxsize=64)
def _public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the app's registered key is not an RSA public key")
    return key


def _is_timestamp(value: str) -> bool:
    # Only the format: the SDK sends naive local time and the platform reads it as GMT+8, so a
    # skew check would fail every developer outside China for no benefit locally.
    try:
        datetime.strptime(value, TIMESTAMP_FORMAT)
    except ValueError:
        return False
    return True

"""Alibaba Cloud's RPC-style request signature (v1), as `aliyunsdkcore.AcsClient` signs STS, ROS
and most other OpenAPI calls: the verification every RPC emulator of the local cloud shares.

Signature v1: every parameter but `Signature`, keys and values percent-encoded (RFC 3986), sorted,
joined with `&`; string to sign `METHOD&%2F&` + that string percent-encoded again; HMAC-SHA1 (or
-SHA256) keyed with `secret + "&"`. A mismatch answers `SignatureDoesNotMatch` with the server's
string to sign after a colon, because the SDK compares it with its own: equal strings mean only the
secret was wrong, and the SDK then reports `InvalidAccessKeySecret`.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import quote

from .credentials import (
    CredentialBook,
    CredentialError,
    ExpiredSecurityToken,
    Principal,
    UnknownAccessKey,
)

MAX_CLOCK_SKEW = 15 * 60  # seconds between Timestamp and the server's clock
_SIGNERS = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# (HTTP status, code, message) -> the emulator's own exception
ErrorFactory = Callable[[int, str, str], Exception]


def _encode(value: str) -> str:
    return quote(value, safe="~")


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    canonical = "&".join(
        f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()) if k != "Signature"
    )
    return f"{method}&%2F&{_encode(canonical)}"


class RpcAuthenticator:
    """Checks an RPC request's signature, timestamp and nonce; answers the caller's principal."""

    def __init__(self, credentials: CredentialBook, api_version: str, error: ErrorFactory) -> None:
        self._credentials = credentials
        self._api_version = api_version
        self._error = error
        self._nonces: dict[str, float] = {}
        self._nonce_lock = threading.Lock()

    def _missing(self, name: str) -> Exception:
        return self._error(400, f"Missing{name}", f"{name} is mandatory for this action.")

    def authenticate(self, method: str, params: Mapping[str, str]) -> Principal:
        for name in (
            "AccessKeyId",
            "Signature",
            "SignatureMethod",
            "SignatureNonce",
            "Timestamp",
            "Version",
        ):
            if not params.get(name):
                raise self._missing(name)
        if params["Version"] != self._api_version:
            raise self._error(400, "InvalidVersion", "Specified parameter Version is not valid.")
        digest = _SIGNERS.get(params["SignatureMethod"])
        if digest is None or params.get("SignatureVersion", "1.0") != "1.0":
            raise self._error(
                400,
                "InvalidParameter.SignatureMethod",
                "Specified signature method or version is not supported.",
            )
        self._check_timestamp(params["Timestamp"])
        principal = self._resolve(params["AccessKeyId"], params.get("SecurityToken"))
        expected_text = string_to_sign(method, params)
        mac = hmac.new(f"{principal.access_key_secret}&".encode(), expected_text.encode(), digest)
        if not hmac.compare_digest(base64.b64encode(mac.digest()).decode(), params["Signature"]):
            raise self._error(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched "
                f"with our calculation. server string to sign is:{expected_text}",
            )
        self._use_nonce(params["SignatureNonce"])
        return principal

    def _resolve(self, access_key_id: str, token: str | None) -> Principal:
        if access_key_id.startswith("STS.") and not token:
            raise self._error(
                400, "MissingSecurityToken", "SecurityToken is mandatory for this action."
            )
        try:
            return self._credentials.resolve(access_key_id, token)
        except UnknownAccessKey:
            raise self._error(
                404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
            ) from None
        except ExpiredSecurityToken:
            raise self._error(
                400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired."
            ) from None
        except CredentialError:
            raise self._error(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "Specified SecurityToken mismatch with the AccessKey.",
            ) from None

    def _check_timestamp(self, value: str) -> None:
        # Real time, not the injected clock: the SDK stamps requests with its own wall clock.
        try:
            sent = calendar.timegm(time.strptime(value, _TIME_FORMAT))
        except ValueError:
            raise self._error(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            ) from None
        if abs(time.time() - sent) > MAX_CLOCK_SKEW:
            raise self._error(
                400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
            )

    def _use_nonce(self, nonce: str) -> None:
        now = time.time()
        with self._nonce_lock:
            # A nonce older than the timestamp window can never be replayed successfully anyway.
            for seen in [n for n, t in self._nonces.items() if now - t > 2 * MAX_CLOCK_SKEW]:
                del self._nonces[seen]
            if nonce in self._nonces:
                raise self._error(
                    400, "SignatureNonceUsed", "Specified signature nonce was used already."
                )
            self._nonces[nonce] = now

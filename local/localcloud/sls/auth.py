"""Who may call Log Service: signature V1 (`Authorization: LOG ak:sig`) and STS inline policies.

The string to sign is rebuilt exactly as `aliyun.log.auth.AuthV1` builds it. One quirk: the SDK
adds `x-log-date` *after* signing (a copy of `Date` for proxies that drop it), so it must be left
out of the canonical headers here or every signature would mismatch.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import time
from collections.abc import Mapping

from ..credentials import (
    CredentialBook,
    CredentialError,
    ExpiredSecurityToken,
    InvalidSecurityToken,
    Principal,
)
from ..policy import is_allowed
from .core import SlsError

MAX_CLOCK_SKEW = 15 * 60  # seconds, as the cloud allows
_UNSIGNED = {"x-log-date"}


def _unauthorized(message: str) -> SlsError:
    return SlsError(401, "Unauthorized", message)


def string_to_sign(
    method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> str:
    canonical_headers = "".join(
        f"{k}:{headers[k]}\n"
        for k in sorted(headers)
        if (k.startswith("x-log-") and not k.startswith("x-log-meta-") and k not in _UNSIGNED)
        or k.startswith("x-acs-")
    )
    resource = path
    if query:
        resource += "?" + "&".join(f"{k}={v}" for k, v in sorted(query.items()))
    return (
        f"{method}\n{headers.get('content-md5', '')}\n{headers.get('content-type', '')}\n"
        f"{headers.get('date', '')}\n{canonical_headers}{resource}"
    )


def sign(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def authenticate(
    credentials: CredentialBook,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
) -> Principal:
    """The principal that signed this request (headers lower-cased), or SlsError."""
    authorization = headers.get("authorization", "")
    if authorization.startswith("SLS4-HMAC-SHA256"):
        raise _unauthorized(
            "signature version 4 is not supported by the local Log Service; "
            "use the SDK's default auth_version v1"
        )
    scheme, _, rest = authorization.partition(" ")
    access_key_id, _, signature = rest.partition(":")
    if scheme != "LOG" or not access_key_id or not signature:
        raise _unauthorized(
            "the Authorization header is missing or not 'LOG accessKeyId:signature'"
        )
    _check_date(headers.get("date") or headers.get("x-log-date", ""))
    try:
        principal = credentials.resolve(access_key_id, headers.get("x-acs-security-token"))
    except ExpiredSecurityToken:
        raise _unauthorized("The security token you provided has expired") from None
    except InvalidSecurityToken:
        raise _unauthorized("The security token you provided is invalid") from None
    except CredentialError:
        raise _unauthorized(f"AccessKeyId not found: {access_key_id}") from None
    expected = sign(principal.access_key_secret, string_to_sign(method, path, query, headers))
    if not hmac.compare_digest(expected, signature):
        raise SlsError(401, "SignatureNotMatch", f"signature {signature} not match")
    return principal


def _check_date(value: str) -> None:
    # Real time, not the injected clock: the SDK stamps requests with its own wall clock.
    try:
        sent = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        raise SlsError(400, "InvalidDateFormat", f"Date {value} must follow RFC822.") from None
    if abs(time.time() - sent) > MAX_CLOCK_SKEW:
        raise SlsError(
            400,
            "RequestTimeExpired",
            f"Request time {value} has been expired while server time is "
            f"{email.utils.formatdate(usegmt=True)}.",
        )


def authorize(principal: Principal, action: str, resource: str) -> None:
    """STS credentials carry the inline policy AssumeRole was given; the cloud intersects it with
    the role's own policies. The role's policies are not modelled locally, so only the inline one
    is enforced (see `localcloud.sts.policy`)."""
    if principal.is_root or principal.policy is None:
        return
    if not is_allowed(principal.policy, action, resource):
        raise _unauthorized(f"denied by sts or ram, action: {action}, resource: {resource}")

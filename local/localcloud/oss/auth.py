"""Who sent an OSS request: signature V1 in the `Authorization` header, in a signed URL's query
(`OSSAccessKeyId`, `Expires`, `Signature`, `security-token`: oss2's `Bucket.sign_url`), or in a
PostObject form (`oss.postobject`); STS callers are then held to their token's policy.

Header form: HMAC-SHA1 over `METHOD\\n` + Content-MD5 + `\\n` + Content-Type + `\\n` + Date +
`\\n` + the sorted `x-oss-*` headers as `k:v\\n` + the resource `/{bucket}/{key}` with the
sub-resources of the query sorted. A signed URL puts `Expires` where the Date goes. oss2 signs the
bytes it sends: a header value outside ASCII (an `x-oss-meta-*` in UTF-8) is signed as its bytes,
so they are signed here as received, not re-encoded. V4 (`oss2.AuthV4`) is refused clearly.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..account import Account
from ..clock import Clock
from ..credentials import (
    CredentialBook,
    CredentialError,
    ExpiredSecurityToken,
    Principal,
    UnknownAccessKey,
)
from ..httpshell import HttpRequest
from ..policy import Context, any_allows, is_allowed
from .model import OssError

MAX_CLOCK_SKEW = 15 * 60
# Query parameters that are part of the signed resource: every one oss2 signs
# (`oss2.Auth._subresource_key_set`), so that a call outside the emulated set (AppendObject's
# `?append&position=`, `?acl`, ...) verifies and is then refused as not implemented (400
# NotImplemented, as oss2's exception table has it), never as a signature mismatch.
SUB_RESOURCES = frozenset(
    {
        "response-content-type",
        "response-content-language",
        "response-cache-control",
        "logging",
        "response-content-encoding",
        "acl",
        "uploadId",
        "uploads",
        "partNumber",
        "group",
        "link",
        "delete",
        "website",
        "location",
        "objectInfo",
        "objectMeta",
        "response-expires",
        "response-content-disposition",
        "cors",
        "lifecycle",
        "restore",
        "qos",
        "referer",
        "stat",
        "bucketInfo",
        "append",
        "position",
        "security-token",
        "live",
        "comp",
        "status",
        "vod",
        "startTime",
        "endTime",
        "x-oss-process",
        "symlink",
        "callback",
        "callback-var",
        "tagging",
        "encryption",
        "versions",
        "versioning",
        "versionId",
        "policy",
        "requestPayment",
        "x-oss-traffic-limit",
        "qosInfo",
        "asyncFetch",
        "x-oss-request-payer",
        "sequential",
        "inventory",
        "inventoryId",
        "continuation-token",
        "worm",
        "wormId",
        "wormExtend",
        "replication",
        "replicationLocation",
        "replicationProgress",
        "transferAcceleration",
        "cname",
        "metaQuery",
        "x-oss-ac-source-ip",
        "x-oss-ac-subnet-mask",
        "x-oss-ac-vpc-id",
        "x-oss-ac-forward-allow",
        "resourceGroup",
        "style",
        "styleName",
        "x-oss-async-process",
        "regionList",
        "x-oss-write-get-object-response",
        "bucketArchiveDirectRead",
        "httpsConfig",
        "redundancyTransition",
        "x-oss-target-redundancy-type",
        "x-oss-redundancy-transition-taskid",
        "accessPoint",
        "accessPointPolicy",
        "publicAccessBlock",
        "x-oss-access-point-name",
        "requesterQosInfo",
        "qosRequester",
        "resourcePoolInfo",
        "resourcePool",
        "resourcePoolBuckets",
    }
)
QUERY_AUTH = ("OSSAccessKeyId", "Expires", "Signature")
# A role's policies by role ARN; None (or no policy) when the template does not say.
RolePolicies = Callable[[str], "tuple[Mapping[str, Any], ...] | None"]


def raw(value: str) -> bytes:
    """A header value's bytes as sent (the HTTP server reads headers as latin-1)."""
    return value.encode("latin-1", "replace")


def bytes_to_sign(request: HttpRequest, bucket: str, key: str, date: str) -> bytes:
    headers = sorted((k, v) for k, v in request.headers.items() if k.startswith("x-oss-"))
    canonical = b"".join(raw(k) + b":" + raw(v) + b"\n" for k, v in headers)
    subs = sorted((k, v) for k, v in request.query.items() if k in SUB_RESOURCES)
    query = "&".join(f"{k}={v}" if v else k for k, v in subs)
    resource = (f"/{bucket}/{key}" if bucket else "/") + (f"?{query}" if query else "")
    return b"\n".join(
        [
            raw(request.method),
            raw(request.header("content-md5")),
            raw(request.header("content-type")),
            raw(date),
            canonical + resource.encode("utf-8"),
        ]
    )


def sign(secret: str, data: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha1).digest()).decode()


# Who sends an unsigned request the bucket's ACL lets through: no key, no policy, not root.
ANONYMOUS = Principal(access_key_id="", access_key_secret="", is_root=False)


class Authenticator:
    def __init__(self, account: Account, credentials: CredentialBook, clock: Clock) -> None:
        self._account = account
        self._credentials = credentials
        self._clock = clock
        self.role_policies: RolePolicies = lambda arn: None
        # whether a bucket's ACL lets anyone read its objects (the emulator sets it)
        self.public_bucket: Callable[[str], bool] = lambda bucket: False

    def request(self, request: HttpRequest, bucket: str, key: str) -> Principal | None:
        """The signer of a header- or query-signed request; None for a PostObject (a form POST
        to the bucket, signed in its body)."""
        auth = request.header("authorization")
        query = request.query
        if not auth and "Signature" in query:
            return self._signed_url(request, bucket, key, query)
        if (
            not auth
            and request.method == "POST"
            and not key
            and request.header("content-type").lower().startswith("multipart/form-data")
        ):
            return None
        if not auth:
            # Unsigned: only a plain GET or HEAD of an object in a public-read bucket (what a
            # browser or ROS does with a release's public URL); anything else is refused.
            if (
                request.method in ("GET", "HEAD")
                and key
                and not query
                and self.public_bucket(bucket)
            ):
                return ANONYMOUS
            raise OssError(
                403,
                "AccessDenied",
                "AccessDenied: anonymous access is not allowed locally; sign the request.",
            )
        if auth.startswith("OSS4-HMAC-SHA256"):
            raise OssError(
                400, "NotImplemented", "Signature V4 is not emulated locally; use oss2.Auth (V1)."
            )
        scheme, _, rest = auth.partition(" ")
        access_key_id, _, signature = rest.rpartition(":")
        if scheme != "OSS" or not access_key_id:
            raise OssError(400, "InvalidArgument", "Authorization header is invalid.")
        date = request.header("x-oss-date") or request.header("date")
        _check_date(date)
        principal = self.principal(access_key_id, request.header("x-oss-security-token") or None)
        self._check(principal, bytes_to_sign(request, bucket, key, date), signature)
        return principal

    def _signed_url(
        self, request: HttpRequest, bucket: str, key: str, query: Mapping[str, str]
    ) -> Principal:
        missing = [name for name in QUERY_AUTH if not query.get(name)]
        if missing:
            raise OssError(
                403, "AccessDenied", f"AccessDenied: the signed URL lacks {', '.join(missing)}."
            )
        expires = query["Expires"]
        if not expires.isdigit():
            raise OssError(403, "AccessDenied", "Invalid Expires.", Expires=expires)
        now = int(self._clock.now())
        if now > int(expires):
            raise OssError(
                403,
                "AccessDenied",
                "Request has expired.",
                Expires=expires,
                ServerTime=datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
            )
        principal = self.principal(query["OSSAccessKeyId"], query.get("security-token") or None)
        self._check(principal, bytes_to_sign(request, bucket, key, expires), query["Signature"])
        return principal

    def _check(self, principal: Principal, data: bytes, signature: str) -> None:
        if not hmac.compare_digest(sign(principal.access_key_secret, data), signature):
            raise OssError(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                OSSAccessKeyId=principal.access_key_id,
                StringToSign=data.decode("utf-8", "replace"),
            )

    def principal(self, access_key_id: str, token: str | None) -> Principal:
        try:
            return self._credentials.resolve(access_key_id, token)
        except UnknownAccessKey:
            raise OssError(
                403,
                "InvalidAccessKeyId",
                "The OSS Access Key Id you provided does not exist in our records.",
                OSSAccessKeyId=access_key_id,
            ) from None
        except ExpiredSecurityToken:
            raise OssError(
                403, "InvalidAccessKeyId", "The security token you provided has expired."
            ) from None
        except CredentialError:
            raise OssError(
                403, "InvalidAccessKeyId", "The security token you provided is invalid."
            ) from None

    def allow(
        self, who: Principal, api: str, bucket: str, key: str = "", context: Context | None = None
    ) -> None:
        """An STS caller may call `oss:{api}` on the resource only if its inline policy (if any)
        and its role's policies (if the template declares the role with some) allow it. The
        root key is not restricted, nor is a role the template does not declare (what it allows
        is unknown here), as for the local Tablestore."""
        if who.is_root:
            return
        action = f"oss:{api}"
        resource = f"acs:oss:*:{self._account.account_id}:{bucket}" + (f"/{key}" if key else "")
        policies = self.role_policies(who.role_arn) if who.role_arn else None
        if (who.policy is not None and not is_allowed(who.policy, action, resource, context)) or (
            policies and not any_allows(policies, action, resource, context)
        ):
            raise OssError(
                403,
                "AccessDenied",
                "You have no right to access this object because of bucket acl or policy.",
            )


def _check_date(value: str) -> None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        # OSS's answer (EC 0002-00000503) to a missing or unreadable Date
        raise OssError(
            403,
            "AccessDenied",
            "AccessDenied: OSS authentication requires a valid Date.",
            EC="0002-00000503",
        ) from None
    if when.tzinfo is None:  # "-0000": UTC with no zone information
        when = when.replace(tzinfo=datetime.timezone.utc)
    # The client's Date is its wall clock (oss2 uses time.time()), so the skew is measured on ours.
    if abs(time.time() - when.timestamp()) > MAX_CLOCK_SKEW:
        raise OssError(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        )


def signed_url(
    endpoint: str, bucket: str, key: str, access_key_id: str, secret: str, expires: int
) -> str:
    """A V1 signed GET URL, as oss2's `Bucket.sign_url("GET", ...)` builds it (path style)."""
    from urllib.parse import quote

    data = f"GET\n\n\n{expires}\n/{bucket}/{key}".encode()
    query = (
        f"OSSAccessKeyId={quote(access_key_id, safe='')}&Expires={expires}"
        f"&Signature={quote(sign(secret, data), safe='')}"
    )
    return f"{endpoint}/{bucket}/{quote(key, safe='/')}?{query}"

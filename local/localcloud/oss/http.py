"""The OSS wire protocol as `oss2` speaks it: path-style URLs (`/{bucket}/{key}`, what oss2 builds
for an IP or localhost endpoint), signature V1, XML bodies and OSS's XML error format.

Signature V1 (`Authorization: OSS {ak}:{sig}`): HMAC-SHA1 over `METHOD\\n` + Content-MD5 + `\\n` +
Content-Type + `\\n` + Date + `\\n` + the sorted `x-oss-*` headers as `k:v\\n` + the resource
`/{bucket}/{key}` with the sub-resources of the query (`?acl`, `?bucketInfo`, ...) sorted. STS
callers add `x-oss-security-token` and are held to their policy (`oss:{Api}` on
`acs:oss:*:{account}:{bucket}/{key}`). oss2 2.19's `oss2.Auth` signs V1; V4 is opt-in
(`oss2.AuthV4`) and is refused here with a clear message. The signature covers headers only,
so it is checked from the head, before a body is read (`OssEmulator.screen`).
"""
from __future__ import annotations

import base64
import datetime
import email.utils
import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping
from urllib.parse import unquote
from xml.sax.saxutils import escape

import crcmod

from ..account import Account
from ..credentials import (
    CredentialBook,
    CredentialError,
    ExpiredSecurityToken,
    Principal,
    UnknownAccessKey,
)
from ..httpshell import HttpRequest, HttpResponse
from ..policy import is_allowed
from .core import MAX_LIST_KEYS, ObjectInfo, ObjectStore, OssError

MAX_CLOCK_SKEW = 15 * 60
HOST_ID = "oss.localcloud"
# Query parameters that are part of the signed resource: every one oss2 signs
# (`oss2.Auth._subresource_key_set`), so that a call outside the emulated set (AppendObject's
# `?append&position=`, `?uploads`, `?acl`, ...) verifies and is then refused as not implemented
# (400 NotImplemented, as oss2's exception table has it), never as a signature mismatch.
SUB_RESOURCES = frozenset({
    "response-content-type", "response-content-language", "response-cache-control", "logging",
    "response-content-encoding", "acl", "uploadId", "uploads", "partNumber", "group", "link",
    "delete", "website", "location", "objectInfo", "objectMeta", "response-expires",
    "response-content-disposition", "cors", "lifecycle", "restore", "qos", "referer", "stat",
    "bucketInfo", "append", "position", "security-token", "live", "comp", "status", "vod",
    "startTime", "endTime", "x-oss-process", "symlink", "callback", "callback-var", "tagging",
    "encryption", "versions", "versioning", "versionId", "policy", "requestPayment",
    "x-oss-traffic-limit", "qosInfo", "asyncFetch", "x-oss-request-payer", "sequential",
    "inventory", "inventoryId", "continuation-token", "worm", "wormId", "wormExtend",
    "replication", "replicationLocation", "replicationProgress", "transferAcceleration", "cname",
    "metaQuery", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id",
    "x-oss-ac-forward-allow", "resourceGroup", "style", "styleName", "x-oss-async-process",
    "regionList", "x-oss-write-get-object-response", "bucketArchiveDirectRead", "httpsConfig",
    "redundancyTransition", "x-oss-target-redundancy-type", "x-oss-redundancy-transition-taskid",
    "accessPoint", "accessPointPolicy", "publicAccessBlock", "x-oss-access-point-name",
    "requesterQosInfo", "qosRequester", "resourcePoolInfo", "resourcePool",
    "resourcePoolBuckets"})
# CRC-64/ECMA as OSS reports it in x-oss-hash-crc64ecma; oss2 compares it with its own.
_crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)


def string_to_sign(request: HttpRequest, bucket: str, key: str) -> str:
    headers = sorted((k, v) for k, v in request.headers.items() if k.startswith("x-oss-"))
    canonical = "".join(f"{k}:{v}\n" for k, v in headers)
    subs = sorted((k, v) for k, v in request.query.items() if k in SUB_RESOURCES)
    query = "&".join(f"{k}={v}" if v else k for k, v in subs)
    resource = f"/{bucket}/{key}" if bucket else "/"
    return "\n".join([request.method, request.header("content-md5"),
                      request.header("content-type"), request.header("x-oss-date")
                      or request.header("date"),
                      canonical + resource + (f"?{query}" if query else "")])


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(timestamp))


class OssEmulator:
    def __init__(self, *, store: ObjectStore, account: Account,
                 credentials: CredentialBook) -> None:
        self.store = store
        self._account = account
        self._credentials = credentials

    def screen(self, head: HttpRequest) -> HttpResponse | None:
        """The signature, checked from the headers before any body is read (the HTTP server
        calls this): an unsigned or badly signed upload is refused without being received."""
        try:
            self._authenticate(head, *_bucket_and_key(head))
        except OssError as exc:
            request_id = _request_id()
            return _answer(head, _error(head, exc, request_id), request_id)
        return None

    def app(self, request: HttpRequest) -> HttpResponse:
        request_id = _request_id()
        bucket, key = _bucket_and_key(request)
        try:
            principal = self._authenticate(request, bucket, key)
            response = self._route(request, principal, bucket, key)
        except OssError as exc:
            response = _error(request, exc, request_id)
        return _answer(request, response, request_id)

    # -- operations ------------------------------------------------------------------------------
    def _route(self, request: HttpRequest, who: Principal, bucket: str, key: str) -> HttpResponse:
        method, query = request.method, request.query
        if not bucket:
            raise OssError(405, "MethodNotAllowed", "The specified method is not allowed "
                                                    "against this resource (ListBuckets is not "
                                                    "emulated).")
        if not key:
            if method == "PUT" and not query:
                self._allow(who, "PutBucket", bucket, "")
                self.store.create_bucket(bucket)
                return HttpResponse(200, headers=(("Location", f"/{bucket}"),))
            if method == "GET" and "bucketInfo" in query:
                self._allow(who, "GetBucketInfo", bucket, "")
                return _xml(200, self._bucket_info(bucket))
            if method == "GET" and query.get("list-type") == "2":
                self._allow(who, "ListObjects", bucket, "")
                return _xml(200, self._list_v2(bucket, query))
            if method == "DELETE" and not query:
                self._allow(who, "DeleteBucket", bucket, "")
                self.store.delete_bucket(bucket)
                return HttpResponse(204)
            raise OssError(400, "NotImplemented", "This bucket operation is not emulated "
                                                  "locally (PutBucket, GetBucketInfo, "
                                                  "ListObjectsV2, DeleteBucket are).")
        if query and set(query) - {"objectMeta"}:
            raise OssError(400, "NotImplemented", "Object sub-resources are not emulated.")
        if method == "PUT":
            self._allow(who, "PutObject", bucket, key)
            content_md5 = request.header("content-md5")
            if content_md5 and content_md5 != base64.b64encode(
                    hashlib.md5(request.body).digest()).decode():
                raise OssError(400, "InvalidDigest", "The Content-MD5 you specified is not "
                                                     "valid.")
            info = self.store.put(bucket, key, request.body,
                                  request.header("content-type") or "application/octet-stream")
            return HttpResponse(200, headers=(("ETag", f'"{info.etag}"'),
                                              ("x-oss-hash-crc64ecma",
                                               str(_crc64(request.body)))))
        if method in ("GET", "HEAD"):
            self._allow(who, "GetObject", bucket, key)
            info, data = self.store.get(bucket, key)
            headers = _object_headers(info, data)
            if method == "HEAD":
                return HttpResponse(200, headers=headers + (("Content-Length", str(info.size)),))
            return HttpResponse(200, data, headers)
        if method == "DELETE":
            self._allow(who, "DeleteObject", bucket, key)
            self.store.delete(bucket, key)
            return HttpResponse(204)
        raise OssError(405, "MethodNotAllowed", "The specified method is not allowed against "
                                                "this resource.")

    def _bucket_info(self, bucket: str) -> str:
        created = self.store.bucket_created(bucket)
        region = self._account.region
        owner = self._account.account_id
        return (f"<BucketInfo><Bucket><Name>{bucket}</Name>"
                f"<CreationDate>{_iso(created)}</CreationDate><StorageClass>Standard"
                f"</StorageClass><ExtranetEndpoint>oss-{region}.aliyuncs.com</ExtranetEndpoint>"
                f"<IntranetEndpoint>oss-{region}-internal.aliyuncs.com</IntranetEndpoint>"
                f"<Location>oss-{region}</Location><Owner><DisplayName>{owner}</DisplayName>"
                f"<ID>{owner}</ID></Owner><AccessControlList><Grant>private</Grant>"
                f"</AccessControlList></Bucket></BucketInfo>")

    def _list_v2(self, bucket: str, query: Mapping[str, str]) -> str:
        try:
            max_keys = int(query.get("max-keys") or 100)
        except ValueError:
            max_keys = -1
        if not 1 <= max_keys <= MAX_LIST_KEYS:
            raise OssError(400, "InvalidArgument", f"max-keys must be 1..{MAX_LIST_KEYS}.")
        if query.get("delimiter"):
            raise OssError(400, "NotImplemented", "delimiter is not emulated locally.")
        url = query.get("encoding-type") == "url"
        token = query.get("continuation-token") or ""
        start = unquote(token) if token else query.get("start-after", "")
        prefix = query.get("prefix", "")
        page, truncated = self.store.list(bucket, prefix, start, max_keys)

        def text(value: str) -> str:
            from urllib.parse import quote
            return quote(value, safe="") if url else escape(value)

        contents = "".join(
            f"<Contents><Key>{text(o.key)}</Key><LastModified>{_iso(o.modified)}</LastModified>"
            f"<ETag>\"{o.etag}\"</ETag><Type>Normal</Type><Size>{o.size}</Size>"
            f"<StorageClass>Standard</StorageClass></Contents>" for o in page)
        next_token = (f"<NextContinuationToken>{text(page[-1].key)}</NextContinuationToken>"
                      if truncated else "")
        return (f"<ListBucketResult><Name>{bucket}</Name><Prefix>{text(prefix)}</Prefix>"
                f"<MaxKeys>{max_keys}</MaxKeys><KeyCount>{len(page)}</KeyCount>"
                f"{'<EncodingType>url</EncodingType>' if url else ''}"
                f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>{next_token}"
                f"{contents}</ListBucketResult>")

    # -- authentication and authorisation ------------------------------------------------------
    def _authenticate(self, request: HttpRequest, bucket: str, key: str) -> Principal:
        auth = request.header("authorization")
        if not auth:
            raise OssError(403, "AccessDenied", "AccessDenied: anonymous access is not allowed "
                                                "locally; sign the request.")
        if auth.startswith("OSS4-HMAC-SHA256"):
            raise OssError(400, "NotImplemented", "Signature V4 is not emulated locally; use "
                                                  "oss2.Auth (V1).")
        scheme, _, rest = auth.partition(" ")
        access_key_id, _, signature = rest.rpartition(":")
        if scheme != "OSS" or not access_key_id:
            raise OssError(400, "InvalidArgument", "Authorization header is invalid.")
        self._check_date(request.header("x-oss-date") or request.header("date"))
        principal = self._resolve(access_key_id, request.header("x-oss-security-token") or None)
        text = string_to_sign(request, bucket, key)
        expected = base64.b64encode(hmac.new(principal.access_key_secret.encode(), text.encode(),
                                             hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, signature):
            raise OssError(403, "SignatureDoesNotMatch", "The request signature we calculated "
                                                         "does not match the signature you "
                                                         "provided.",
                           OSSAccessKeyId=access_key_id, StringToSign=text)
        return principal

    def _resolve(self, access_key_id: str, token: str | None) -> Principal:
        try:
            return self._credentials.resolve(access_key_id, token)
        except UnknownAccessKey:
            raise OssError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does "
                                                      "not exist in our records.",
                           OSSAccessKeyId=access_key_id) from None
        except ExpiredSecurityToken:
            raise OssError(403, "InvalidAccessKeyId", "The security token you provided has "
                                                      "expired.") from None
        except CredentialError:
            raise OssError(403, "InvalidAccessKeyId", "The security token you provided is "
                                                      "invalid.") from None

    @staticmethod
    def _check_date(value: str) -> None:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            # OSS's answer (EC 0002-00000503) to a missing or unreadable Date
            raise OssError(403, "AccessDenied", "AccessDenied: OSS authentication requires a "
                                                "valid Date.", EC="0002-00000503") from None
        if when.tzinfo is None:  # "-0000": UTC with no zone information
            when = when.replace(tzinfo=datetime.timezone.utc)
        if abs(time.time() - when.timestamp()) > MAX_CLOCK_SKEW:
            raise OssError(403, "RequestTimeTooSkewed", "The difference between the request "
                                                        "time and the current time is too large.")

    def _allow(self, who: Principal, api: str, bucket: str, key: str) -> None:
        if who.policy is None:  # the root key, or a role assumed without an inline policy
            return
        resource = f"acs:oss:*:{self._account.account_id}:{bucket}" + (f"/{key}" if key else "")
        if not is_allowed(who.policy, f"oss:{api}", resource):
            raise OssError(403, "AccessDenied", "You have no right to access this object "
                                                "because of bucket acl or policy.")


def _request_id() -> str:
    return uuid.uuid4().hex[:24].upper()


def _bucket_and_key(request: HttpRequest) -> tuple[str, str]:
    bucket, _, key = request.raw_path.lstrip("/").partition("/")
    return unquote(bucket), unquote(key)


def _answer(request: HttpRequest, response: HttpResponse, request_id: str) -> HttpResponse:
    return response.with_headers(("x-oss-request-id", request_id), ("Server", "AliyunOSS"),
                                 ("Date", email.utils.formatdate(usegmt=True)))


def _object_headers(info: ObjectInfo, data: bytes) -> tuple[tuple[str, str], ...]:
    return (("Content-Type", info.content_type), ("ETag", f'"{info.etag}"'),
            ("Last-Modified", email.utils.formatdate(info.modified, usegmt=True)),
            ("x-oss-object-type", "Normal"), ("x-oss-storage-class", "Standard"),
            ("x-oss-hash-crc64ecma", str(_crc64(data))))


def _xml(status: int, body: str) -> HttpResponse:
    return HttpResponse(status, ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode(),
                        (("Content-Type", "application/xml"),))


def _error(request: HttpRequest, exc: OssError, request_id: str) -> HttpResponse:
    details = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in exc.details.items())
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
            f"<Code>{exc.code}</Code><Message>{escape(exc.message)}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>{HOST_ID}</HostId>{details}</Error>")
    headers = [("Content-Type", "application/xml")]
    if request.method == "HEAD":
        # A HEAD answer has no body: OSS repeats the error, base64, in x-oss-err (oss2 reads it).
        headers.append(("x-oss-err", base64.b64encode(body.encode()).decode()))
        headers.append(("Content-Length", "0"))
        return HttpResponse(exc.status, b"", tuple(headers))
    return HttpResponse(exc.status, body.encode(), tuple(headers))

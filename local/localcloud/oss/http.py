"""The OSS wire protocol as `oss2` speaks it: path-style URLs (`/{bucket}/{key}`, what oss2 builds
for an IP or localhost endpoint), signature V1 (`oss.auth`), XML bodies (`oss.xml`) and OSS's XML
error format.

Served: PutBucket (with `x-oss-acl`), PutBucketAcl, GetBucketAcl, GetBucketInfo, DeleteBucket,
ListObjects (v1 and v2, with prefix, delimiter, marker/continuation and max-keys), PutObject (with
`x-oss-meta-*` and Content-MD5), GetObject and HeadObject (`Range`, conditional headers,
`oss.reads`; unsigned too, in a public-read bucket), GetObjectMeta, DeleteObject,
DeleteMultipleObjects, CopyObject, PostObject (`oss.postobject`), signed URLs, and multipart
upload (initiate, upload part, complete, abort, list parts, list uploads). Anything else is
NotImplemented. STS callers are held to their token's policy and their role's (`oss:{Api}` on
`acs:oss:*:{account}:{bucket}/{key}`; ListObjects with the condition keys `oss:Prefix` and
`oss:Delimiter`). The signature covers headers only, so it is checked from the head, before a
body is read (`OssEmulator.screen`); bodies then stream to disk
(`server_options`), so a large upload never sits in memory.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

from ..account import Account
from ..clock import Clock, SystemClock
from ..credentials import CredentialBook, Principal
from ..httpshell import HttpRequest, HttpResponse
from . import reads, xml
from .auth import Authenticator, RolePolicies
from .model import MAX_LIST_KEYS, OssError
from .postobject import PostObject
from .store import ObjectStore

HOST_ID = "oss.localcloud"
# Object sub-resources served; any other sub-resource of an object is NotImplemented.
_OBJECT_QUERY = frozenset(
    {
        "objectMeta",
        "uploads",
        "uploadId",
        "partNumber",
        "encoding-type",
        "max-parts",
        "part-number-marker",
    }
)


# The query parameters of a signed URL (`oss.auth`), beside a sub-resource.
_SIGNED_URL = frozenset({"Signature", "OSSAccessKeyId", "Expires", "security-token"})


def _not_implemented(what: str) -> OssError:
    return OssError(400, "NotImplemented", f"{what} is not emulated locally.")


class OssEmulator:
    def __init__(
        self,
        *,
        store: ObjectStore,
        account: Account,
        credentials: CredentialBook,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self._account = account
        self._clock = clock or SystemClock()
        self._auth = Authenticator(account, credentials, self._clock)
        self._auth.public_bucket = store.is_public
        self._post = PostObject(store, self._auth, self._clock.now)

    def set_role_policies(self, role_policies: RolePolicies) -> None:
        """The template's roles: an STS caller is held to its role's policies too."""
        self._auth.role_policies = role_policies

    def read_as(self, who: Principal, bucket: str, key: str, limit: int) -> bytes:
        """At most `limit` bytes of an object, as `who` may read it (GetObject's check), for
        another service reading on a caller's behalf: ROS with an `oss://` TemplateURL."""
        self._auth.allow(who, "GetObject", bucket, key)
        info = self.store.head(bucket, key)
        if info.size == 0:
            return b""
        return b"".join(self.store.read(info, 0, min(info.size, limit) - 1))

    @staticmethod
    def server_options() -> dict[str, Any]:
        """HttpServer options: bodies are handed over unread, to be streamed to disk."""
        return {"stream_bodies": True}

    def screen(self, head: HttpRequest) -> HttpResponse | None:
        """The signature, checked from the headers before any body is read (the HTTP server
        calls this): an unsigned or badly signed upload is refused without being received."""
        try:
            self._auth.request(head, *_bucket_and_key(head))
        except OssError as exc:
            request_id = _request_id()
            return _answer(head, _error(head, exc, request_id), request_id)
        return None

    def app(self, request: HttpRequest) -> HttpResponse:
        request_id = _request_id()
        bucket, key = _bucket_and_key(request)
        try:
            principal = self._auth.request(request, bucket, key)
            if principal is None:  # a form upload, signed in its body
                response = self._post_object(request, bucket)
            else:
                response = self._route(request, principal, bucket, key)
        except OssError as exc:
            response = _error(request, exc, request_id)
        return _answer(request, response, request_id)

    # -- routing ---------------------------------------------------------------------------------
    def _route(self, request: HttpRequest, who: Principal, bucket: str, key: str) -> HttpResponse:
        if not bucket:
            raise OssError(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed "
                "against this resource (ListBuckets is not "
                "emulated).",
            )
        if not key:
            return self._bucket(request, who, bucket)
        method, query = request.method, request.query
        unknown = (
            set(query)
            - _OBJECT_QUERY
            - {"Signature", "OSSAccessKeyId", "Expires", "security-token"}
        )
        if unknown:
            raise _not_implemented(f"The object sub-resource {sorted(unknown)[0]!r}")
        if "uploadId" in query:
            return self._multipart(request, who, bucket, key, query["uploadId"])
        if method == "POST" and "uploads" in query:
            self._auth.allow(who, "PutObject", bucket, key)
            upload = self.store.initiate(bucket, key, _content_type(request), _meta(request))
            return _xml(200, xml.initiated(upload))
        if method == "PUT" and request.header("x-oss-copy-source"):
            return self._copy(request, who, bucket, key)
        if method == "PUT":
            self._auth.allow(who, "PutObject", bucket, key)
            info = self.store.put(
                bucket,
                key,
                request.body_chunks(),
                _content_type(request),
                _meta(request),
                content_md5=_content_md5(request),
            )
            return HttpResponse(
                200, headers=(("ETag", f'"{info.etag}"'), ("x-oss-hash-crc64ecma", info.crc64))
            )
        if method in ("GET", "HEAD"):
            self._auth.allow(who, "GetObject", bucket, key)
            return self._get(request, bucket, key)
        if method == "DELETE":
            self._auth.allow(who, "DeleteObject", bucket, key)
            self.store.delete(bucket, key)
            return HttpResponse(204)
        raise OssError(
            405, "MethodNotAllowed", "The specified method is not allowed against this resource."
        )

    def _bucket(self, request: HttpRequest, who: Principal, bucket: str) -> HttpResponse:
        method, query = request.method, request.query
        listing = set(query) <= {
            "prefix",
            "delimiter",
            "marker",
            "max-keys",
            "encoding-type",
            "list-type",
            "continuation-token",
            "start-after",
            "fetch-owner",
            "Signature",
            "OSSAccessKeyId",
            "Expires",
            "security-token",
        }
        if method == "PUT" and not query:
            self._auth.allow(who, "PutBucket", bucket)
            self.store.create_bucket(bucket, request.header("x-oss-acl") or None)
            return HttpResponse(200, headers=(("Location", f"/{bucket}"),))
        if method == "PUT" and set(query) - _SIGNED_URL == {"acl"}:
            self._auth.allow(who, "PutBucketAcl", bucket)
            self.store.set_acl(bucket, request.header("x-oss-acl") or "private")
            return HttpResponse(200)
        if method == "GET" and set(query) - _SIGNED_URL == {"acl"}:
            self._auth.allow(who, "GetBucketAcl", bucket)
            return _xml(200, self._bucket_acl(bucket))
        if method == "GET" and "bucketInfo" in query:
            self._auth.allow(who, "GetBucketInfo", bucket)
            return _xml(200, self._bucket_info(bucket))
        if method == "GET" and "uploads" in query:
            self._auth.allow(who, "ListMultipartUploads", bucket)
            prefix = query.get("prefix", "")
            url = query.get("encoding-type") == "url"
            limit = _integer(query, "max-uploads", 1000, 1, 1000)
            found = self.store.uploads(bucket, prefix)
            return _xml(200, xml.uploads(bucket, prefix, found[:limit], len(found) > limit, url))
        if method == "GET" and listing:
            context = {
                "oss:Prefix": query.get("prefix", ""),
                "oss:Delimiter": query.get("delimiter", ""),
            }
            self._auth.allow(who, "ListObjects", bucket, context=context)
            return _xml(200, self._list(bucket, query))
        if method == "POST" and "delete" in query:
            return self._delete_many(request, who, bucket)
        if method == "DELETE" and not query:
            self._auth.allow(who, "DeleteBucket", bucket)
            self.store.delete_bucket(bucket)
            return HttpResponse(204)
        raise _not_implemented("This bucket operation")

    # -- objects ---------------------------------------------------------------------------------
    def _get(self, request: HttpRequest, bucket: str, key: str) -> HttpResponse:
        info = self.store.head(bucket, key)
        if request.method == "HEAD" and "objectMeta" in request.query:
            return HttpResponse(
                200, headers=reads.object_headers(info)[1:3] + (("Content-Length", str(info.size)),)
            )
        not_modified = reads.precondition(request, info)
        if not_modified is not None:
            return not_modified
        wanted = reads.byte_range(request, info.size)
        if request.method == "HEAD":
            return reads.answer(request, info, None)
        if wanted is None:
            return reads.answer(request, info, self.store.read(info))
        first, last = wanted
        return reads.answer(
            request, info, self.store.read(info, first, last), first, last, partial=True
        )

    def _copy(self, request: HttpRequest, who: Principal, bucket: str, key: str) -> HttpResponse:
        """CopyObject: `x-oss-copy-source: /{bucket}/{key, URL-encoded}` (as oss2 sends it), the
        source's content type and metadata kept unless `x-oss-metadata-directive: REPLACE`.
        Reading the source needs oss:GetObject on it, writing the copy oss:PutObject."""
        source_bucket, _, source_key = (
            unquote(request.header("x-oss-copy-source")).lstrip("/").partition("/")
        )
        if "?" in request.header("x-oss-copy-source") or not source_key:
            raise OssError(400, "InvalidArgument", "x-oss-copy-source is not /{bucket}/{key}.")
        self._auth.allow(who, "GetObject", source_bucket, source_key)
        self._auth.allow(who, "PutObject", bucket, key)
        directive = request.header("x-oss-metadata-directive") or "COPY"
        if directive not in ("COPY", "REPLACE"):
            raise OssError(
                400, "InvalidArgument", "x-oss-metadata-directive must be COPY or REPLACE."
            )
        replace = (_content_type(request), _meta(request)) if directive == "REPLACE" else None
        info = self.store.copy((source_bucket, source_key), bucket, key, replace)
        body = (
            f'<CopyObjectResult><ETag>"{info.etag}"</ETag>'
            f"<LastModified>{xml.iso(info.modified)}</LastModified></CopyObjectResult>"
        )
        return _xml(200, body).with_headers(
            ("ETag", f'"{info.etag}"'), ("x-oss-hash-crc64ecma", info.crc64)
        )

    def _delete_many(self, request: HttpRequest, who: Principal, bucket: str) -> HttpResponse:
        body = b"".join(request.body_chunks())
        if len(body) > xml.MAX_XML_BYTES:
            raise xml.malformed()
        expected = _content_md5(request)
        if expected is None:
            raise OssError(
                400, "InvalidDigest", "Content-MD5 is required by DeleteMultipleObjects."
            )
        if hashlib.md5(body).digest() != expected:
            raise OssError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
        keys, quiet = xml.read_delete(body)
        self.store.bucket_created(bucket)
        for key in keys:  # all or nothing: every key must be allowed first
            self._auth.allow(who, "DeleteObject", bucket, key)
        for key in keys:
            self.store.delete(bucket, key)
        url = request.query.get("encoding-type") == "url"
        return _xml(200, xml.deleted([] if quiet else keys, url))

    def _post_object(self, request: HttpRequest, bucket: str) -> HttpResponse:
        posted = self._post.handle(request, bucket)
        headers = (
            ("ETag", f'"{posted.info.etag}"'),
            ("x-oss-hash-crc64ecma", posted.info.crc64),
            ("Location", f"/{bucket}/{posted.info.key}"),
        )
        if posted.status == 201:
            body = (
                f"<PostResponse><Bucket>{bucket}</Bucket>"
                f"<Location>/{bucket}/{escape(posted.info.key)}</Location>"
                f'<Key>{escape(posted.info.key)}</Key><ETag>"{posted.info.etag}"</ETag>'
                f"</PostResponse>"
            )
            return _xml(201, body).with_headers(*headers)
        return HttpResponse(posted.status, headers=headers)

    # -- multipart upload ------------------------------------------------------------------------
    def _multipart(
        self, request: HttpRequest, who: Principal, bucket: str, key: str, upload_id: str
    ) -> HttpResponse:
        method, query = request.method, request.query
        if method == "PUT" and "partNumber" in query:
            self._auth.allow(who, "PutObject", bucket, key)
            upload = self.store.upload(bucket, key, upload_id)
            number = _integer(query, "partNumber", 0, 1, 10_000)
            part = self.store.put_part(upload, number, request.body_chunks(), _content_md5(request))
            return HttpResponse(
                200, headers=(("ETag", f'"{part.etag}"'), ("x-oss-hash-crc64ecma", part.crc64))
            )
        if method == "POST":
            self._auth.allow(who, "PutObject", bucket, key)
            upload = self.store.upload(bucket, key, upload_id)
            chosen = xml.read_complete(b"".join(request.body_chunks()))
            info = self.store.complete(upload, chosen)
            return _xml(200, xml.completed(bucket, info, f"/{bucket}/{key}")).with_headers(
                ("ETag", f'"{info.etag}"'), ("x-oss-hash-crc64ecma", info.crc64)
            )
        if method == "DELETE":
            self._auth.allow(who, "AbortMultipartUpload", bucket, key)
            self.store.abort(self.store.upload(bucket, key, upload_id))
            return HttpResponse(204)
        if method == "GET":
            self._auth.allow(who, "ListParts", bucket, key)
            upload = self.store.upload(bucket, key, upload_id)
            marker = _integer(query, "part-number-marker", 0, 0, 10_000)
            limit = _integer(query, "max-parts", 1000, 1, 1000)
            after = [p for p in self.store.parts(upload) if p.number > marker]
            return _xml(200, xml.parts(upload, after[:limit], marker, limit, len(after) > limit))
        raise OssError(
            405, "MethodNotAllowed", "The specified method is not allowed against this resource."
        )

    # -- buckets ---------------------------------------------------------------------------------
    def _bucket_acl(self, bucket: str) -> str:
        owner = self._account.account_id
        return (
            f"<AccessControlPolicy><Owner><ID>{owner}</ID><DisplayName>{owner}</DisplayName>"
            f"</Owner><AccessControlList><Grant>{self.store.acl(bucket)}</Grant>"
            f"</AccessControlList></AccessControlPolicy>"
        )

    def _bucket_info(self, bucket: str) -> str:
        created = self.store.bucket_created(bucket)
        region = self._account.region
        owner = self._account.account_id
        return (
            f"<BucketInfo><Bucket><Name>{bucket}</Name>"
            f"<CreationDate>{xml.iso(created)}</CreationDate><StorageClass>Standard"
            f"</StorageClass><ExtranetEndpoint>oss-{region}.aliyuncs.com</ExtranetEndpoint>"
            f"<IntranetEndpoint>oss-{region}-internal.aliyuncs.com</IntranetEndpoint>"
            f"<Location>oss-{region}</Location><Owner><DisplayName>{owner}</DisplayName>"
            f"<ID>{owner}</ID></Owner><AccessControlList><Grant>{self.store.acl(bucket)}</Grant>"
            f"</AccessControlList></Bucket></BucketInfo>"
        )

    def _list(self, bucket: str, query: Mapping[str, str]) -> str:
        max_keys = _integer(query, "max-keys", 100, 1, MAX_LIST_KEYS)
        url = query.get("encoding-type") == "url"
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        if query.get("list-type") == "2":
            token = query.get("continuation-token") or ""
            start = unquote(token) if token else query.get("start-after", "")
            page = self.store.listing(bucket, prefix, start, max_keys, delimiter)
            return xml.list_v2(bucket, prefix, delimiter, max_keys, page, url)
        marker = query.get("marker", "")
        page = self.store.listing(bucket, prefix, marker, max_keys, delimiter)
        return xml.list_v1(bucket, prefix, marker, delimiter, max_keys, page, url)


def _integer(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        if default < low:
            raise OssError(400, "InvalidArgument", f"{name} is required.", ArgumentName=name)
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise OssError(
            400,
            "InvalidArgument",
            f"{name} must be an integer in {low}..{high}.",
            ArgumentName=name,
            ArgumentValue=raw[:64],
        )
    return int(raw)


def _content_type(request: HttpRequest) -> str:
    return request.header("content-type") or "application/octet-stream"


def _meta(request: HttpRequest) -> dict[str, str]:
    """User metadata: the x-oss-meta-* headers, names lower-cased, values as sent."""
    return {k: v for k, v in request.headers.items() if k.startswith("x-oss-meta-")}


def _content_md5(request: HttpRequest) -> bytes | None:
    value = request.header("content-md5")
    if not value:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise OssError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
    return digest


def _request_id() -> str:
    return uuid.uuid4().hex[:24].upper()


def _bucket_and_key(request: HttpRequest) -> tuple[str, str]:
    bucket, _, key = request.raw_path.lstrip("/").partition("/")
    return unquote(bucket), unquote(key)


def _answer(request: HttpRequest, response: HttpResponse, request_id: str) -> HttpResponse:
    return response.with_headers(
        ("x-oss-request-id", request_id),
        ("Server", "AliyunOSS"),
        ("Date", email.utils.formatdate(usegmt=True)),
    )


def _xml(status: int, body: str) -> HttpResponse:
    return HttpResponse(status, xml.document(body), (("Content-Type", "application/xml"),))


def _error(request: HttpRequest, exc: OssError, request_id: str) -> HttpResponse:
    details = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in exc.details.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
        f"<Code>{exc.code}</Code><Message>{escape(exc.message)}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{HOST_ID}</HostId>{details}</Error>"
    )
    headers = [("Content-Type", "application/xml")]
    if request.method == "HEAD":
        # A HEAD answer has no body: OSS repeats the error, base64, in x-oss-err (oss2 reads it).
        headers.append(("x-oss-err", base64.b64encode(body.encode()).decode()))
        headers.append(("Content-Length", "0"))
        return HttpResponse(exc.status, b"", tuple(headers))
    return HttpResponse(exc.status, body.encode(), tuple(headers))

"""PostObject: a browser's or mini program's form upload (`my.uploadFile` posts
multipart/form-data), signed in the form itself.

The form carries `key`, `policy` (base64 JSON: `expiration` and `conditions`), `OSSAccessKeyId`,
`Signature` (base64 HMAC-SHA1 of the base64 policy with the key's secret), for STS credentials
`x-oss-security-token`, optionally `Content-Type`, `success_action_status` (200, 201 or 204, the
default) and `x-oss-meta-*`; the file comes last (fields after it are ignored, as on OSS). The
form is read as it arrives (the `multipart` package); everything before the file is checked
before a byte of the file is stored, and the file is written to disk with the policy's
`content-length-range` maximum as its cap, so a bigger file is refused while it is read.

Conditions: `{"field": value}` and `["eq", "$field", value]` match exactly, `["starts-with",
"$field", prefix]` by prefix, `["content-length-range", min, max]` bound the file's size; field
names are matched case-insensitively; `{"bucket": ...}` names the bucket.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from ..httpshell import HttpRequest
from .auth import Authenticator, sign
from .model import MAX_OBJECT_BYTES, ObjectInfo, OssError, too_large
from .store import ObjectStore

MAX_FIELD_BYTES = 64 * 1024  # any form field but the file
MAX_FIELDS = 64
SUCCESS_STATUSES = ("200", "201", "204")


def denied(reason: str) -> OssError:
    return OssError(403, "AccessDenied", f"Invalid according to Policy: {reason}")


def invalid_policy(reason: str) -> OssError:
    return OssError(400, "InvalidPolicyDocument", f"Invalid Policy: {reason}")


@dataclass(frozen=True)
class Posted:
    info: ObjectInfo
    status: int


@dataclass(frozen=True)
class Policy:
    expiration: datetime.datetime
    conditions: list[Any]
    size_range: tuple[int, int]


def parse_policy(encoded: str) -> Policy:
    try:
        document = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, RecursionError):
        raise invalid_policy("Invalid Policy Document (not base64 JSON).") from None
    if not isinstance(document, dict) or not isinstance(document.get("conditions"), list):
        raise invalid_policy("Invalid Policy Document (conditions missing).")
    expiration = document.get("expiration")
    try:
        when = datetime.datetime.strptime(str(expiration), "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        try:
            when = datetime.datetime.strptime(str(expiration), "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            raise invalid_policy(
                f"Invalid Policy: Invalid 'expiration' value: '{expiration}'."
            ) from None
    size_range = (0, MAX_OBJECT_BYTES)
    for condition in document["conditions"]:
        if isinstance(condition, list) and condition and condition[0] == "content-length-range":
            if (
                len(condition) != 3
                or not all(
                    isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in condition[1:]
                )
                or condition[1] > condition[2]
            ):
                raise invalid_policy("Invalid content-length-range condition.")
            size_range = (max(size_range[0], condition[1]), min(size_range[1], condition[2]))
        elif isinstance(condition, list):
            if (
                len(condition) != 3
                or condition[0] not in ("eq", "starts-with", "in", "not-in")
                or not isinstance(condition[1], str)
                or not condition[1].startswith("$")
            ):
                raise invalid_policy(f"Invalid Simple-Condition: {json.dumps(condition)}")
        elif not (isinstance(condition, dict) and len(condition) == 1):
            raise invalid_policy(f"Invalid Simple-Condition: {json.dumps(condition)}")
    return Policy(when.replace(tzinfo=datetime.timezone.utc), document["conditions"], size_range)


def check_conditions(policy: Policy, fields: dict[str, str], bucket: str) -> None:
    """Every condition holds for the form's fields (names lower-cased) and the bucket."""
    values = dict(fields, bucket=bucket)
    for condition in policy.conditions:
        if isinstance(condition, dict):
            ((name, expected),) = condition.items()
            if values.get(name.lower(), "") != str(expected):
                raise denied(f"Policy Condition failed: {json.dumps(condition)}")
            continue
        op, name = condition[0], str(condition[1]).lstrip("$").lower()
        if op == "content-length-range":
            continue
        value, expected = values.get(name, ""), condition[2]
        held = (
            value == str(expected)
            if op == "eq"
            else value.startswith(str(expected))
            if op == "starts-with"
            else value in expected
            if op == "in" and isinstance(expected, list)
            else value not in expected
            if op == "not-in" and isinstance(expected, list)
            else False
        )
        if not held:
            raise denied(f"Policy Condition failed: {json.dumps(condition)}")


class PostObject:
    def __init__(self, store: ObjectStore, auth: Authenticator, now: Any) -> None:
        self._store = store
        self._auth = auth
        self._now = now  # the local clock's now()

    def handle(self, request: HttpRequest, bucket: str) -> Posted:
        _, options = parse_options_header(request.header("content-type"))
        boundary = options.get("boundary", "")
        if not boundary:
            raise OssError(
                400,
                "InvalidArgument",
                "The body of your POST request is not well-formed multipart/form-data.",
            )
        self._store.bucket_created(bucket)
        events = self._events(request.body_chunks(64 * 1024), boundary)
        fields: dict[str, str] = {}
        for segment in events:
            if segment.name is None:
                raise OssError(
                    400,
                    "MalformedPOSTRequest",
                    "The body of your POST request is not well-formed multipart/form-data.",
                )
            if segment.filename is not None or segment.name.lower() == "file":
                return self._store_file(bucket, fields, segment, events)
            value = b"".join(self._payload(events, MAX_FIELD_BYTES))
            if len(fields) == MAX_FIELDS:
                raise OssError(400, "MalformedPOSTRequest", "The form has too many fields.")
            fields[segment.name.lower()] = value.decode("utf-8", "replace")
        raise OssError(
            400,
            "InvalidArgument",
            "The form has no file (the field named file, last).",
            ArgumentName="file",
        )

    def _store_file(
        self, bucket: str, fields: dict[str, str], segment: MultipartSegment, events: Iterator[Any]
    ) -> Posted:
        key = fields.get("key", "").replace("${filename}", segment.filename or "")
        if not key:
            raise OssError(400, "InvalidArgument", "The form has no key.", ArgumentName="key")
        fields["key"] = key
        policy = self._authorize(bucket, key, fields)
        status = fields.get("success_action_status", "204")
        content_type = (
            fields.get("content-type") or segment.content_type or "application/octet-stream"
        )
        meta = {k: v for k, v in fields.items() if k.startswith("x-oss-meta-")}
        low, high = policy.size_range
        try:
            info = self._store.put(
                bucket,
                key,
                self._payload(events, high, too_large()),
                content_type,
                meta,
                limit=high,
                minimum=low,
            )
        except OssError as exc:
            if exc.code == "EntityTooLarge":
                exc.details.setdefault("EC", "0006-00000003")
            raise
        return Posted(info, int(status) if status in SUCCESS_STATUSES else 204)

    def _authorize(self, bucket: str, key: str, fields: dict[str, str]) -> Policy:
        if not fields.get("policy"):
            raise OssError(
                403,
                "AccessDenied",
                "Anonymous access is forbidden for this "
                "operation (the bucket is private; sign a "
                "policy).",
            )
        for name in ("ossaccesskeyid", "signature"):
            if not fields.get(name):
                raise OssError(400, "InvalidArgument", f"The form lacks {name}.", ArgumentName=name)
        principal = self._auth.principal(
            fields["ossaccesskeyid"], fields.get("x-oss-security-token") or None
        )
        if sign(principal.access_key_secret, fields["policy"].encode()) != fields["signature"]:
            raise OssError(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                OSSAccessKeyId=principal.access_key_id,
                StringToSign=fields["policy"],
            )
        policy = parse_policy(fields["policy"])
        if policy.expiration.timestamp() <= self._now():
            raise denied("Policy expired.")
        check_conditions(policy, fields, bucket)
        self._auth.allow(principal, "PutObject", bucket, key)
        return policy

    @staticmethod
    def _events(chunks: Iterator[bytes], boundary: str) -> Iterator[Any]:
        """The parser's events: a segment (its headers), its body in chunks, None at its end."""
        try:
            with PushMultipartParser(boundary, max_segment_count=MAX_FIELDS + 1) as parser:
                for chunk in chunks:
                    yield from parser.parse(chunk)
                yield from parser.parse(b"")
        except MultipartError as exc:
            raise OssError(
                400,
                "MalformedPOSTRequest",
                f"The body of your POST request is not well-formed multipart/form-data ({exc}).",
            ) from None

    @staticmethod
    def _payload(
        events: Iterator[Any], limit: int, too_big: OssError | None = None
    ) -> Iterator[bytes]:
        """The current segment's body, chunk by chunk, refused past `limit` bytes."""
        size = 0
        for event in events:
            if event is None:
                return
            size += len(event)
            if size > limit:
                raise too_big or OssError(400, "FieldItemTooLong", "A form field is too long.")
            yield event

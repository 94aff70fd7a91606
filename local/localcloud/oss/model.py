"""The local OSS's values and limits: objects, listings, multipart uploads and parts, OSS's
naming rules and the errors it answers with (OssError, rendered as OSS's XML error body).

ETag is the upper-case hex MD5 of the content for a simple upload, and for a multipart upload the
MD5 of the parts' binary MD5s joined, then `-{parts}` (as OSS gives them).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ServiceError

MAX_OBJECT_BYTES = 5 * 1024**3  # PutObject and each part (5 GiB)
MAX_MULTIPART_BYTES = 48_800 * 1024**3  # a multipart object (48.8 TB)
MIN_PART_BYTES = 100 * 1024  # every part but the last
MAX_PART_NUMBER = 10_000
MAX_KEY_BYTES = 1023
MAX_LIST_KEYS = 1000
# A bucket's canned ACL (x-oss-acl). Public read lets anyone GET and HEAD its objects unsigned:
# what a release's template and packages need, which the ROS console and FC of other accounts
# read (docs/deploy-from-console.md).
BUCKET_ACLS = ("private", "public-read", "public-read-write")
# 3-63 characters: lower-case letters, digits, '-'; starts and ends with a letter or digit.
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")


class OssError(ServiceError):
    """An error OSS answers: HTTP status, code, message (rendered as OSS's XML error body)."""

    def __init__(self, status: int, code: str, message: str, **details: str) -> None:
        super().__init__(status, code, message)
        self.details = details


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    content_type: str
    modified: float
    crc64: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)  # x-oss-meta-* headers, as sent
    object_type: str = "Normal"
    blob: str = ""


@dataclass(frozen=True)
class Listing:
    """One page of ListObjects: objects, common prefixes, and where the next page starts."""

    objects: list[ObjectInfo]
    prefixes: list[str]
    truncated: bool
    next_marker: str


@dataclass(frozen=True)
class Upload:
    upload_id: str
    bucket: str
    key: str
    content_type: str
    meta: Mapping[str, str]
    initiated: float


@dataclass(frozen=True)
class Part:
    number: int
    size: int
    etag: str
    modified: float
    crc64: str = ""
    blob: str = ""


def is_valid_bucket_name(name: str) -> bool:
    return bool(_BUCKET_NAME.fullmatch(name))


def checked_acl(acl: str) -> str:
    if acl not in BUCKET_ACLS:
        raise OssError(
            400, "InvalidArgument", f"no such bucket access control exists: {acl!r}.", ACL=acl
        )
    return acl


def no_such_bucket(bucket: str) -> OssError:
    return OssError(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)


def too_large() -> OssError:
    return OssError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")


def info_of(row: sqlite3.Row) -> ObjectInfo:
    return ObjectInfo(
        row["key"],
        row["size"],
        row["etag"],
        row["content_type"],
        row["modified"],
        row["crc64"],
        json.loads(row["meta"]),
        row["object_type"],
        row["blob"],
    )

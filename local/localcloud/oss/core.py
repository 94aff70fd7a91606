"""OSS buckets and objects kept in SQLite, with OSS's naming rules and error codes.

Objects are whole blobs (deployment packages, a few MB each): no multipart upload, versions or
storage classes. ETag is the upper-case hex MD5 of the content, as OSS gives for a simple upload.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ..clock import Clock
from ..errors import ServiceError
from ..state import Database

MAX_OBJECT_BYTES = 5 * 1024 ** 3  # PutObject limit (5 GiB)
MAX_KEY_BYTES = 1023
MAX_LIST_KEYS = 1000
# 3-63 characters: lower-case letters, digits, '-'; starts and ends with a letter or digit.
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL, etag TEXT NOT NULL,
    content_type TEXT NOT NULL, modified REAL NOT NULL, PRIMARY KEY (bucket, key)
)
"""


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


def is_valid_bucket_name(name: str) -> bool:
    return bool(_BUCKET_NAME.fullmatch(name))


def no_such_bucket(bucket: str) -> OssError:
    return OssError(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)


class ObjectStore:
    def __init__(self, db_path: Path | str, clock: Clock) -> None:
        self._db = Database(db_path, _SCHEMA)
        self._clock = clock

    def create_bucket(self, bucket: str) -> None:
        """PutBucket: creating a bucket you already own succeeds, as on OSS."""
        self._check_name(bucket)
        with self._db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO buckets VALUES (?, ?)", (bucket, self._clock.now()))

    def bucket_created(self, bucket: str) -> float:
        self._check_name(bucket)
        with self._db.transaction() as conn:
            row = conn.execute("SELECT created FROM buckets WHERE name = ?", (bucket,)).fetchone()
        if row is None:
            raise no_such_bucket(bucket)
        return float(row["created"])

    def delete_bucket(self, bucket: str) -> None:
        self.bucket_created(bucket)
        with self._db.transaction() as conn:
            if conn.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (bucket,)).fetchone():
                raise OssError(409, "BucketNotEmpty", "The bucket you tried to delete is not "
                                                      "empty.", BucketName=bucket)
            conn.execute("DELETE FROM buckets WHERE name = ?", (bucket,))

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> ObjectInfo:
        self._check_key(key)
        if len(data) > MAX_OBJECT_BYTES:
            raise OssError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum "
                                                  "allowed size.")
        etag = hashlib.md5(data).hexdigest().upper()
        now = self._clock.now()
        with self._db.transaction() as conn:
            self.bucket_created(bucket)
            conn.execute("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?)",
                         (bucket, key, data, etag, content_type, now))
        return ObjectInfo(key, len(data), etag, content_type, now)

    def get(self, bucket: str, key: str) -> tuple[ObjectInfo, bytes]:
        self._check_key(key)
        with self._db.transaction() as conn:
            self.bucket_created(bucket)
            row = conn.execute("SELECT * FROM objects WHERE bucket = ? AND key = ?",
                               (bucket, key)).fetchone()
        if row is None:
            raise OssError(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        data = bytes(row["data"])
        return ObjectInfo(key, len(data), row["etag"], row["content_type"], row["modified"]), data

    def delete(self, bucket: str, key: str) -> None:
        """DeleteObject: deleting a missing key succeeds (204), as on OSS."""
        self._check_key(key)
        with self._db.transaction() as conn:
            self.bucket_created(bucket)
            conn.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))

    def list(self, bucket: str, prefix: str, start_after: str,
             max_keys: int) -> tuple[list[ObjectInfo], bool]:
        """Keys after `start_after` with `prefix`, in byte order; (page, truncated)."""
        with self._db.transaction() as conn:
            self.bucket_created(bucket)
            rows = conn.execute(
                "SELECT key, length(data) AS size, etag, content_type, modified FROM objects "
                "WHERE bucket = ? AND key > ? AND substr(key, 1, ?) = ? ORDER BY key LIMIT ?",
                (bucket, start_after, len(prefix), prefix, max_keys + 1)).fetchall()
        page = [ObjectInfo(r["key"], r["size"], r["etag"], r["content_type"], r["modified"])
                for r in rows]
        return page[:max_keys], len(page) > max_keys

    @staticmethod
    def _check_name(bucket: str) -> None:
        if not is_valid_bucket_name(bucket):
            raise OssError(400, "InvalidBucketName", "The specified bucket is not valid.",
                           BucketName=bucket)

    @staticmethod
    def _check_key(key: str) -> None:
        if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES or key.startswith("/"):
            raise OssError(400, "InvalidObjectName", "The specified object is not valid.", Key=key)

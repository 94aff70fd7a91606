"""OSS buckets and objects: names, metadata and multipart uploads in SQLite, the bytes on disk
(`blobs.BlobFolder`), with OSS's naming rules and error codes.

ETag is the upper-case hex MD5 of the content for a simple upload, and for a multipart upload the
MD5 of the parts' binary MD5s joined, then `-{parts}` (as OSS gives them). No versions, ACLs or
storage classes.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..clock import Clock
from ..errors import ServiceError
from ..state import Database
from .blobs import Blob, BlobFolder

MAX_OBJECT_BYTES = 5 * 1024**3  # PutObject and each part (5 GiB)
MAX_MULTIPART_BYTES = 48_800 * 1024**3  # a multipart object (48.8 TB)
MIN_PART_BYTES = 100 * 1024  # every part but the last
MAX_PART_NUMBER = 10_000
MAX_KEY_BYTES = 1023
MAX_LIST_KEYS = 1000
# 3-63 characters: lower-case letters, digits, '-'; starts and ends with a letter or digit.
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL,
    etag TEXT NOT NULL, crc64 TEXT NOT NULL, content_type TEXT NOT NULL, meta TEXT NOT NULL,
    object_type TEXT NOT NULL, modified REAL NOT NULL, PRIMARY KEY (bucket, key)
);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL,
    content_type TEXT NOT NULL, meta TEXT NOT NULL, initiated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL, number INTEGER NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL,
    etag TEXT NOT NULL, crc64 TEXT NOT NULL, modified REAL NOT NULL,
    PRIMARY KEY (upload_id, number)
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


def no_such_bucket(bucket: str) -> OssError:
    return OssError(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)


def too_large() -> OssError:
    return OssError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")


def _info(row: sqlite3.Row) -> ObjectInfo:
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


class ObjectStore:
    """Objects' bytes live in `blob_folder` (default: an `oss` folder beside the database)."""

    def __init__(self, db_path: Path | str, clock: Clock, blob_folder: Path | None = None) -> None:
        self._db = Database(db_path, "")
        self._blobs = BlobFolder(blob_folder or Path(db_path).parent / "oss")
        self._clock = clock
        self._migrate()

    @property
    def database(self) -> Database:
        return self._db

    def _migrate(self) -> None:
        """A state folder from before objects moved to disk: each object row's bytes become a
        file, then the tables take today's shape."""
        with self._db.transaction() as conn:
            columns = {r[1] for r in conn.execute("PRAGMA table_info(objects)")}
            if "data" in columns:
                conn.execute("ALTER TABLE objects RENAME TO objects_in_rows")
            for statement in _SCHEMA.split(";"):
                conn.execute(statement)
            if "data" not in columns:
                return
            for row in conn.execute("SELECT * FROM objects_in_rows").fetchall():
                blob = self._blobs.write([bytes(row["data"])], MAX_OBJECT_BYTES)
                self._insert(
                    conn, row["bucket"], row["key"], blob, row["content_type"], {}, row["modified"]
                )
            conn.execute("DROP TABLE objects_in_rows")

    # -- buckets ---------------------------------------------------------------------------------
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

    def buckets(self) -> list[str]:
        with self._db.transaction() as conn:
            return [r[0] for r in conn.execute("SELECT name FROM buckets ORDER BY name")]

    def delete_bucket(self, bucket: str) -> None:
        self.bucket_created(bucket)
        with self._db.transaction() as conn:
            if conn.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (bucket,)).fetchone():
                raise OssError(
                    409,
                    "BucketNotEmpty",
                    "The bucket you tried to delete is not empty.",
                    BucketName=bucket,
                )
            conn.execute("DELETE FROM buckets WHERE name = ?", (bucket,))

    # -- objects ---------------------------------------------------------------------------------
    def put(
        self,
        bucket: str,
        key: str,
        chunks: Iterable[bytes] | bytes,
        content_type: str,
        meta: Mapping[str, str] | None = None,
        *,
        limit: int = MAX_OBJECT_BYTES,
        minimum: int = 0,
        content_md5: bytes | None = None,
    ) -> ObjectInfo:
        """Store an object from `chunks`; EntityTooLarge past `limit` bytes, EntityTooSmall
        under `minimum`, InvalidDigest when `content_md5` is given and differs. Nothing is
        stored on a refusal."""
        self._check_key(key)
        self.bucket_created(bucket)
        blob = self._write(chunks, limit, content_md5, minimum)
        return self._commit(bucket, key, blob, content_type, meta or {})

    def _write(
        self,
        chunks: Iterable[bytes] | bytes,
        limit: int,
        content_md5: bytes | None,
        minimum: int = 0,
    ) -> Blob:
        """A new file of `chunks`, kept only if its size and MD5 are as required."""
        try:
            blob = self._blobs.write([chunks] if isinstance(chunks, bytes) else chunks, limit)
        except OverflowError:
            raise too_large() from None
        refusal = None
        if blob.size < minimum:
            refusal = OssError(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size.",
            )
        elif content_md5 is not None and content_md5 != blob.md5:
            refusal = OssError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
        if refusal is not None:
            self._blobs.remove(blob.name)
            raise refusal
        return blob

    @contextmanager
    def _recording(self, blob: Blob) -> Iterator[sqlite3.Connection]:
        """A transaction that records `blob`; should it fail, the file goes too."""
        try:
            with self._db.transaction() as conn:
                yield conn
        except BaseException:
            self._blobs.remove(blob.name)
            raise

    def _commit(
        self,
        bucket: str,
        key: str,
        blob: Blob,
        content_type: str,
        meta: Mapping[str, str],
        etag: str = "",
        object_type: str = "Normal",
    ) -> ObjectInfo:
        with self._recording(blob) as conn:
            self.bucket_created(bucket)
            old = conn.execute(
                "SELECT blob FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
            ).fetchone()
            info = self._insert(
                conn, bucket, key, blob, content_type, meta, self._clock.now(), etag, object_type
            )
        if old is not None:
            self._blobs.remove(old["blob"])
        return info

    @staticmethod
    def _insert(
        conn: sqlite3.Connection,
        bucket: str,
        key: str,
        blob: Blob,
        content_type: str,
        meta: Mapping[str, str],
        now: float,
        etag: str = "",
        object_type: str = "Normal",
    ) -> ObjectInfo:
        info = ObjectInfo(
            key,
            blob.size,
            etag or blob.md5.hex().upper(),
            content_type,
            now,
            str(blob.crc64),
            dict(meta),
            object_type,
            blob.name,
        )
        conn.execute(
            "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                bucket,
                key,
                blob.name,
                info.size,
                info.etag,
                info.crc64,
                content_type,
                json.dumps(info.meta),
                object_type,
                now,
            ),
        )
        return info

    def head(self, bucket: str, key: str) -> ObjectInfo:
        self._check_key(key)
        with self._db.transaction() as conn:
            self.bucket_created(bucket)
            row = conn.execute(
                "SELECT * FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
            ).fetchone()
        if row is None:
            raise OssError(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        return _info(row)

    def read(self, info: ObjectInfo, start: int = 0, end: int | None = None) -> Iterable[bytes]:
        return self._blobs.read(info.blob, start, end)

    def get(self, bucket: str, key: str) -> tuple[ObjectInfo, bytes]:
        """The whole object in memory (deployment packages, a few MB)."""
        info = self.head(bucket, key)
        return info, b"".join(self.read(info))

    def delete(self, bucket: str, key: str) -> None:
        """DeleteObject: deleting a missing key succeeds (204), as on OSS."""
        self._check_key(key)
        with self._db.transaction() as conn:
            self.bucket_created(bucket)
            row = conn.execute(
                "DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING blob", (bucket, key)
            ).fetchone()
        if row is not None:
            self._blobs.remove(row["blob"])

    def listing(
        self, bucket: str, prefix: str, start_after: str, max_keys: int, delimiter: str = ""
    ) -> Listing:
        """Keys after `start_after` with `prefix`, in byte order; with a delimiter, keys that
        hold it past the prefix are rolled up into common prefixes. Keys plus prefixes on a
        page are at most `max_keys`."""
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        last = ""
        with self._db.transaction() as conn:
            self.bucket_created(bucket)
            rows = conn.execute(
                "SELECT * FROM objects WHERE bucket = ? AND key > ? AND substr(key, 1, ?) = ? "
                "ORDER BY key",
                (bucket, start_after, len(prefix), prefix),
            )
            for row in rows:
                key = row["key"]
                rolled = ""
                if delimiter:
                    cut = key.find(delimiter, len(prefix))
                    rolled = key[: cut + len(delimiter)] if cut >= 0 else ""
                if rolled and prefixes and prefixes[-1] == rolled:
                    continue
                if len(objects) + len(prefixes) == max_keys:
                    return Listing(objects, prefixes, True, last)
                if rolled:
                    prefixes.append(rolled)
                    last = rolled
                else:
                    objects.append(_info(row))
                    last = key
        return Listing(objects, prefixes, False, "")

    # -- multipart upload ------------------------------------------------------------------------
    def initiate(self, bucket: str, key: str, content_type: str, meta: Mapping[str, str]) -> Upload:
        self._check_key(key)
        upload = Upload(
            uuid.uuid4().hex.upper(), bucket, key, content_type, dict(meta), self._clock.now()
        )
        with self._db.transaction() as conn:
            self.bucket_created(bucket)
            conn.execute(
                "INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?)",
                (
                    upload.upload_id,
                    bucket,
                    key,
                    content_type,
                    json.dumps(upload.meta),
                    upload.initiated,
                ),
            )
        return upload

    def upload(self, bucket: str, key: str, upload_id: str) -> Upload:
        with self._db.transaction() as conn:
            self.bucket_created(bucket)
            row = conn.execute(
                "SELECT * FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
                (upload_id, bucket, key),
            ).fetchone()
        if row is None:
            raise OssError(
                404,
                "NoSuchUpload",
                "The specified upload does not exist. The upload "
                "ID may be invalid, or the upload may have been "
                "aborted or completed.",
                UploadId=upload_id,
            )
        return Upload(
            row["upload_id"],
            row["bucket"],
            row["key"],
            row["content_type"],
            json.loads(row["meta"]),
            row["initiated"],
        )

    def put_part(
        self,
        upload: Upload,
        number: int,
        chunks: Iterable[bytes] | bytes,
        content_md5: bytes | None = None,
    ) -> Part:
        if not 1 <= number <= MAX_PART_NUMBER:
            raise OssError(
                400,
                "InvalidArgument",
                f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive.",
            )
        blob = self._write(chunks, MAX_OBJECT_BYTES, content_md5)
        part = Part(
            number, blob.size, blob.md5.hex().upper(), self._clock.now(), str(blob.crc64), blob.name
        )
        with self._recording(blob) as conn:
            self.upload(upload.bucket, upload.key, upload.upload_id)  # not aborted meanwhile
            old = conn.execute(
                "SELECT blob FROM parts WHERE upload_id = ? AND number = ?",
                (upload.upload_id, number),
            ).fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO parts VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    upload.upload_id,
                    number,
                    blob.name,
                    blob.size,
                    part.etag,
                    part.crc64,
                    part.modified,
                ),
            )
        if old is not None:
            self._blobs.remove(old["blob"])
        return part

    def parts(self, upload: Upload) -> list[Part]:
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM parts WHERE upload_id = ? ORDER BY number", (upload.upload_id,)
            ).fetchall()
        return [
            Part(r["number"], r["size"], r["etag"], r["modified"], r["crc64"], r["blob"])
            for r in rows
        ]

    def uploads(self, bucket: str, prefix: str) -> list[Upload]:
        with self._db.transaction() as conn:
            self.bucket_created(bucket)
            rows = conn.execute(
                "SELECT * FROM uploads WHERE bucket = ? AND substr(key, 1, ?) = ? "
                "ORDER BY key, initiated",
                (bucket, len(prefix), prefix),
            ).fetchall()
        return [
            Upload(
                r["upload_id"],
                r["bucket"],
                r["key"],
                r["content_type"],
                json.loads(r["meta"]),
                r["initiated"],
            )
            for r in rows
        ]

    def complete(self, upload: Upload, chosen: list[tuple[int, str]]) -> ObjectInfo:
        """Join the chosen parts (number, ETag), in ascending order, into the object."""
        if not chosen:
            raise OssError(
                400,
                "MalformedXML",
                "The XML you provided was not well-formed or did "
                "not validate against our published schema.",
            )
        numbers = [n for n, _ in chosen]
        if numbers != sorted(set(numbers)):
            raise OssError(
                400,
                "InvalidPartOrder",
                "The list of parts was not in ascending "
                "order. Parts list must be specified in "
                "order by part number.",
            )
        stored = {p.number: p for p in self.parts(upload)}
        picked = []
        for number, etag in chosen:
            part = stored.get(number)
            if part is None or part.etag != etag.strip('"').upper():
                raise OssError(
                    400,
                    "InvalidPart",
                    "One or more of the specified parts could not "
                    "be found or the specified entity tag might "
                    "not have matched the part's entity tag.",
                    PartNumber=str(number),
                    ETag=etag,
                )
            picked.append(part)
        if any(p.size < MIN_PART_BYTES for p in picked[:-1]):
            raise OssError(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size.",
            )
        try:
            blob = self._blobs.concatenate([p.blob for p in picked], MAX_MULTIPART_BYTES)
        except OverflowError:
            raise too_large() from None
        joined = b"".join(bytes.fromhex(p.etag) for p in picked)
        etag = f"{hashlib.md5(joined).hexdigest().upper()}-{len(picked)}"
        info = self._commit(
            upload.bucket, upload.key, blob, upload.content_type, upload.meta, etag, "Multipart"
        )
        self._drop_upload(upload)
        return info

    def abort(self, upload: Upload) -> None:
        self._drop_upload(upload)

    def _drop_upload(self, upload: Upload) -> None:
        with self._db.transaction() as conn:
            blobs = [
                r[0]
                for r in conn.execute(
                    "DELETE FROM parts WHERE upload_id = ? RETURNING blob", (upload.upload_id,)
                )
            ]
            conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload.upload_id,))
        self._blobs.remove(*blobs)

    @staticmethod
    def _check_name(bucket: str) -> None:
        if not is_valid_bucket_name(bucket):
            raise OssError(
                400, "InvalidBucketName", "The specified bucket is not valid.", BucketName=bucket
            )

    @staticmethod
    def _check_key(key: str) -> None:
        if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES or key.startswith("/"):
            raise OssError(400, "InvalidObjectName", "The specified object is not valid.", Key=key)

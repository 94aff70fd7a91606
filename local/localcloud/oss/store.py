"""OSS buckets and objects: names and metadata in SQLite, the bytes on disk (`blobs.BlobFolder`),
with OSS's naming rules and error codes; multipart uploads are `multipart.MultipartUploads`'.
Each bucket may carry lifecycle rules (`lifecycle.Rule`): an object past its rule's age is gone
for every request that looks for it, and deleted then; and a canned ACL (private unless set). No
versions, object ACLs or storage classes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ..clock import Clock
from ..state import Database
from .blobs import Blob, BlobFolder
from .lifecycle import Rule
from .model import (
    MAX_KEY_BYTES,
    MAX_OBJECT_BYTES,
    Listing,
    ObjectInfo,
    OssError,
    checked_acl,
    info_of,
    is_valid_bucket_name,
    no_such_bucket,
    too_large,
)
from .multipart import MultipartUploads

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
);
CREATE TABLE IF NOT EXISTS lifecycle (bucket TEXT PRIMARY KEY, rules TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bucket_acls (bucket TEXT PRIMARY KEY, acl TEXT NOT NULL)
"""
MAX_COPY_BYTES = 1024**3  # CopyObject; a bigger object is copied part by part (UploadPartCopy)


class ObjectStore(MultipartUploads):
    """Objects' bytes live in `blob_folder` (default: an `oss` folder beside the database)."""

    def __init__(self, db_path: Path | str, clock: Clock, blob_folder: Path | None = None) -> None:
        self._db = Database(db_path, "")
        self._blobs = BlobFolder(blob_folder or Path(db_path).parent / "oss")
        self._clock = clock
        self._migrate()

    @property
    def database(self) -> Database:
        return self._db

    @property
    def blobs(self) -> BlobFolder:
        """Where the objects' bytes are (the console's state file carries them: oss/exports.py)."""
        return self._blobs

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
    def create_bucket(self, bucket: str, acl: str | None = None) -> None:
        """PutBucket: creating a bucket you already own succeeds, as on OSS (with `acl`, its ACL
        becomes that)."""
        self._check_name(bucket)
        if acl is not None:
            checked_acl(acl)  # before anything is created
        with self._db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO buckets VALUES (?, ?)", (bucket, self._clock.now()))
        if acl is not None:
            self.set_acl(bucket, acl)

    def set_acl(self, bucket: str, acl: str) -> None:
        """PutBucketAcl."""
        checked_acl(acl)
        self.bucket_created(bucket)
        with self._db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO bucket_acls VALUES (?, ?)", (bucket, acl))

    def acl(self, bucket: str) -> str:
        """GetBucketAcl: the bucket's canned ACL."""
        self.bucket_created(bucket)
        with self._db.transaction() as conn:
            row = conn.execute("SELECT acl FROM bucket_acls WHERE bucket = ?", (bucket,)).fetchone()
        return "private" if row is None else str(row["acl"])

    def is_public(self, bucket: str) -> bool:
        """Whether anyone may read the bucket's objects unsigned (false for a missing bucket)."""
        with self._db.transaction() as conn:
            row = conn.execute("SELECT acl FROM bucket_acls WHERE bucket = ?", (bucket,)).fetchone()
        return row is not None and row["acl"] in ("public-read", "public-read-write")

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
            conn.execute("DELETE FROM bucket_acls WHERE bucket = ?", (bucket,))

    def set_lifecycle(self, bucket: str, rules: Iterable[Rule]) -> None:
        """PutBucketLifecycle: the bucket's rules, replacing those it had (none: DeleteBucket-
        Lifecycle)."""
        self.bucket_created(bucket)
        text = json.dumps([rule.to_json() for rule in rules])
        with self._db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO lifecycle VALUES (?, ?)", (bucket, text))

    def lifecycle(self, bucket: str) -> tuple[Rule, ...]:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT rules FROM lifecycle WHERE bucket = ?", (bucket,)).fetchone()
        return () if row is None else tuple(Rule.from_json(r) for r in json.loads(row["rules"]))

    def _expired(self, bucket: str, info: ObjectInfo) -> bool:
        """An object its bucket's lifecycle has expired is deleted when a request looks for it:
        OSS runs its rules some time after an object's age is reached, so a caller can never
        rely on seeing it after that."""
        now = self._clock.now()
        if not any(rule.expires(info.key, info.modified, now) for rule in self.lifecycle(bucket)):
            return False
        self.delete(bucket, info.key)
        return True

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
        if row is None or self._expired(bucket, info_of(row)):
            raise OssError(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        return info_of(row)

    def copy(
        self,
        source: tuple[str, str],
        bucket: str,
        key: str,
        replace: tuple[str, Mapping[str, str]] | None = None,
    ) -> ObjectInfo:
        """CopyObject: `source` (bucket, key) to `key`, with its content type and metadata, or
        with `replace` (content type, metadata) when the request says REPLACE."""
        self._check_key(key)
        self.bucket_created(bucket)
        info = self.head(*source)
        if info.size > MAX_COPY_BYTES:
            raise OssError(
                400,
                "InvalidArgument",
                "The source object is larger than 1 GB; copy it with UploadPartCopy.",
            )
        blob = self._write(self.read(info), MAX_COPY_BYTES, None)
        content_type, meta = replace or (info.content_type, info.meta)
        return self._commit(bucket, key, blob, content_type, meta)

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
        rules, now = self.lifecycle(bucket), self._clock.now()
        with self._db.transaction() as conn:
            self.bucket_created(bucket)
            rows = conn.execute(
                "SELECT * FROM objects WHERE bucket = ? AND key > ? AND substr(key, 1, ?) = ? "
                "ORDER BY key",
                (bucket, start_after, len(prefix), prefix),
            )
            for row in rows:
                key = row["key"]
                if any(rule.expires(key, row["modified"], now) for rule in rules):
                    continue  # gone for every reader; deleted when it is looked up
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
                    objects.append(info_of(row))
                    last = key
        return Listing(objects, prefixes, False, "")

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

"""Multipart upload (initiate, upload part, complete, abort, list parts and uploads) on the
object store's tables and blob folder: a mixin of `store.ObjectStore`, whose helpers it uses."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Protocol

from ..clock import Clock
from ..state import Database
from .blobs import Blob, BlobFolder
from .model import (
    MAX_MULTIPART_BYTES,
    MAX_OBJECT_BYTES,
    MAX_PART_NUMBER,
    MIN_PART_BYTES,
    ObjectInfo,
    OssError,
    Part,
    Upload,
    too_large,
)


class _Store(Protocol):
    """What the mixin uses of `store.ObjectStore` (mypy checks each method's self against it)."""

    _db: Database
    _blobs: BlobFolder
    _clock: Clock

    def bucket_created(self, bucket: str) -> float: ...
    def _check_key(self, key: str) -> None: ...
    def _write(
        self, chunks: Iterable[bytes] | bytes, limit: int, content_md5: bytes | None
    ) -> Blob: ...
    def _recording(self, blob: Blob) -> AbstractContextManager[sqlite3.Connection]: ...
    def _commit(
        self,
        bucket: str,
        key: str,
        blob: Blob,
        content_type: str,
        meta: Mapping[str, str],
        etag: str = "",
        object_type: str = "Normal",
    ) -> ObjectInfo: ...
    def upload(self, bucket: str, key: str, upload_id: str) -> Upload: ...
    def parts(self, upload: Upload) -> list[Part]: ...
    def _drop_upload(self, upload: Upload) -> None: ...


class MultipartUploads:
    def initiate(
        self: _Store, bucket: str, key: str, content_type: str, meta: Mapping[str, str]
    ) -> Upload:
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

    def upload(self: _Store, bucket: str, key: str, upload_id: str) -> Upload:
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
        self: _Store,
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

    def parts(self: _Store, upload: Upload) -> list[Part]:
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM parts WHERE upload_id = ? ORDER BY number", (upload.upload_id,)
            ).fetchall()
        return [
            Part(r["number"], r["size"], r["etag"], r["modified"], r["crc64"], r["blob"])
            for r in rows
        ]

    def uploads(self: _Store, bucket: str, prefix: str) -> list[Upload]:
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

    def complete(self: _Store, upload: Upload, chosen: list[tuple[int, str]]) -> ObjectInfo:
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

    def abort(self: _Store, upload: Upload) -> None:
        self._drop_upload(upload)

    def _drop_upload(self: _Store, upload: Upload) -> None:
        with self._db.transaction() as conn:
            blobs = [
                r[0]
                for r in conn.execute(
                    "DELETE FROM parts WHERE upload_id = ? RETURNING blob", (upload.upload_id,)
                )
            ]
            conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload.upload_id,))
        self._blobs.remove(*blobs)

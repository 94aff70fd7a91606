"""The users' files in the console's state file (console/state.py, a `StatePart` named `oss`):
the objects of the buckets the template declares, where the db function keeps users' files, as
`oss/objects.json` (each object's bucket, key, metadata and blob name) and `oss/{blob}` (its
bytes). The other buckets' objects, `make deploy`'s and `make release`'s packages, belong with
the ROS stacks, which the file does not carry either: an import and a reset leave them alone.
Multipart uploads in progress are not carried.

An import checks everything before it changes anything: the index's shape, each object's bucket
(one this cloud declares), key and metadata, one entry of bytes per object at the size the index
says, and no other entry. Then the bytes are copied into the blob folder, and in one transaction
the declared buckets' objects become the file's; the bytes only the replaced objects held are
deleted after. A blob is written once and never changed, so a name already in the folder holds
the same bytes and is kept.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..console.state import StateFileInvalid, unpack
from .model import MAX_KEY_BYTES
from .store import ObjectStore

NAME = "oss"
INDEX = f"{NAME}/objects.json"
BLOB_NAME = re.compile(r"[0-9a-f]{32}")  # uuid4().hex, as blobs.BlobFolder names its files
# An object as the index holds it: field -> its type (the objects table's columns).
FIELDS: dict[str, type | tuple[type, ...]] = {
    "bucket": str,
    "key": str,
    "blob": str,
    "size": int,
    "etag": str,
    "crc64": str,
    "contentType": str,
    "meta": dict,
    "objectType": str,
    "modified": (int, float),
}
_COLUMNS = "bucket, key, blob, size, etag, crc64, content_type, meta, object_type, modified"
MAX_INDEX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Incoming:
    """A file's users' files, checked: the objects table's rows and their unpacked bytes."""

    rows: tuple[tuple[Any, ...], ...]
    blobs: Mapping[str, Path]


class UsersFiles:
    name = NAME

    def __init__(self, store: ObjectStore, buckets: Callable[[], Iterable[str]]) -> None:
        self._store = store
        self._buckets = buckets  # the template's (declared) buckets

    def _declared(self) -> list[str]:
        return sorted(set(self._buckets()))

    # -- export ---------------------------------------------------------------------------------
    def export(self, archive: zipfile.ZipFile) -> None:
        buckets = self._declared()
        marks = ", ".join("?" * len(buckets))
        with self._store.database.transaction() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM objects WHERE bucket IN ({marks}) ORDER BY bucket, key",
                buckets,
            ).fetchall()
        index = []
        for row in rows:
            try:
                archive.write(self._store.blobs.path(row["blob"]), f"{NAME}/{row['blob']}")
            except FileNotFoundError:
                continue  # deleted since the rows were read: not in the file either
            index.append({field: row[i] for i, field in enumerate(FIELDS)})
            index[-1]["meta"] = json.loads(row["meta"])
        archive.writestr(INDEX, json.dumps(index, ensure_ascii=False))

    # -- import ---------------------------------------------------------------------------------
    def check(
        self,
        archive: zipfile.ZipFile,
        entries: Mapping[str, zipfile.ZipInfo],
        folder: Path,
        budget: int,
    ) -> tuple[Incoming, int]:
        if INDEX not in entries:
            raise StateFileInvalid(f"the file holds {NAME}/ entries but no {INDEX}")
        used = unpack(
            archive, entries[INDEX], folder / "objects.json", min(budget, MAX_INDEX_BYTES)
        )
        try:
            index = json.loads((folder / "objects.json").read_text(encoding="utf-8"))
        except (ValueError, RecursionError):
            raise StateFileInvalid(f"{INDEX} in the file is not JSON") from None
        rows = self._rows(index)
        named = {row[2]: row[3] for row in rows}
        held = {e.removeprefix(f"{NAME}/") for e in entries if e != INDEX}
        if held != set(named):
            odd = sorted(held ^ set(named))[0]
            said = "lacks the bytes of" if odd in named else "holds bytes no object names:"
            raise StateFileInvalid(f"the file {said} {NAME}/{odd}")
        blobs = {}
        for blob, size in sorted(named.items()):
            info = entries[f"{NAME}/{blob}"]
            if info.file_size != size:
                raise StateFileInvalid(f"{NAME}/{blob} holds {info.file_size} bytes, not {size}")
            blobs[blob] = folder / blob
            used += unpack(archive, info, blobs[blob], budget - used)
        return Incoming(tuple(rows), blobs), used

    def _rows(self, index: object) -> list[tuple[Any, ...]]:
        """The objects table's rows of a checked index."""
        if not isinstance(index, list):
            raise StateFileInvalid(f"{INDEX} in the file is not a list of objects")
        declared = set(self._declared())
        rows: list[tuple[Any, ...]] = []
        seen: set[object] = set()  # (bucket, key) and blob names
        for i, item in enumerate(index):
            where = f"{INDEX}[{i}]"
            if not isinstance(item, dict) or set(item) != set(FIELDS):
                raise StateFileInvalid(f"{where} is not an object with {', '.join(FIELDS)}")
            for field, kind in FIELDS.items():
                value = item[field]
                if not isinstance(value, kind) or isinstance(value, bool):
                    raise StateFileInvalid(f"{where}.{field} has the wrong type")
            if item["bucket"] not in declared:
                raise StateFileInvalid(
                    f"{where} is in bucket {item['bucket']!r}, which this cloud does not declare"
                )
            key, meta = item["key"], item["meta"]
            if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES or key.startswith("/"):
                raise StateFileInvalid(f"{where}.key is not an object key")
            if not BLOB_NAME.fullmatch(item["blob"]) or item["size"] < 0:
                raise StateFileInvalid(f"{where} names its bytes wrong")
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
                raise StateFileInvalid(f"{where}.meta is not text to text")
            if (item["bucket"], key) in seen or item["blob"] in seen:
                raise StateFileInvalid(f"{where} repeats an object or its bytes")
            seen |= {(item["bucket"], key), item["blob"]}
            rows.append(tuple(json.dumps(meta) if f == "meta" else item[f] for f in FIELDS))
        return rows

    def replace(self, checked: Incoming) -> None:
        added = self._adopt(checked.blobs)
        buckets = self._declared()
        marks = ", ".join("?" * len(buckets))
        try:
            with self._store.database.transaction() as conn:
                old = {
                    str(r[0])
                    for r in conn.execute(
                        f"SELECT blob FROM objects WHERE bucket IN ({marks})", buckets
                    )
                }
                conn.execute(f"DELETE FROM objects WHERE bucket IN ({marks})", buckets)
                conn.executemany(
                    f"INSERT INTO objects ({_COLUMNS}) VALUES ({', '.join('?' * 10)})",
                    checked.rows,
                )
        except BaseException:
            self._forget(added)
            raise
        self._forget(old)

    def _adopt(self, files: Mapping[str, Path]) -> list[str]:
        """Copy `files` (blob name -> its bytes) into the blob folder; the names added (one
        already there is kept)."""
        return [name for name, source in files.items() if self._store.blobs.adopt(name, source)]

    def _forget(self, names: Iterable[str]) -> None:
        """Delete the blobs of `names` no object or part names now (a blob being written for an
        upload meanwhile is named by no row yet, and is not among `names`)."""
        with self._store.database.transaction() as conn:
            live = {
                str(r[0])
                for r in conn.execute("SELECT blob FROM objects UNION SELECT blob FROM parts")
            }
        self._store.blobs.remove(*(set(names) - live))

    # -- reset ----------------------------------------------------------------------------------
    def reset(self) -> None:
        buckets = self._declared()
        marks = ", ".join("?" * len(buckets))
        with self._store.database.transaction() as conn:
            gone = [
                str(r[0])
                for r in conn.execute(
                    f"DELETE FROM objects WHERE bucket IN ({marks}) RETURNING blob", buckets
                )
            ]
        self._forget(gone)

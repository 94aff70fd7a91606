"""Object bytes on disk: one file per stored object or part, named by a random id, under the
state folder's `oss/` (0700 folders, 0600 files, as the rest of the state). Each file is written
to a temporary name in chunks and renamed into place, so a reader never sees half of one and an
upload never sits in memory whole.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import crcmod

from ..state import PRIVATE_FILE, PRIVATE_FOLDER

CHUNK = 1024 * 1024
# CRC-64/ECMA as OSS reports it in x-oss-hash-crc64ecma; oss2 compares it with its own.
crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class Blob:
    """A file written: its name in the folder, size, MD5 (raw) and CRC-64."""

    name: str
    size: int
    md5: bytes
    crc64: int


class BlobFolder:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
        folder.chmod(PRIVATE_FOLDER)

    def path(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"not a blob name: {name!r}")
        return self._folder / name

    def write(self, chunks: Iterable[bytes], limit: int) -> Blob:
        """Store `chunks` as a new file; OverflowError (nothing kept) past `limit` bytes."""
        name = uuid.uuid4().hex
        md5, crc, size = hashlib.md5(), 0, 0
        with self._placing(name, os.O_EXCL) as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise OverflowError(size)
                md5.update(chunk)
                crc = crc64(chunk, crc)
                out.write(chunk)
        return Blob(name, size, md5.digest(), crc)

    def adopt(self, name: str, source: Path) -> bool:
        """Copy `source` in as the file `name` (a state file's import, oss/exports.py); False
        when the folder holds that name already: a blob is written once and never changed, so
        it holds the same bytes and is kept."""
        if self.path(name).exists():
            return False
        # O_TRUNC, not O_EXCL: the name is the file's, so an import cut short may have left it
        with self._placing(name, os.O_TRUNC) as out, source.open("rb") as data:
            shutil.copyfileobj(data, out)
        return True

    @contextmanager
    def _placing(self, name: str, flag: int) -> Iterator[BinaryIO]:
        """A new file `name`, written under a temporary name (0600) and renamed into place whole
        when the block ends; nothing is left of it if the block raises."""
        temporary = self._folder / f".{name}.part"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | flag, PRIVATE_FILE)
        try:
            with os.fdopen(fd, "wb") as out:
                yield out
            os.replace(temporary, self.path(name))
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def concatenate(self, names: list[str], limit: int) -> Blob:
        """One new file holding the named files one after another (multipart completion)."""

        def chunks() -> Iterator[bytes]:
            for name in names:
                yield from self.read(name, 0, None)

        return self.write(chunks(), limit)

    def read(self, name: str, start: int, end: int | None) -> Iterator[bytes]:
        """Bytes start..end (inclusive; None: to the end), in chunks."""
        with self.path(name).open("rb") as file:
            file.seek(start)
            left = None if end is None else end - start + 1
            while left is None or left > 0:
                chunk = file.read(CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    def remove(self, *names: str) -> None:
        for name in names:
            self.path(name).unlink(missing_ok=True)

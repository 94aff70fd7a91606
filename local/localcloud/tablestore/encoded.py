"""Stored rows as a full-row read answers them, in PlainBuffer, encoded once per content.

Why: a GetRange answers up to 5,000 rows, and encoding them in Python (every cell's CRC-8 is
computed a byte at a time) was most of the time a large 2020 `list` spent waiting on this
emulator: about 70 ms per 1,000 rows, which the cloud would never charge to the function.

A read of every column of a row, with no time range, no filter and no TTL to apply, is a pure
function of the row's stored key bytes, its stored cells text, the table's key layout and the
read's `max_versions`. So that encoding is cached under exactly those inputs: a row written since
is a different cache key, never a stale answer, and the bytes are the ones `plainbuffer` writes
(the encoder the contract tests hold to what the SDK decodes). Writes prime the cache with the
encoding a full-row read with `max_versions=1` (what the SDK's reads ask for) would answer, so a
range read after writes encodes nothing. The cache is bounded (least recently used rows go).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import cells as cellops
from .keys import decode_key
from .model import KeyColumn, ReadOptions, TableMeta
from .plainbuffer import row_body

# About 0.5 KB per cached row of the template's tables: at most some 30 MB.
CACHED_ROWS = 1 << 16


Layout = tuple[tuple[str, str], ...]


def layout(meta: TableMeta) -> Layout:
    """The table's key columns as the cache keys them: (name, type) pairs, which hash and compare
    in C (the KeyColumn dataclasses did so in Python, a quarter of a cached range read)."""
    return tuple((column.name, column.type) for column in meta.primary_key)


@lru_cache(maxsize=CACHED_ROWS)
def full_row(
    key_layout: Layout, pk: bytes, cells_text: str, max_versions: int | None
) -> tuple[bytes, int]:
    """(PlainBuffer row body, row size) of a full-row read of a stored row."""
    meta = TableMeta(name="", primary_key=tuple(KeyColumn(n, t) for n, t in key_layout))
    key = decode_key(meta, pk)
    read = ReadOptions(max_versions=max_versions)
    cells = cellops.project(cellops.load_columns(cells_text), read)
    return row_body(key, cells), cellops.row_size(key, cells)


def is_full_row(read: ReadOptions, cutoff_ms: int | None) -> bool:
    """Whether `full_row` answers this read: every column, no time range, no filter, no TTL."""
    return (
        not read.columns
        and read.time_range is None
        and read.row_filter is None
        and cutoff_ms is None
    )


# The range answers kept: a round of `make bench`'s lists reads 7 ranges; at most about 8 MB.
KEPT_RANGES = 16
KEPT_RANGE_BYTES = 8 << 20


@dataclass(frozen=True)
class _Answer:
    stamp: tuple[int, int, int]
    result: Any
    size: int


class RangeAnswers:
    """The last full-row range reads' answers, each kept with the database's content stamp
    (`Database.content_stamp`) it was read under and given again only while the stamp is the
    same: no row can have changed since, in this process or any other. Why: reading 5,000 rows
    back from SQLite and looking each up in `full_row`'s cache still cost this emulator about
    8 ms a page in Python, which a 2020 list of 10,000 rows waited on twice. This makes the
    emulator faster than Tablestore at re-reading unchanged rows, and a function is billed for
    the time it waits on Tablestore: `make bench` says so beside its list figures, and
    `--no-range-answers` (`RangeAnswers(keep=0)`) measures without it. The caller holds the
    database's lock, so a write cannot fall between stamp and read."""

    def __init__(self, keep: int = KEPT_RANGES, keep_bytes: int = KEPT_RANGE_BYTES) -> None:
        self._answers: OrderedDict[tuple[Any, ...], _Answer] = OrderedDict()
        self._keep = keep
        self._keep_bytes = keep_bytes
        self._bytes = 0

    def get(self, key: tuple[Any, ...], stamp: tuple[int, int, int]) -> Any:
        """The answer read under `stamp` for `key`, or None."""
        found = self._answers.get(key)
        if found is None or found.stamp != stamp:
            return None
        self._answers.move_to_end(key)
        return found.result

    def put(
        self, key: tuple[Any, ...], stamp: tuple[int, int, int], result: Any, size: int
    ) -> None:
        old = self._answers.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        if size > self._keep_bytes:
            return
        self._answers[key] = _Answer(stamp, result, size)
        self._bytes += size
        while len(self._answers) > self._keep or self._bytes > self._keep_bytes:
            _, gone = self._answers.popitem(last=False)
            self._bytes -= gone.size

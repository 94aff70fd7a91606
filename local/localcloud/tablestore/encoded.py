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

from functools import lru_cache

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

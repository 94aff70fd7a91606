"""A row's attribute columns and their versions: the stored form, TTL, version limits, and what a
read returns of them. Pure functions, no I/O.

`Columns` maps a column name to its versions `(timestamp_ms, value)`, newest first. Two writes
with the same timestamp are one version (the later wins), as in the cloud.
"""

from __future__ import annotations

import base64
import json

from .conditions import Columns
from .model import Cell, CellValue, KeyBound, PrimaryKey, ReadOptions

_TAGS = {bool: "b", int: "i", float: "d", str: "s", bytes: "x"}


def _tag(value: CellValue) -> str:
    return "b" if isinstance(value, bool) else _TAGS[type(value)]


def dump_columns(columns: Columns) -> str:
    out = {}
    for name, versions in columns.items():
        out[name] = [
            [ts, _tag(v), base64.b64encode(v).decode() if isinstance(v, bytes) else v]
            for ts, v in versions
        ]
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def load_columns(text: str) -> Columns:
    columns: Columns = {}
    for name, versions in json.loads(text).items():
        columns[name] = [(ts, base64.b64decode(v) if tag == "x" else v) for ts, tag, v in versions]
    return columns


def without_expired(columns: Columns, cutoff_ms: int | None) -> Columns:
    """Versions written at or before the cutoff are past the TTL and no longer exist."""
    if cutoff_ms is None:
        return columns
    out: Columns = {}
    for name, versions in columns.items():
        alive = [(ts, v) for ts, v in versions if ts > cutoff_ms]
        if alive:
            out[name] = alive
    return out


def put_version(columns: Columns, name: str, ts: int, value: CellValue) -> None:
    versions = [(t, v) for t, v in columns.get(name, []) if t != ts]
    versions.append((ts, value))
    versions.sort(key=lambda tv: tv[0], reverse=True)
    columns[name] = versions


def delete_version(columns: Columns, name: str, ts: int) -> None:
    versions = [(t, v) for t, v in columns.get(name, []) if t != ts]
    if versions:
        columns[name] = versions
    else:
        columns.pop(name, None)


def trimmed(columns: Columns, max_versions: int) -> Columns:
    return {name: versions[:max_versions] for name, versions in columns.items()}


def latest_timestamp(columns: Columns) -> int | None:
    return max((versions[0][0] for versions in columns.values() if versions), default=None)


def project(columns: Columns, read: ReadOptions) -> list[Cell]:
    """The cells a read returns: requested columns (all if none named), sorted by name, each
    with its newest versions inside the time range, up to max_versions."""
    wanted = set(read.columns) if read.columns else None
    cells: list[Cell] = []
    for name in sorted(columns):
        if wanted is not None and name not in wanted:
            continue
        versions = columns[name]
        if read.time_range is not None:
            start, end = read.time_range
            versions = [(ts, v) for ts, v in versions if start <= ts < end]
        if read.max_versions is not None:
            versions = versions[: read.max_versions]
        cells.extend(Cell(name, v, ts) for ts, v in versions)
    return cells


def value_size(value: CellValue) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bytes):
        return len(value)
    return 8 if not isinstance(value, bool) else 1


def row_size(key: PrimaryKey, columns: Columns | list[Cell]) -> int:
    """A row's size as Tablestore counts it for capacity units and GetRange's byte limit: names
    and values of the key and of the columns (stored columns count 8 bytes per version's
    timestamp)."""
    size = sum(len(n) + value_size(v) for n, v in key if not isinstance(v, KeyBound))
    if isinstance(columns, dict):
        return size + sum(
            len(n) + value_size(v) + 8 for n, versions in columns.items() for _, v in versions
        )
    return size + sum(
        len(c.name) + (value_size(c.value) if c.value is not None else 0) for c in columns
    )

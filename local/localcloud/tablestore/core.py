"""The Tablestore core: rows of an instance's tables in SQLite, with the cloud's rules for keys,
versions, TTL and conditions. No HTTP and no protobuf here (see `protocol`).

Every operation runs in one SQLite transaction, so a condition check and the write it guards are
atomic. Rows past the table's TTL are invisible to reads and to conditions (judged by the
injected clock); they are overwritten or purged by the next write of that key.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..clock import Clock
from ..state import Database
from . import cells as cellops
from . import encoded
from .catalog import SCHEMA, Catalog, Table
from .conditions import Columns, RowCondition
from .keys import check_key, decode_key, encode_key
from .model import (
    CAPACITY_UNIT_BYTES,
    MAX_BATCH_GET_ROWS,
    MAX_BATCH_WRITE_ROWS,
    MAX_RANGE_BYTES,
    MAX_RANGE_ROWS,
    Cell,
    KeyBound,
    PrimaryKey,
    ReadOptions,
    ReturnContent,
    ReturnKind,
    RowExistence,
    RowImage,
    TablestoreError,
    invalid,
)
from .plainbuffer import row_body
from .writes import apply_update, check_put_cells, check_update_cells, put_columns


@dataclass(frozen=True)
class ReadRow:
    primary_key: PrimaryKey
    cells: list[Cell] = field(default_factory=list)


@dataclass(frozen=True)
class WriteResult:
    row: ReadRow | None
    write_cu: int
    read_cu: int


@dataclass(frozen=True)
class RangeResult:
    """`rows`: each row already in PlainBuffer (`plainbuffer.row_body`), the form GetRange
    answers in, because encoding is most of a large range read's cost and `encoded` caches it.
    A full-row answer is kept and given again (`encoded.RangeAnswers`): never change `rows`."""

    rows: list[bytes]
    next_start: PrimaryKey | None
    read_cu: int


@dataclass(frozen=True)
class RowChange:
    """One row of a BatchWriteRow (or a single PutRow / UpdateRow / DeleteRow)."""

    kind: Literal["put", "update", "delete"]
    image: RowImage
    condition: RowCondition = RowCondition()
    returning: ReturnContent = ReturnContent()


def _capacity_units(size: int) -> int:
    return max(1, math.ceil(size / CAPACITY_UNIT_BYTES))


def _wants_row(read: ReadOptions, key_names: tuple[str, ...], cells: list[Cell]) -> bool:
    # A read naming columns skips rows that have none of them (primary key columns count).
    return not read.columns or bool(cells) or bool(set(read.columns) & set(key_names))


class Tablestore:
    def __init__(self, db_path: Path | str, clock: Clock) -> None:
        self._db = self.database = Database(db_path, SCHEMA)
        self._clock = clock
        self.catalog = Catalog(self._db, clock)
        # Full-row range answers given again while nothing changed (replace with
        # `encoded.RangeAnswers(keep=0)` to read every range anew, as `make bench` can).
        self.range_answers = encoded.RangeAnswers()

    # -- helpers ----------------------------------------------------------------------------
    def _now_ms(self) -> int:
        return int(self._clock.now() * 1000)

    @staticmethod
    def _cutoff(table: Table, now_ms: int) -> int | None:
        ttl = table.meta.ttl_seconds
        return None if ttl == -1 else now_ms - ttl * 1000

    def _load(
        self, conn: sqlite3.Connection, table: Table, pk: bytes, cutoff: int | None
    ) -> Columns | None:
        row = conn.execute(
            "SELECT ts, cells FROM ots_rows WHERE table_id = ? AND pk = ?", (table.id, pk)
        ).fetchone()
        if row is None or (cutoff is not None and row["ts"] <= cutoff):
            return None
        return cellops.without_expired(cellops.load_columns(row["cells"]), cutoff)

    def _store(
        self, conn: sqlite3.Connection, table: Table, pk: bytes, columns: Columns, now_ms: int
    ) -> None:
        ts = cellops.latest_timestamp(columns) or now_ms
        text = cellops.dump_columns(columns)
        conn.execute(
            "INSERT OR REPLACE INTO ots_rows (table_id, pk, ts, cells) VALUES (?,?,?,?)",
            (table.id, pk, ts, text),
        )
        encoded.full_row(encoded.layout(table.meta), pk, text, 1)  # primes the cache for reads

    # -- reads ------------------------------------------------------------------------------
    def get_row(
        self, table_name: str, key: PrimaryKey, read: ReadOptions
    ) -> tuple[ReadRow | None, int]:
        with self._db.transaction() as conn:
            return self._get(conn, self.catalog.get(table_name), key, read)

    def _get(
        self, conn: sqlite3.Connection, table: Table, key: PrimaryKey, read: ReadOptions
    ) -> tuple[ReadRow | None, int]:
        check_key(table.meta, key)
        columns = self._load(conn, table, encode_key(key), self._cutoff(table, self._now_ms()))
        if columns is None:
            return None, 1
        if read.row_filter is not None and not read.row_filter.matches(columns):
            return None, 1
        cells = cellops.project(columns, read)
        if not _wants_row(read, table.meta.key_names, cells):
            return None, 1
        return ReadRow(key, cells), _capacity_units(cellops.row_size(key, cells))

    def batch_get(
        self, tables: list[tuple[str, list[PrimaryKey], ReadOptions]]
    ) -> list[list[tuple[ReadRow | None, int] | TablestoreError]]:
        if not tables:  # the SDK's row tests' words
            raise invalid("No row specified in the request of BatchGetRow.")
        if sum(len(keys) for _, keys, _ in tables) > MAX_BATCH_GET_ROWS:
            raise invalid(f"Rows count exceeds the upper limit: {MAX_BATCH_GET_ROWS}.")
        results: list[list[tuple[ReadRow | None, int] | TablestoreError]] = []
        with self._db.transaction() as conn:
            for name, keys, read in tables:
                try:
                    table: Table | TablestoreError = self.catalog.get(name)
                except TablestoreError as exc:
                    table = exc
                out: list[tuple[ReadRow | None, int] | TablestoreError] = []
                for key in keys:
                    try:
                        if isinstance(table, TablestoreError):
                            raise table
                        out.append(self._get(conn, table, key, read))
                    except TablestoreError as exc:
                        out.append(exc)
                results.append(out)
        return results

    def get_range(
        self,
        table_name: str,
        forward: bool,
        start: PrimaryKey,
        end: PrimaryKey,
        limit: int | None,
        read: ReadOptions,
    ) -> RangeResult:
        with self._db.transaction() as conn:
            table = self.catalog.get(table_name)
            meta = table.meta
            check_key(meta, start, bounds=True)
            check_key(meta, end, bounds=True)
            lo, hi = encode_key(start), encode_key(end)
            if forward and lo >= hi:
                raise invalid("Begin key must less than end key in FORWARD.")
            if not forward and lo <= hi:
                raise invalid("Begin key must more than end key in BACKWARD.")
            if limit is not None and limit <= 0:
                raise invalid("The limit must be greater than 0.")  # the SDK's row tests' words
            wanted = min(limit or MAX_RANGE_ROWS, MAX_RANGE_ROWS)
            cutoff = self._cutoff(table, self._now_ms())
            where = "pk >= ? AND pk < ?" if forward else "pk <= ? AND pk > ?"
            params: list[object] = [table.id, lo, hi]
            if cutoff is not None:
                where += " AND ts > ?"
                params.append(cutoff)
            sql = (
                f"SELECT pk, cells FROM ots_rows WHERE table_id = ? AND {where} "
                f"ORDER BY pk {'ASC' if forward else 'DESC'}"
            )
            full_row = encoded.is_full_row(read, cutoff)
            if full_row:
                stamp = self._db.content_stamp()
                answer_key = (table.id, forward, lo, hi, wanted, read.max_versions)
                kept = self.range_answers.get(answer_key, stamp)
                if kept is not None:
                    return kept
            key_layout = encoded.layout(meta)
            rows: list[bytes] = []
            next_start: PrimaryKey | None = None
            scanned = size = 0
            for record in conn.execute(sql, params):
                if len(rows) >= wanted or scanned >= MAX_RANGE_ROWS or size >= MAX_RANGE_BYTES:
                    next_start = decode_key(meta, record["pk"])
                    break
                scanned += 1
                if full_row:
                    body, row_size = encoded.full_row(
                        key_layout, record[0], record[1], read.max_versions
                    )
                    rows.append(body)
                    size += row_size
                    continue
                columns = cellops.without_expired(cellops.load_columns(record["cells"]), cutoff)
                if read.row_filter is not None and not read.row_filter.matches(columns):
                    continue
                cells = cellops.project(columns, read)
                if not _wants_row(read, meta.key_names, cells):
                    continue
                key = decode_key(meta, record["pk"])
                rows.append(row_body(key, cells))
                size += cellops.row_size(key, cells)
            result = RangeResult(rows, next_start, _capacity_units(size))
            if full_row:
                self.range_answers.put(answer_key, stamp, result, sum(map(len, rows)))
        return result

    # -- writes -----------------------------------------------------------------------------
    def write(self, table_name: str, change: RowChange) -> WriteResult:
        with self._db.transaction() as conn:
            return self._write(conn, self.catalog.get(table_name), change)

    def batch_write(
        self, tables: list[tuple[str, list[RowChange]]]
    ) -> list[list[WriteResult | TablestoreError]]:
        total = sum(len(changes) for _, changes in tables)
        if total > MAX_BATCH_WRITE_ROWS:
            raise invalid(f"Rows count exceeds the upper limit: {MAX_BATCH_WRITE_ROWS}.")
        # The cloud's refusals of an empty batch, in the words the SDK's row tests assert; a
        # row named twice is accepted, and its changes apply in the order given.
        if not tables:
            raise invalid("No row is specified in BatchWriteRow.")
        names = [name for name, _ in tables]
        if len(set(names)) != len(names):
            raise invalid("Duplicated table name in one BatchWriteRow request.")
        for name, changes in tables:
            if not changes:
                raise invalid(f"No operation is specified for table: '{name}'.")
        results: list[list[WriteResult | TablestoreError]] = []
        with self._db.transaction() as conn:
            for name, changes in tables:
                try:
                    table: Table | TablestoreError = self.catalog.get(name)
                except TablestoreError as exc:
                    table = exc
                out: list[WriteResult | TablestoreError] = []
                for change in changes:
                    try:
                        if isinstance(table, TablestoreError):
                            raise table
                        out.append(self._write(conn, table, change))
                    except TablestoreError as exc:
                        out.append(exc)
                results.append(out)
        return results

    def _write(self, conn: sqlite3.Connection, table: Table, change: RowChange) -> WriteResult:
        meta = table.meta
        now_ms = self._now_ms()
        image, condition = change.image, change.condition
        key = image.primary_key
        check_key(meta, key, auto_increment=change.kind == "put")
        if change.kind == "put":
            check_put_cells(meta, image.cells, now_ms)
        elif change.kind == "update":
            check_update_cells(meta, image.cells, now_ms)
        if any(v is KeyBound.AUTO_INCREMENT for _, v in key):
            if condition.existence is not RowExistence.IGNORE:
                raise invalid(
                    "The row existence expectation must be IGNORE when writing a row "
                    "with an auto-increment primary key."
                )
            key = tuple(
                (n, self.catalog.next_auto_increment(table) if v is KeyBound.AUTO_INCREMENT else v)
                for n, v in key
            )
        pk = encode_key(key)
        current = self._load(conn, table, pk, self._cutoff(table, now_ms))
        condition.check(current is not None, current or {})
        read_cu = (
            1
            if (
                condition.existence is not RowExistence.IGNORE
                or condition.column_filter is not None
            )
            else 0
        )
        columns: Columns = {}
        if change.kind == "delete":
            conn.execute("DELETE FROM ots_rows WHERE table_id = ? AND pk = ?", (table.id, pk))
        else:
            written = (
                put_columns(image.cells, now_ms)
                if change.kind == "put"
                else apply_update(current, image.cells, now_ms)
            )
            if written is not None:  # None: an update of deletions only, on no row
                columns = cellops.trimmed(written, meta.max_versions)
                self._store(conn, table, pk, columns, now_ms)
        returned = self._returned(change.returning, key, columns)
        return WriteResult(
            returned, _capacity_units(cellops.row_size(key, list(image.cells))), read_cu
        )

    @staticmethod
    def _returned(returning: ReturnContent, key: PrimaryKey, columns: Columns) -> ReadRow | None:
        if returning.kind is ReturnKind.PK:
            return ReadRow(key)
        if returning.kind is ReturnKind.AFTER_MODIFY:
            cells = [
                Cell(name, columns[name][0][1], columns[name][0][0])
                for name in returning.column_names
                if columns.get(name)
            ]
            return ReadRow(key, cells)
        return None

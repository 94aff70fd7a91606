"""The instance's tables: create, describe, list, update and delete, with the cloud's rules for
names, primary key schemas, TTL and versions. Rows live beside them (see `core`).

Each table gets a fresh integer id, so a table deleted and created again under the same name
never sees the old rows, and row keys stay short.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

from ..clock import Clock
from ..state import Database
from .model import (
    MAX_PRIMARY_KEY_COLUMNS,
    MAX_TABLES_PER_INSTANCE,
    MIN_PRIMARY_KEY_COLUMNS,
    MIN_TTL_SECONDS,
    PRIMARY_KEY_TYPES,
    KeyColumn,
    TableMeta,
    TablestoreError,
    check_name,
    invalid,
    table_not_found,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS ots_tables (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    meta TEXT NOT NULL,
    last_auto_increment INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS ots_rows (
    table_id INTEGER NOT NULL,
    pk BLOB NOT NULL,          -- keys.encode_key: byte order is Tablestore's row order
    ts INTEGER NOT NULL,       -- ms of the row's latest data, for TTL
    cells TEXT NOT NULL,       -- cells.dump_columns
    PRIMARY KEY (table_id, pk)
) WITHOUT ROWID
"""


@dataclass(frozen=True)
class Table:
    id: int
    meta: TableMeta


def _meta_to_json(meta: TableMeta) -> str:
    return json.dumps(asdict(meta))


def _meta_from_json(text: str) -> TableMeta:
    data = json.loads(text)
    data["primary_key"] = tuple(KeyColumn(**c) for c in data["primary_key"])
    data["defined_columns"] = tuple(tuple(c) for c in data["defined_columns"])
    return TableMeta(**data)


def validate_meta(meta: TableMeta) -> None:
    check_name("table", meta.name)
    if not MIN_PRIMARY_KEY_COLUMNS <= len(meta.primary_key) <= MAX_PRIMARY_KEY_COLUMNS:
        raise invalid(
            "The number of primary key columns must be in range: "
            f"[{MIN_PRIMARY_KEY_COLUMNS}, {MAX_PRIMARY_KEY_COLUMNS}]."
        )
    seen: set[str] = set()
    for i, column in enumerate(meta.primary_key):
        check_name("primary key column", column.name)
        if column.name in seen:
            raise invalid(f"Duplicated primary key name: '{column.name}'.")
        seen.add(column.name)
        if column.type not in PRIMARY_KEY_TYPES:
            raise invalid(f"Unsupported primary key type: {column.type}.")
        if column.auto_increment and (i == 0 or column.type != "INTEGER"):
            raise invalid(
                "Only an INTEGER primary key column other than the partition key "
                "can be auto-increment."
            )
    for name, _ in meta.defined_columns:
        check_name("defined column", name)
        if name in seen:
            raise invalid(f"Duplicated column name: '{name}'.")
    if meta.ttl_seconds != -1 and meta.ttl_seconds < MIN_TTL_SECONDS:
        raise invalid(f"TimeToLive must be -1 or at least {MIN_TTL_SECONDS} seconds.")
    if meta.max_versions < 1:
        raise invalid("MaxVersions must be at least 1.")
    if meta.max_time_deviation < 1:
        raise invalid("MaxTimeDeviation must be at least 1 second.")


class Catalog:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def create(self, meta: TableMeta) -> None:
        validate_meta(meta)
        meta = replace(meta, created_at=self._clock.now())
        with self._db.transaction() as conn:
            if conn.execute("SELECT 1 FROM ots_tables WHERE name = ?", (meta.name,)).fetchone():
                raise TablestoreError("OTSObjectAlreadyExist", "Requested table already exists.")
            count = conn.execute("SELECT COUNT(*) FROM ots_tables").fetchone()[0]
            if count >= MAX_TABLES_PER_INSTANCE:
                raise TablestoreError("OTSQuotaExhausted", "Number of tables exceeded the quota.")
            conn.execute(
                "INSERT INTO ots_tables (name, meta) VALUES (?, ?)",
                (meta.name, _meta_to_json(meta)),
            )

    def get(self, name: str) -> Table:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT id, meta FROM ots_tables WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise table_not_found()
        return Table(row["id"], _meta_from_json(row["meta"]))

    def exists(self, name: str) -> bool:
        with self._db.transaction() as conn:
            return (
                conn.execute("SELECT 1 FROM ots_tables WHERE name = ?", (name,)).fetchone()
                is not None
            )

    def names(self) -> list[str]:
        with self._db.transaction() as conn:
            return [r["name"] for r in conn.execute("SELECT name FROM ots_tables ORDER BY name")]

    def update(
        self,
        name: str,
        *,
        ttl_seconds: int | None = None,
        max_versions: int | None = None,
        max_time_deviation: int | None = None,
    ) -> TableMeta:
        with self._db.transaction() as conn:
            table = self.get(name)
            meta = table.meta
            if ttl_seconds is not None:
                meta = replace(meta, ttl_seconds=ttl_seconds)
            if max_versions is not None:
                meta = replace(meta, max_versions=max_versions)
            if max_time_deviation is not None:
                meta = replace(meta, max_time_deviation=max_time_deviation)
            validate_meta(meta)
            conn.execute(
                "UPDATE ots_tables SET meta = ? WHERE id = ?", (_meta_to_json(meta), table.id)
            )
        return meta

    def delete(self, name: str) -> None:
        with self._db.transaction() as conn:
            table = self.get(name)
            conn.execute("DELETE FROM ots_rows WHERE table_id = ?", (table.id,))
            conn.execute("DELETE FROM ots_tables WHERE id = ?", (table.id,))

    def next_auto_increment(self, table: Table) -> int:
        """A value larger than every one handed out before: the cloud's are microsecond-sized
        and increasing, and clients only rely on that."""
        with self._db.transaction() as conn:
            last = conn.execute(
                "SELECT last_auto_increment FROM ots_tables WHERE id = ?", (table.id,)
            ).fetchone()[0]
            value = max(last + 1, int(self._clock.now() * 1_000_000))
            conn.execute(
                "UPDATE ots_tables SET last_auto_increment = ? WHERE id = ?", (value, table.id)
            )
        return value

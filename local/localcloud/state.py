"""SQLite state for one emulator.

One connection per database, serialised by a lock: an emulator's traffic is small, and a single
writer makes conditional writes (Tablestore conditions, single-use auth codes) atomic for free.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def make_private(folder: Path) -> None:
    """The state folder and everything in it readable by its owner only: folders 0700, files
    without group or other bits (state written by an earlier version was 0644). Symlinks are
    left alone."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(PRIVATE_FOLDER)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            path = Path(root, name)
            if not path.is_symlink():
                path.chmod(PRIVATE_FOLDER)
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & 0o700)


class Database:
    def __init__(self, path: Path | str, schema: str = "") -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Readable by its owner only from the start; SQLite gives its -wal and -shm files
            # the database's mode.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
        self._replaced = 0  # replace_with's count: a backup's pages are no row changes
        if schema:
            with self.transaction() as conn:
                for statement in _statements(schema):
                    conn.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All statements inside run atomically; nested use joins the outer transaction."""
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def content_stamp(self) -> tuple[int, int, int]:
        """A value that changes whenever the content may have: the rows this connection
        inserted, updated or deleted (SQLite's total_changes, rolled-back ones included), a
        `replace_with`, and a commit by any other connection (PRAGMA data_version). Equal
        stamps: nothing was written in between, so an answer read under one still holds."""
        with self._lock:
            (version,) = self._conn.execute("PRAGMA data_version").fetchone()
            return self._conn.total_changes, self._replaced, int(version)

    def schema(self) -> Schema:
        """What this database's tables, indexes, views and triggers are (see `schema_of`)."""
        with self._lock:
            return schema_of(self._conn)

    def copy_to(self, path: Path) -> None:
        """A consistent copy of the whole database in a new file (SQLite's backup API: other
        requests wait, none sees half a copy)."""
        target = sqlite3.connect(str(path))
        try:
            with self._lock:
                self._conn.backup(target)
        finally:
            target.close()

    def replace_with(self, path: Path, keep: frozenset[str] = frozenset()) -> None:
        """Make this database's content that of the file at `path` (an earlier `copy_to`),
        except the tables named in `keep`, whose rows stay as they are."""
        source = sqlite3.connect(str(path))
        try:
            with self._lock:
                kept = {
                    name: self._conn.execute(f'SELECT * FROM "{name}"').fetchall() for name in keep
                }
                source.backup(self._conn)
                self._replaced += 1
                with self.transaction() as conn:
                    for name, rows in kept.items():
                        conn.execute(f'DELETE FROM "{name}"')
                        for row in rows:
                            marks = ", ".join("?" * len(row))
                            conn.execute(f'INSERT INTO "{name}" VALUES ({marks})', tuple(row))
        finally:
            source.close()

    def clear(self, keep: frozenset[str] = frozenset()) -> None:
        """Delete every row of every table but those named in `keep` (their definitions)."""
        with self.transaction() as conn:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master "
                    "WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            for name in names:
                if name not in keep:
                    conn.execute(f'DELETE FROM "{name}"')

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# Per object (type, name): a table's columns (name, declared type, not null, primary key
# position), or another object's SQL.
Schema = dict[tuple[str, str], object]


def schema_of(conn: sqlite3.Connection) -> Schema:
    """The schema of the database on `conn`, in a form two databases can be compared by."""
    found: Schema = {}
    objects = conn.execute(
        "SELECT type, name, sql FROM sqlite_master "
        "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
    ).fetchall()
    for kind, name, sql in objects:
        if kind == "table":
            columns = conn.execute(
                'SELECT name, upper(type), "notnull", pk FROM pragma_table_info(?) ORDER BY cid',
                (name,),
            ).fetchall()
            found[(kind, name)] = tuple(tuple(c) for c in columns)
        else:
            found[(kind, name)] = " ".join(str(sql).split())
    return found


def _statements(schema: str) -> list[str]:
    # executescript() would commit our open transaction; run the statements one by one instead.
    return [s.strip() for s in schema.split(";") if s.strip()]

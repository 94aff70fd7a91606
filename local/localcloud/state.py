"""SQLite state for one emulator.

One connection per database, serialised by a lock: an emulator's traffic is small, and a single
writer makes conditional writes (Tablestore conditions, single-use auth codes) atomic for free.
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Database:
    def __init__(self, path: Path | str, schema: str = "") -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
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
                kept = {name: self._conn.execute(f'SELECT * FROM "{name}"').fetchall()
                        for name in keep}
                source.backup(self._conn)
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
            names = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            for name in names:
                if name not in keep:
                    conn.execute(f'DELETE FROM "{name}"')

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _statements(schema: str) -> list[str]:
    # executescript() would commit our open transaction; run the statements one by one instead.
    return [s.strip() for s in schema.split(";") if s.strip()]

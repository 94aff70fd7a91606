"""Log Service state and rules, without HTTP: projects, logstores, stored logs and their query.

Each log is one SQLite row carrying its log group's topic, source and tags (denormalised: queries
filter single logs, never groups). A logstore keeps logs for `ttl_days` counted on the injected
clock; older ones are dropped on write and never returned.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..clock import Clock
from ..errors import ServiceError
from ..state import Database
from .query import QueryError, compile_query

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sls_projects (
    name TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sls_logstores (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    ttl_days INTEGER NOT NULL,
    shard_count INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (project, name)
);
CREATE TABLE IF NOT EXISTS sls_logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    logstore TEXT NOT NULL,
    time INTEGER NOT NULL,
    time_ns INTEGER NOT NULL,
    topic TEXT NOT NULL,
    source TEXT NOT NULL,
    tags TEXT NOT NULL,
    contents TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sls_logs_by_time ON sls_logs (project, logstore, time)
"""

MAX_LINES = 100  # GetLogs returns at most 100 logs per call; the SDK pages beyond that
DEFAULT_SHARD_COUNT = 2


class SlsError(ServiceError):
    """A refusal in Log Service's own terms; the HTTP shell renders it as
    `{errorCode, errorMessage}`."""


def project_not_exist(project: str) -> SlsError:
    return SlsError(404, "ProjectNotExist", f"The Project does not exist : {project}")


def logstore_not_exist(logstore: str) -> SlsError:
    return SlsError(404, "LogStoreNotExist", f"logstore {logstore} does not exist")


@dataclass(frozen=True)
class LogRecord:
    time: int
    contents: tuple[tuple[str, str], ...]
    topic: str = ""
    source: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    time_ns: int = 0

    def fields(self) -> dict[str, str]:
        """The log as queries and GetLogs see it (reserved fields plus contents)."""
        out = {"__topic__": self.topic, "__source__": self.source}
        out.update((f"__tag__:{k}", v) for k, v in self.tags)
        out.update(self.contents)
        return out


@dataclass(frozen=True)
class LogStoreInfo:
    project: str
    name: str
    ttl_days: int
    shard_count: int
    created_at: float


@dataclass(frozen=True)
class QueryResult:
    logs: tuple[LogRecord, ...]
    processed_rows: int


class LogStorage:
    def __init__(self, db_path: Path | str, clock: Clock) -> None:
        self._db = self.database = Database(db_path, _SCHEMA)
        self._clock = clock

    def ensure_logstore(self, project: str, logstore: str, ttl_days: int = 30) -> None:
        if ttl_days < 1:
            raise ValueError("ttl_days must be at least 1")
        now = self._clock.now()
        with self._db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO sls_projects VALUES (?, ?)", (project, now))
            conn.execute(
                "INSERT INTO sls_logstores VALUES (?, ?, ?, ?, ?) ON CONFLICT (project, name) "
                "DO UPDATE SET ttl_days = excluded.ttl_days",
                (project, logstore, ttl_days, DEFAULT_SHARD_COUNT, now))

    def delete_logstore(self, project: str, logstore: str) -> None:
        """Forget the logstore and its logs, and its project once it holds no logstore (what
        deleting a stack's ALIYUN::SLS::Logstore and Project does)."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM sls_logs WHERE project = ? AND logstore = ?",
                         (project, logstore))
            conn.execute("DELETE FROM sls_logstores WHERE project = ? AND name = ?",
                         (project, logstore))
            if conn.execute("SELECT 1 FROM sls_logstores WHERE project = ?",
                            (project,)).fetchone() is None:
                conn.execute("DELETE FROM sls_projects WHERE name = ?", (project,))

    def project_exists(self, project: str) -> bool:
        with self._db.transaction() as conn:
            return conn.execute("SELECT 1 FROM sls_projects WHERE name = ?",
                                (project,)).fetchone() is not None

    def logstore(self, project: str, logstore: str) -> LogStoreInfo:
        """The logstore, or SlsError ProjectNotExist / LogStoreNotExist."""
        if not self.project_exists(project):
            raise project_not_exist(project)
        with self._db.transaction() as conn:
            row = conn.execute("SELECT * FROM sls_logstores WHERE project = ? AND name = ?",
                               (project, logstore)).fetchone()
        if row is None:
            raise logstore_not_exist(logstore)
        return LogStoreInfo(row["project"], row["name"], row["ttl_days"], row["shard_count"],
                            row["created_at"])

    def list_logstores(self, project: str, name_contains: str = "", offset: int = 0,
                       size: int = 500) -> tuple[list[str], int]:
        """(names on this page, total matching) in name order."""
        if not self.project_exists(project):
            raise project_not_exist(project)
        with self._db.transaction() as conn:
            rows = conn.execute("SELECT name FROM sls_logstores WHERE project = ? ORDER BY name",
                                (project,)).fetchall()
        names = [r["name"] for r in rows if name_contains in r["name"]]
        return names[offset:offset + size], len(names)

    def append(self, project: str, logstore: str, records: Sequence[LogRecord]) -> None:
        info = self.logstore(project, logstore)
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO sls_logs (project, logstore, time, time_ns, topic, source, tags, "
                "contents) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(project, logstore, r.time, r.time_ns, r.topic, r.source, json.dumps(r.tags),
                  json.dumps(r.contents)) for r in records])
            conn.execute("DELETE FROM sls_logs WHERE project = ? AND logstore = ? AND time < ?",
                         (project, logstore, self._oldest_kept(info)))

    def query(self, project: str, logstore: str, *, from_time: int, to_time: int,
              topic: str | None = None, query: str | None = None, offset: int = 0,
              line: int = MAX_LINES, reverse: bool = False) -> QueryResult:
        """Logs with from_time <= time < to_time that match the query, oldest first (or newest
        first with reverse), paged by offset/line."""
        if from_time > to_time:
            raise SlsError(400, "ParameterInvalid", "from time must not be after to time")
        if not 0 <= line <= MAX_LINES or offset < 0:
            raise SlsError(400, "ParameterInvalid",
                           f"line must be in [0, {MAX_LINES}] and offset must not be negative")
        try:
            predicate = compile_query(query)
        except QueryError as exc:
            raise SlsError(400, "ParameterInvalid", str(exc)) from None
        info = self.logstore(project, logstore)
        sql = ("SELECT * FROM sls_logs WHERE project = ? AND logstore = ? AND time >= ? "
               "AND time < ?")
        args: list[object] = [project, logstore, max(from_time, self._oldest_kept(info)), to_time]
        if topic is not None:
            sql += " AND topic = ?"
            args.append(topic)
        sql += " ORDER BY time DESC, seq DESC" if reverse else " ORDER BY time, seq"
        with self._db.transaction() as conn:
            rows = conn.execute(sql, args).fetchall()
        matched = [rec for rec in map(_record, rows) if predicate(rec.fields())]
        return QueryResult(tuple(matched[offset:offset + line]), processed_rows=len(rows))

    def _oldest_kept(self, info: LogStoreInfo) -> int:
        return int(self._clock.now()) - info.ttl_days * 86400

    def close(self) -> None:
        self._db.close()


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in json.loads(text))


def _record(row: sqlite3.Row) -> LogRecord:
    return LogRecord(time=row["time"], time_ns=row["time_ns"], topic=row["topic"],
                     source=row["source"], tags=_pairs(row["tags"]),
                     contents=_pairs(row["contents"]))

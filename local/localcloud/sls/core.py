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
CREATE INDEX IF NOT EXISTS sls_logs_by_time ON sls_logs (project, logstore, time);
CREATE TABLE IF NOT EXISTS sls_indexes (
    project TEXT NOT NULL,
    logstore TEXT NOT NULL,
    config TEXT NOT NULL,
    modified_at REAL NOT NULL,
    PRIMARY KEY (project, logstore)
)
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


def logstore_already_exist(logstore: str) -> SlsError:
    return SlsError(400, "LogStoreAlreadyExist", f"logstore {logstore} already exists")


# CreateIndex's documented refusal (API reference, CreateIndex error codes).
INDEX_ALREADY_EXIST = SlsError(400, "IndexAlreadyExist", "Logstore index is already created.")
# What the cloud says of a logstore without an index (SLS FAQ: "index config doesn't exist").
INDEX_CONFIG_NOT_EXIST = SlsError(400, "IndexConfigNotExist", "index config doesn't exist")


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


@dataclass(frozen=True)
class IndexInfo:
    config: dict[str, object]
    modified_at: float


class LogStorage:
    def __init__(self, db_path: Path | str, clock: Clock) -> None:
        self._db = self.database = Database(db_path, _SCHEMA)
        self._clock = clock

    def ensure_logstore(
        self,
        project: str,
        logstore: str,
        ttl_days: int = 30,
        index: dict[str, object] | None = None,
    ) -> None:
        """Create the logstore (and its project) a template declares, or update its TTL; a
        declared index replaces the logstore's index."""
        if ttl_days < 1:
            raise ValueError("ttl_days must be at least 1")
        now = self._clock.now()
        with self._db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO sls_projects VALUES (?, ?)", (project, now))
            conn.execute(
                "INSERT INTO sls_logstores VALUES (?, ?, ?, ?, ?) ON CONFLICT (project, name) "
                "DO UPDATE SET ttl_days = excluded.ttl_days",
                (project, logstore, ttl_days, DEFAULT_SHARD_COUNT, now),
            )
            if index is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO sls_indexes VALUES (?, ?, ?, ?)",
                    (project, logstore, json.dumps(index), now),
                )

    def create_logstore(self, project: str, logstore: str, ttl_days: int, shard_count: int) -> None:
        """CreateLogStore: a new logstore in an existing project."""
        if not self.project_exists(project):
            raise project_not_exist(project)
        with self._db.transaction() as conn:
            taken = conn.execute(
                "SELECT 1 FROM sls_logstores WHERE project = ? AND name = ?", (project, logstore)
            ).fetchone()
            if taken is not None:
                raise logstore_already_exist(logstore)
            conn.execute(
                "INSERT INTO sls_logstores VALUES (?, ?, ?, ?, ?)",
                (project, logstore, ttl_days, shard_count, self._clock.now()),
            )

    def drop_logstore(self, project: str, logstore: str) -> None:
        """DeleteLogStore: the logstore, its index and its logs go; the project stays."""
        self.logstore(project, logstore)
        with self._db.transaction() as conn:
            for table, column in (
                ("sls_logs", "logstore"),
                ("sls_indexes", "logstore"),
                ("sls_logstores", "name"),
            ):
                conn.execute(
                    f"DELETE FROM {table} WHERE project = ? AND {column} = ?", (project, logstore)
                )

    def index(self, project: str, logstore: str) -> IndexInfo:
        self.logstore(project, logstore)
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT config, modified_at FROM sls_indexes WHERE project = ? AND logstore = ?",
                (project, logstore),
            ).fetchone()
        if row is None:
            raise INDEX_CONFIG_NOT_EXIST
        return IndexInfo(json.loads(row["config"]), row["modified_at"])

    def set_index(
        self, project: str, logstore: str, config: dict[str, object], *, create: bool
    ) -> None:
        """CreateIndex (`create`: refused if there is one) or UpdateIndex (refused if none)."""
        self.logstore(project, logstore)
        with self._db.transaction() as conn:
            exists = (
                conn.execute(
                    "SELECT 1 FROM sls_indexes WHERE project = ? AND logstore = ?",
                    (project, logstore),
                ).fetchone()
                is not None
            )
            if create and exists:
                raise INDEX_ALREADY_EXIST
            if not create and not exists:
                raise INDEX_CONFIG_NOT_EXIST
            conn.execute(
                "INSERT OR REPLACE INTO sls_indexes VALUES (?, ?, ?, ?)",
                (project, logstore, json.dumps(config), self._clock.now()),
            )

    def drop_index(self, project: str, logstore: str) -> None:
        self.index(project, logstore)
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM sls_indexes WHERE project = ? AND logstore = ?", (project, logstore)
            )

    def delete_logstore(self, project: str, logstore: str) -> None:
        """Forget the logstore and its logs, and its project once it holds no logstore (what
        deleting a stack's ALIYUN::SLS::Logstore and Project does)."""
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM sls_logs WHERE project = ? AND logstore = ?", (project, logstore)
            )
            conn.execute(
                "DELETE FROM sls_indexes WHERE project = ? AND logstore = ?", (project, logstore)
            )
            conn.execute(
                "DELETE FROM sls_logstores WHERE project = ? AND name = ?", (project, logstore)
            )
            if (
                conn.execute("SELECT 1 FROM sls_logstores WHERE project = ?", (project,)).fetchone()
                is None
            ):
                conn.execute("DELETE FROM sls_projects WHERE name = ?", (project,))

    def project_exists(self, project: str) -> bool:
        with self._db.transaction() as conn:
            return (
                conn.execute("SELECT 1 FROM sls_projects WHERE name = ?", (project,)).fetchone()
                is not None
            )

    def logstore(self, project: str, logstore: str) -> LogStoreInfo:
        """The logstore, or SlsError ProjectNotExist / LogStoreNotExist."""
        if not self.project_exists(project):
            raise project_not_exist(project)
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM sls_logstores WHERE project = ? AND name = ?", (project, logstore)
            ).fetchone()
        if row is None:
            raise logstore_not_exist(logstore)
        return LogStoreInfo(
            row["project"], row["name"], row["ttl_days"], row["shard_count"], row["created_at"]
        )

    def list_logstores(
        self, project: str, name_contains: str = "", offset: int = 0, size: int = 500
    ) -> tuple[list[str], int]:
        """(names on this page, total matching) in name order."""
        if not self.project_exists(project):
            raise project_not_exist(project)
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT name FROM sls_logstores WHERE project = ? ORDER BY name", (project,)
            ).fetchall()
        names = [r["name"] for r in rows if name_contains in r["name"]]
        return names[offset : offset + size], len(names)

    def append(self, project: str, logstore: str, records: Sequence[LogRecord]) -> None:
        info = self.logstore(project, logstore)
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO sls_logs (project, logstore, time, time_ns, topic, source, tags, "
                "contents) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        project,
                        logstore,
                        r.time,
                        r.time_ns,
                        r.topic,
                        r.source,
                        json.dumps(r.tags),
                        json.dumps(r.contents),
                    )
                    for r in records
                ],
            )
            conn.execute(
                "DELETE FROM sls_logs WHERE project = ? AND logstore = ? AND time < ?",
                (project, logstore, self._oldest_kept(info)),
            )

    def query(
        self,
        project: str,
        logstore: str,
        *,
        from_time: int,
        to_time: int,
        topic: str | None = None,
        query: str | None = None,
        offset: int = 0,
        line: int = MAX_LINES,
        reverse: bool = False,
    ) -> QueryResult:
        """Logs with from_time <= time < to_time that match the query, oldest first (or newest
        first with reverse), paged by offset/line."""
        if not 0 <= line <= MAX_LINES or offset < 0:
            raise SlsError(
                400,
                "ParameterInvalid",
                f"line must be in [0, {MAX_LINES}] and offset must not be negative",
            )
        matched = self.matching(
            project,
            logstore,
            from_time=from_time,
            to_time=to_time,
            topic=topic,
            query=query,
            reverse=reverse,
        )
        return QueryResult(matched.logs[offset : offset + line], matched.processed_rows)

    def matching(
        self,
        project: str,
        logstore: str,
        *,
        from_time: int,
        to_time: int,
        topic: str | None = None,
        query: str | None = None,
        reverse: bool = False,
    ) -> QueryResult:
        """Every log of the time range that matches (GetLogs pages them, GetHistograms counts
        them)."""
        if from_time > to_time:
            raise SlsError(400, "ParameterInvalid", "from time must not be after to time")
        try:
            predicate = compile_query(query)
        except QueryError as exc:
            raise SlsError(400, "ParameterInvalid", str(exc)) from None
        info = self.logstore(project, logstore)
        sql = "SELECT * FROM sls_logs WHERE project = ? AND logstore = ? AND time >= ? AND time < ?"
        args: list[object] = [project, logstore, max(from_time, self._oldest_kept(info)), to_time]
        if topic is not None:
            sql += " AND topic = ?"
            args.append(topic)
        sql += " ORDER BY time DESC, seq DESC" if reverse else " ORDER BY time, seq"
        with self._db.transaction() as conn:
            rows = conn.execute(sql, args).fetchall()
        matched = [rec for rec in map(_record, rows) if predicate(rec.fields())]
        return QueryResult(tuple(matched), processed_rows=len(rows))

    def topics(self, project: str, logstore: str, token: str, line: int) -> list[str]:
        """ListTopics: the logstore's distinct topics in order, from `token` on, `line` of them."""
        info = self.logstore(project, logstore)
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT DISTINCT topic FROM sls_logs WHERE project = ? AND logstore = ? AND "
                "time >= ? AND topic >= ? ORDER BY topic LIMIT ?",
                (project, logstore, self._oldest_kept(info), token, line),
            ).fetchall()
        return [r["topic"] for r in rows]

    def _oldest_kept(self, info: LogStoreInfo) -> int:
        return int(self._clock.now()) - info.ttl_days * 86400

    def close(self) -> None:
        self._db.close()


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in json.loads(text))


def _record(row: sqlite3.Row) -> LogRecord:
    return LogRecord(
        time=row["time"],
        time_ns=row["time_ns"],
        topic=row["topic"],
        source=row["source"],
        tags=_pairs(row["tags"]),
        contents=_pairs(row["contents"]),
    )

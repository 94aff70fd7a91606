"""SessionStore on Tablestore. Table: primary key (`id` STRING) = SessionRecord.key (the SHA-256
of the sessionId); columns `uid`, `created_at_ms`, `last_seen_ms`, `expires_at_ms` (INTEGER), the
two token ciphertexts as BINARY, and `aid` / `oid` (STRING): the user as Alipay named them at
login, the buyer of their trades (absent from rows written before payments).

The table's TTL only sweeps: Tablestore expires *cells* by their write time, and `touch` rewrites
only `last_seen_ms`, so a row older than the TTL can come back with some columns gone. Such a row
reads as no session. The TTL must therefore be at least the absolute session lifetime.
"""

from __future__ import annotations

from typing import Any

from tablestore import (
    BatchGetRowRequest,
    Condition,
    Row,
    RowExistenceExpectation,
    TableInBatchGetRowItem,
)

from ...domain.records import FirstRead, ReadAhead, SessionRecord, Tally
from ...domain.records import Row as Item
from ...errors import (
    Conflict,
    Internal,
    SessionNotFound,
    UpstreamUnavailable,
)
from .calls import ConditionFailed, run
from .client import is_transient
from .ranges import PrimaryKey
from .scopes import places
from .tally import tally_from_row


class TablestoreSessions:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def create(self, record: SessionRecord) -> None:
        row = Row(
            _pk(record.key),
            [
                ("uid", record.user_id),
                ("created_at_ms", record.created_at_ms),
                ("last_seen_ms", record.last_seen_ms),
                ("expires_at_ms", record.expires_at_ms),
                # The SDK writes `bytes` as STRING; only a bytearray becomes BINARY.
                ("access_token_enc", bytearray(record.access_token_enc)),
                ("refresh_token_enc", bytearray(record.refresh_token_enc)),
                ("aid", record.alipay_user_id),
                ("oid", record.alipay_open_id),
            ],
        )
        condition = Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)
        try:
            run(
                "session create",
                lambda: self._client.put_row(self._table, row, condition),
                idempotent=True,
            )
        except ConditionFailed as failed:
            # A re-sent put may find the row its first send wrote: that is success, not Conflict.
            if failed.maybe_ours and self.get(record.key) == record:
                return
            raise Conflict("session already exists") from None

    def get(self, key: str) -> SessionRecord | None:
        _, row, _ = run(
            "session get", lambda: self._client.get_row(self._table, _pk(key), max_version=1)
        )
        return _record(key, row)

    def touch(self, key: str, last_seen_ms: int) -> None:
        row = Row(_pk(key), {"put": [("last_seen_ms", int(last_seen_ms))]})
        condition = Condition(RowExistenceExpectation.EXPECT_EXIST)
        try:
            run(
                "session touch",
                lambda: self._client.update_row(self._table, row, condition),
                idempotent=True,
            )
        except ConditionFailed:
            raise SessionNotFound() from None

    def delete(self, key: str) -> bool:
        condition = Condition(RowExistenceExpectation.EXPECT_EXIST)
        try:
            # Re-sending a delete is harmless; if the first send was applied, the second finds
            # no row and we answer False, which is true by then.
            run(
                "session delete",
                lambda: self._client.delete_row(self._table, Row(_pk(key)), condition),
                idempotent=True,
            )
        except ConditionFailed:
            return False
        return True


def _record(key: str, row: Any) -> SessionRecord | None:
    if row is None:
        return None
    columns = {cell[0]: cell[1] for cell in row.attribute_columns or ()}
    try:
        return SessionRecord(
            key=key,
            user_id=_typed(columns["uid"], str),
            created_at_ms=_typed(columns["created_at_ms"], int),
            last_seen_ms=_typed(columns["last_seen_ms"], int),
            expires_at_ms=_typed(columns["expires_at_ms"], int),
            access_token_enc=bytes(_typed(columns["access_token_enc"], bytearray)),
            refresh_token_enc=bytes(_typed(columns["refresh_token_enc"], bytearray)),
            alipay_user_id=_typed(columns.get("aid", ""), str),
            alipay_open_id=_typed(columns.get("oid", ""), str),
        )
    except (KeyError, TypeError):
        return None  # partly swept by the TTL (see module doc): the session is over


class TablestoreSessionItems:
    """SessionItemReader: the session row and a command's first reads in one BatchGetRow (each
    table once, with all its keys)."""

    def __init__(
        self,
        client: Any,
        session_table: str,
        user_data_table: str,
        usage_table: str,
        data_table: str,
    ) -> None:
        self._client = client
        self._sessions = session_table
        self._place = places(user_data_table, usage_table, data_table)

    def session_and(
        self, key: str, user_id: str, reads: tuple[FirstRead, ...]
    ) -> tuple[SessionRecord | None, ReadAhead]:
        reads = tuple(dict.fromkeys(reads))  # a key asked twice would be refused
        where = [self._place(user_id, read.scope) for read in reads]
        record, rows = self._with_session(
            key,
            [
                (at.tally_table, at.tally_key)
                if read.item_id is None
                else (at.rows_table, at.row_key(read.item_id))
                for read, at in zip(reads, where, strict=True)
            ],
            "first reads",
        )
        tallies: dict[str, Tally | None] = {}
        found: dict[tuple[str, str], Item | None] = {}
        for read, at, row in zip(reads, where, rows, strict=True):
            if read.item_id is None:
                tallies[read.scope] = tally_from_row(user_id, read.scope, row)
            else:
                found[(read.scope, read.item_id)] = None if row is None else at.decode(row)
        return record, ReadAhead(tallies, found)

    def _with_session(
        self, key: str, reads: list[tuple[str, PrimaryKey]], what: str
    ) -> tuple[SessionRecord | None, list[Any]]:
        """The session row and the rows at `reads` (table, key): each table goes in once with
        all its keys (BatchGetRow refuses a table named twice)."""
        keys: dict[str, list[PrimaryKey]] = {self._sessions: [_pk(key)]}
        for table, pk in reads:
            keys.setdefault(table, []).append(pk)
        request = BatchGetRowRequest()
        for table, pks in keys.items():
            request.add(TableInBatchGetRowItem(table, pks, max_version=1))
        what = f"session and {what} get"
        result = run(what, lambda: self._client.batch_get_row(request))
        answered = {
            table: _read(result.get_result_by_table(table), len(pks), what)
            for table, pks in keys.items()
        }
        taken = {table: 0 for table in keys}
        rows = []
        for table, _ in [(self._sessions, None), *reads]:
            rows.append(answered[table][taken[table]].row)
            taken[table] += 1
        return _record(key, rows[0]), rows[1:]


def _read(rows: Any, expected: int, what: str) -> list[Any]:
    """The rows a BatchGetRow asked of one table, in the order asked; a row-level failure as the
    adapters' errors (BatchGetRow answers per row; the SDK retries only a failure of the whole
    request)."""
    if not rows or len(rows) != expected:
        raise UpstreamUnavailable(f"Tablestore {what} failed: incomplete answer")
    for row in rows:
        if not row.is_ok:
            if is_transient(row.error_code, None):
                raise UpstreamUnavailable(f"Tablestore {what} failed: {row.error_code}")
            raise Internal()
    return list(rows)


def _pk(key: str) -> list[tuple[str, str]]:
    return [("id", key)]


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}")
    return value

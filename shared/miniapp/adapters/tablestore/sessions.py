"""SessionStore on Tablestore. Table: primary key (`id` STRING) = SessionRecord.key (the SHA-256
of the sessionId); columns `uid`, `created_at_ms`, `last_seen_ms`, `expires_at_ms` (INTEGER) and the
two token ciphertexts as BINARY.

The table's TTL only sweeps: Tablestore expires *cells* by their write time, and `touch` rewrites
only `last_seen_ms`, so a row older than the TTL can come back with some columns gone. Such a row
reads as no session. The TTL must therefore be at least the absolute session lifetime.
"""
from __future__ import annotations

from typing import Any

from tablestore import Condition, Row, RowExistenceExpectation

from ...domain.records import SessionRecord
from ...errors import Conflict, SessionNotFound
from .calls import ConditionFailed, run


class TablestoreSessions:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def create(self, record: SessionRecord) -> None:
        row = Row(_pk(record.key), [
            ("uid", record.user_id),
            ("created_at_ms", record.created_at_ms),
            ("last_seen_ms", record.last_seen_ms),
            ("expires_at_ms", record.expires_at_ms),
            # The SDK writes `bytes` as STRING; only a bytearray becomes BINARY.
            ("access_token_enc", bytearray(record.access_token_enc)),
            ("refresh_token_enc", bytearray(record.refresh_token_enc)),
        ])
        condition = Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)
        try:
            run("session create",
                lambda: self._client.put_row(self._table, row, condition), idempotent=True)
        except ConditionFailed as failed:
            # A re-sent put may find the row its first send wrote: that is success, not Conflict.
            if failed.maybe_ours and self.get(record.key) == record:
                return
            raise Conflict("session already exists") from None

    def get(self, key: str) -> SessionRecord | None:
        _, row, _ = run("session get",
                        lambda: self._client.get_row(self._table, _pk(key), max_version=1))
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
            )
        except (KeyError, TypeError):
            return None  # partly swept by the TTL (see module doc): the session is over

    def touch(self, key: str, last_seen_ms: int) -> None:
        row = Row(_pk(key), {"put": [("last_seen_ms", int(last_seen_ms))]})
        condition = Condition(RowExistenceExpectation.EXPECT_EXIST)
        try:
            run("session touch",
                lambda: self._client.update_row(self._table, row, condition), idempotent=True)
        except ConditionFailed:
            raise SessionNotFound() from None

    def delete(self, key: str) -> bool:
        condition = Condition(RowExistenceExpectation.EXPECT_EXIST)
        try:
            # Re-sending a delete is harmless; if the first send was applied, the second finds
            # no row and we answer False, which is true by then.
            run("session delete",
                lambda: self._client.delete_row(self._table, Row(_pk(key)), condition),
                idempotent=True)
        except ConditionFailed:
            return False
        return True


def _pk(key: str) -> list[tuple[str, str]]:
    return [("id", key)]


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}")
    return value

"""IdentityLinks on Tablestore. Table: primary key (`key` STRING), one row per Alipay id
(`domain.identity.user_id_link` / `open_id_link`), column `internal_id` STRING. No TTL: a link
must outlive any absence of its user. Rows are only ever added, never changed: a claim is a
PutRow with EXPECT_NOT_EXIST, and the loser of a race reads the winner's id. `services.identity`
relies on that when a warm instance remembers what a link said.
"""

from __future__ import annotations

from typing import Any

from tablestore import Condition, Row, RowExistenceExpectation

from ...errors import Conflict
from .calls import ConditionFailed, run

COLUMN = "internal_id"


class TablestoreIdentityLinks:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def get(self, key: str) -> str | None:
        _, row, _ = run(
            "identity read",
            lambda: self._client.get_row(
                self._table, [("key", key)], columns_to_get=[COLUMN], max_version=1
            ),
        )
        if row is None:
            return None
        for cell in row.attribute_columns or ():
            if cell[0] == COLUMN and isinstance(cell[1], str) and cell[1]:
                return cell[1]
        return None

    def claim(self, key: str, internal_id: str) -> str:
        row = Row([("key", key)], [(COLUMN, internal_id)])
        condition = Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)
        try:
            # Safe to re-send: a replay fails the condition and reads back our own id.
            run(
                "identity claim",
                lambda: self._client.put_row(self._table, row, condition),
                idempotent=True,
            )
            return internal_id
        except ConditionFailed:
            bound = self.get(key)
            if bound is None:  # rows are never deleted, so only a broken row gets here
                raise Conflict("identity link exists but holds no id") from None
            return bound

"""OrderIndex on Tablestore: a table with primary key (`key` STRING) and two rows per order,
both holding the owner's internal id in `uid`:

    o#<order id>    every order, kept: who owns it (the notify and the operator know only its id)
    p#<order id>    an order the reconciler has still to look at, deleted once it is settled

Order ids are time-sorted (domain/ids.py), so the open orders older than a moment are one
range, oldest first, and every order newest first is another. The order rows themselves live in
the `user_data` table with the user's other collections (services/orders.py).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from tablestore import (
    Condition,
    Direction,
    PutRowItem,
    Row,
    RowExistenceExpectation,
)

from ...errors import MiniAppError, UpstreamUnavailable
from .calls import ConditionFailed, run, write_batch

OWNER, OPEN = "o#", "p#"
USER = "uid"


def _pk(key: Any) -> list[tuple[str, Any]]:
    return [("key", key)]


class TablestoreOrderIndex:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def add(self, order_id: str, user_id: str) -> None:
        rows = [
            (self._table, PutRowItem(Row(_pk(prefix + order_id), [(USER, user_id)]), _any()))
            for prefix in (OWNER, OPEN)
        ]
        for outcome in write_batch("order index", self._client, rows, idempotent=True):
            if isinstance(outcome, MiniAppError):
                raise outcome
            if isinstance(outcome, ConditionFailed):  # no condition was set: cannot happen
                raise UpstreamUnavailable("Tablestore order index: unexpected refusal")

    def owner(self, order_id: str) -> str | None:
        _, row, _ = run(
            "order owner",
            lambda: self._client.get_row(self._table, _pk(OWNER + order_id), max_version=1),
        )
        return None if row is None else _user(row)

    def open_orders(self, before: str, limit: int) -> list[tuple[str, str]]:
        return self._range(Direction.FORWARD, _pk(OPEN), _pk(OPEN + before), limit, OPEN, None)

    def settle(self, order_id: str) -> None:
        run(
            "order settle",
            lambda: self._client.delete_row(self._table, Row(_pk(OPEN + order_id)), _any()),
            idempotent=True,
        )

    def recent(self, limit: int, before: str | None = None) -> list[tuple[str, str]]:
        # Order ids are Crockford base32 ([0-9A-Z]): "~" sorts after every one of them.
        start = _pk(OWNER + (before or "~"))
        return self._range(Direction.BACKWARD, start, _pk(OWNER), limit, OWNER, before)

    def _range(
        self, direction: Any, start: Any, end: Any, limit: int, prefix: str, skip: str | None
    ) -> list[tuple[str, str]]:
        """Up to `limit` (order id, user) in [start, end), `skip` (the caller's cursor, which a
        GetRange starting there includes) left out."""
        found: list[tuple[str, str]] = []
        at = start
        while at is not None and len(found) < limit:
            asked = at
            _, at, rows, _ = run(
                "order index range",
                partial(
                    # Bound now: run() calls it (and its retries) with this page's key.
                    self._client.get_range,
                    self._table,
                    direction,
                    asked,
                    end,
                    limit=limit - len(found) + 1,
                    max_version=1,
                ),
            )
            for row in rows:
                key = dict(row.primary_key)["key"]
                if isinstance(key, str) and key.startswith(prefix) and key != prefix + str(skip):
                    found.append((key[len(prefix) :], _user(row)))
        return found[:limit]


def _any() -> Condition:
    return Condition(RowExistenceExpectation.IGNORE)


def _user(row: Any) -> str:
    columns = {cell[0]: cell[1] for cell in row.attribute_columns or ()}
    user = columns.get(USER)
    return user if isinstance(user, str) else ""


__all__ = ["TablestoreOrderIndex"]

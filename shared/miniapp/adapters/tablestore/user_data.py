"""CollectionRows on Tablestore: every declared collection in one table the template declares
(`user_data`, primary key `uid` STRING, `id` STRING), so adding a collection changes no template,
policy or wiring.

    (uid, "<collection>!")          the tally: count, rev, and m<marker> columns (tally.py,
                                    scopes.py)
    (uid, "<collection>#<item id>") an item: its declared fields, createdAt, updatedAt, version

Collection names are letters and digits, so the keys of one collection lie between
"<collection>!" and "<collection>$" ('!' < '#' < '$'), before every other collection's: a user's
items of one collection are one contiguous range, with the tally just in front of it, all in the
user's partition (one partition key, as Tablestore local transactions and BatchGetRow want).
"""

from __future__ import annotations

from typing import Any

from tablestore import (
    ComparatorType,
    Condition,
    Direction,
    Row,
    RowExistenceExpectation,
    SingleColumnCondition,
)

from ... import prefetch
from ...domain.records import Page, Scalar
from ...domain.records import Row as Item
from ...errors import Conflict, Internal, NotFound
from .calls import ConditionFailed, run
from .ranges import page_range

VERSION = "version"


def item_key(collection: str, item_id: str) -> str:
    return f"{collection}#{item_id}"


def tally_key(collection: str) -> str:
    return f"{collection}!"


class TablestoreUserData:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    # items

    def get(self, user_id: str, collection: str, item_id: str) -> Item | None:
        return prefetch.row(
            user_id, collection, item_id, lambda: self._get(user_id, collection, item_id)
        )

    def _get(self, user_id: str, collection: str, item_id: str) -> Item | None:
        _, row, _ = run(
            "item get",
            lambda: self._client.get_row(
                self._table, pk(user_id, item_key(collection, item_id)), max_version=1
            ),
        )
        return None if row is None else item_from_row(user_id, collection, row)

    def put_new(self, row: Item, collection: str) -> None:
        condition = Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)
        try:
            self._put(row, collection, condition)
        except ConditionFailed as failed:
            current = self._get(row.user_id, collection, row.item_id) if failed.maybe_ours else None
            if current is not None and dict(current.columns) == dict(row.columns):
                return  # the first send was applied
            raise Conflict("an item with this id exists") from None

    def replace_if_version(self, row: Item, collection: str, expected_version: int) -> None:
        condition = Condition(
            RowExistenceExpectation.EXPECT_EXIST,
            SingleColumnCondition(
                VERSION, int(expected_version), ComparatorType.EQUAL, pass_if_missing=False
            ),
        )
        try:
            self._put(row, collection, condition)
        except ConditionFailed as failed:
            current = self._get(row.user_id, collection, row.item_id)
            if current is None:
                raise NotFound() from None
            if failed.maybe_ours and dict(current.columns) == dict(row.columns):
                return
            raise Conflict("the item was changed since that version") from None

    def delete(self, user_id: str, collection: str, item_id: str) -> bool | None:
        condition = Condition(RowExistenceExpectation.EXPECT_EXIST)
        try:
            run(
                "item delete",
                lambda: self._client.delete_row(
                    self._table, Row(pk(user_id, item_key(collection, item_id))), condition
                ),
                idempotent=True,
            )
        except ConditionFailed as failed:
            return None if failed.maybe_ours else False
        return True

    def page(
        self,
        user_id: str,
        collection: str,
        start_after: str | None,
        limit: int,
        newest_first: bool = False,
    ) -> Page:
        if limit < 1:
            raise Internal("page limit must be positive")
        low, high = f"{collection}#", f"{collection}$"
        if newest_first:
            direction = Direction.BACKWARD
            start = pk(user_id, high if start_after is None else item_key(collection, start_after))
            end = pk(user_id, low)
        else:
            direction = Direction.FORWARD
            start = pk(user_id, low if start_after is None else item_key(collection, start_after))
            end = pk(user_id, high)
        return page_range(
            self._client,
            self._table,
            direction,
            start,
            end,
            start_after,
            limit,
            lambda row: item_from_row(user_id, collection, row),
        )

    def _put(self, row: Item, collection: str, condition: Condition) -> None:
        sdk_row = Row(
            pk(row.user_id, item_key(collection, row.item_id)),
            [(name, value) for name, value in row.columns.items()],
        )
        # A re-sent put writes the same row; the conditional ones are recognised above.
        run(
            "item put",
            lambda: self._client.put_row(self._table, sdk_row, condition),
            idempotent=True,
        )


def pk(user_id: str, key: Any) -> list[tuple[str, Any]]:
    return [("uid", user_id), ("id", key)]


def item_from_row(user_id: str, collection: str, row: Any) -> Item:
    key = dict(row.primary_key)
    prefix = f"{collection}#"
    stored = key.get("id")
    if key.get("uid") != user_id or not isinstance(stored, str) or not stored.startswith(prefix):
        # The ranges cannot produce this; if the service ever did, we must not hand it out.
        raise Internal("row outside the user's collection range")
    columns: dict[str, Scalar] = {}
    for cell in row.attribute_columns or ():
        value = cell[1]
        columns[cell[0]] = (
            bytes(value).decode("utf-8", "replace")
            if isinstance(value, (bytes, bytearray))
            else value
        )
    return Item(user_id=user_id, item_id=stored[len(prefix) :], columns=columns)


__all__ = ["TablestoreUserData", "item_from_row", "item_key", "pk", "tally_key"]

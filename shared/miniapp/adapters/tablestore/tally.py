"""CountedRows on Tablestore: the tally rows (count, revision and in-flight markers) that keep a
user's row count exact (services/exact_count.py), for every scope. Where a scope's tally and rows
live is the caller's `Place` (scopes.py: a collection's in the user_data table, the 2020 rows'
in the usage and data tables).

A tally row's columns: `count` INTEGER, `rev` INTEGER, `m<marker>` INTEGER (ms when the
marker was written) per write in flight, and `g<order id>` INTEGER per paid order's grant (items
it adds to the quota; services/orders.py). A row without `rev` is a counter from before tallies
(the 2020 usage counter, which was best effort), or a row a grant created before the user's
first count: it reads with count -1, so it is counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tablestore import (
    ComparatorType,
    Condition,
    DeleteRowItem,
    PutRowItem,
    Row,
    RowExistenceExpectation,
    SingleColumnCondition,
    UpdateRowItem,
)

from ... import deadline, prefetch
from ...domain.records import Paired, Tally
from ...domain.records import Row as Item
from ...errors import Conflict, MiniAppError, NotFound, QuotaExceeded
from .calls import ConditionFailed, deleted, run, write_batch
from .ranges import PrimaryKey, count_range

COUNT, REVISION = "count", "rev"
MARKER_PREFIX = "m"
GRANT_PREFIX = "g"


def tally_from_row(user_id: str, scope: str, row: Any) -> Tally | None:
    """The tally in an SDK row (from a GetRow or a BatchGetRow), None for no row."""
    if row is None:
        return None
    columns = {cell[0]: cell[1] for cell in row.attribute_columns or ()}
    markers = {
        name[len(MARKER_PREFIX) :]: value
        for name, value in columns.items()
        if name.startswith(MARKER_PREFIX) and isinstance(value, int)
    }
    grants = {
        name[len(GRANT_PREFIX) :]: value
        for name, value in columns.items()
        if name.startswith(GRANT_PREFIX) and isinstance(value, int) and value > 0
    }
    count, revision = columns.get(COUNT, 0), columns.get(REVISION)
    if revision is None:
        # a counter from before tallies, or a grant's row: count it
        return Tally(user_id, scope, -1, 0, markers, grants, counted=False)
    if not (isinstance(count, int) and isinstance(revision, int)):
        count, revision = -1, -1  # unreadable: a reset (which matches no revision) rewrites it
    return Tally(user_id, scope, count, revision, markers, grants)


@dataclass(frozen=True)
class Place:
    """Where one user's counted rows of one scope live: the tally row, and the rows'
    table, key range [first, end) and keys."""

    tally_table: str
    tally_key: PrimaryKey
    rows_table: str
    first: PrimaryKey
    end: PrimaryKey
    row_key: Callable[[str], PrimaryKey]  # an item id -> its row's key
    decode: Callable[[Any], Item]  # an SDK row of this scope -> the Row


class TallyRows:
    """CountedRows of every scope, each at the `Place` that `place(user, scope)` answers."""

    def __init__(self, client: Any, place: Callable[[str, str], Place]) -> None:
        self._client = client
        self.place = place

    def count(self, user_id: str, scope: str) -> int:
        at = self.place(user_id, scope)
        return count_range(self._client, at.rows_table, at.first, at.end)

    def tally(self, user_id: str, scope: str) -> Tally | None:
        return prefetch.tally(user_id, scope, lambda: self._tally(user_id, scope))

    def _tally(self, user_id: str, scope: str) -> Tally | None:
        at = self.place(user_id, scope)
        _, row, _ = run(
            "tally get", lambda: self._client.get_row(at.tally_table, at.tally_key, max_version=1)
        )
        return tally_from_row(user_id, scope, row)

    def create_tally(self, user_id: str, scope: str, count: int) -> None:
        at = self.place(user_id, scope)
        row = Row(at.tally_key, [(COUNT, int(count)), (REVISION, 0)])
        try:
            run(
                "tally create",
                lambda: self._client.put_row(
                    at.tally_table, row, Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)
                ),
                idempotent=True,
            )
        except ConditionFailed as failed:
            if not failed.maybe_ours:
                raise Conflict("the tally exists") from None

    def reserve(self, user_id: str, scope: str, limit: int, marker: str, now_ms: int) -> None:
        if limit <= 0:
            raise QuotaExceeded()  # else a tally read as -1 (to recount) would pass `count < 0`
        at = self.place(user_id, scope)
        row = Row(
            at.tally_key,
            {
                "increment": [(COUNT, 1), (REVISION, 1)],
                "put": [(MARKER_PREFIX + marker, int(now_ms))],
            },
        )
        condition = Condition(
            RowExistenceExpectation.EXPECT_EXIST,
            SingleColumnCondition(
                COUNT, int(limit), ComparatorType.LESS_THAN, pass_if_missing=False
            ),
        )
        try:
            run("tally reserve", lambda: self._client.update_row(at.tally_table, row, condition))
        except ConditionFailed:
            if self._tally(user_id, scope) is None:
                raise NotFound("no tally") from None
            raise QuotaExceeded() from None

    def mark(self, user_id: str, scope: str, marker: str, now_ms: int) -> None:
        at = self.place(user_id, scope)
        item = _mark_item(at, marker, now_ms)
        try:
            run(
                "tally mark",
                lambda: self._client.update_row(at.tally_table, item.row, item.condition),
            )
        except ConditionFailed:
            raise NotFound("no tally") from None

    def settle(self, user_id: str, scope: str, marker: str, delta: int) -> None:
        columns: dict[str, list[Any]] = {"delete_all": [MARKER_PREFIX + marker]}
        if delta:
            columns["increment"] = [(COUNT, int(delta)), (REVISION, 1)]
        at = self.place(user_id, scope)
        row = Row(at.tally_key, columns)
        try:
            # Dropping a marker alone is safe to send twice; an increment is not. A settle gives
            # back a slot or drops a marker of a write that happened: it runs even when the
            # invocation's deadline has just passed (else a recount must repair it later).
            with deadline.cleanup():
                run(
                    "tally settle",
                    lambda: self._client.update_row(
                        at.tally_table, row, Condition(RowExistenceExpectation.EXPECT_EXIST)
                    ),
                    idempotent=not delta,
                )
        except ConditionFailed:
            pass  # no tally: the next operation creates it from a count

    def reset(self, seen: Tally, count: int) -> bool:
        # The revision is put (seen + 1) rather than incremented, so a counter from before
        # tallies, which has none, gets one; the condition makes both the same.
        columns: dict[str, list[Any]] = {
            "put": [(COUNT, int(count)), (REVISION, int(seen.revision) + 1)]
        }
        if seen.markers:
            columns["delete_all"] = [MARKER_PREFIX + m for m in seen.markers]
        at = self.place(seen.user_id, seen.scope)
        row = Row(at.tally_key, columns)
        condition = Condition(
            RowExistenceExpectation.EXPECT_EXIST,
            SingleColumnCondition(
                REVISION,
                int(seen.revision),
                ComparatorType.EQUAL,
                pass_if_missing=seen.revision == 0,
            ),
        )
        try:
            # The revision condition makes a replay fail instead of applying twice.
            run(
                "tally reset",
                lambda: self._client.update_row(at.tally_table, row, condition),
                idempotent=True,
            )
        except ConditionFailed as failed:
            return failed.maybe_ours
        return True

    def grant(self, user_id: str, scope: str, key: str, items: int) -> None:
        """Set the grant `key` (an order id) to `items`: the same column whoever writes it, so
        writing it twice grants once. Without a tally yet, the row is made with the grant alone,
        and the user's next operation counts it (tally_from_row). Touches no count, revision or
        marker, so it never races a write in flight."""
        at = self.place(user_id, scope)
        row = Row(at.tally_key, {"put": [(GRANT_PREFIX + key, int(items))]})
        run(
            "tally grant",
            lambda: self._client.update_row(
                at.tally_table, row, Condition(RowExistenceExpectation.IGNORE)
            ),
            idempotent=True,
        )

    def revoke(self, user_id: str, scope: str, key: str) -> None:
        """Drop the grant `key`; nothing to do when it is not there."""
        at = self.place(user_id, scope)
        row = Row(at.tally_key, {"delete_all": [GRANT_PREFIX + key]})
        try:
            run(
                "tally revoke",
                lambda: self._client.update_row(
                    at.tally_table, row, Condition(RowExistenceExpectation.EXPECT_EXIST)
                ),
                idempotent=True,
            )
        except ConditionFailed:
            pass  # no row: no grant

    def put_new_settling(self, row: Item, scope: str, marker: str) -> Paired:
        """The put and a settle that drops `marker`, in one BatchWriteRow. Both rows are safe
        to send twice (a re-sent put that finds its own row counts as written)."""
        at = self.place(row.user_id, scope)
        sdk_row = Row(at.row_key(row.item_id), list(row.columns.items()))
        put, drop = write_batch(
            "row put and tally settle",
            self._client,
            [
                (
                    at.rows_table,
                    PutRowItem(sdk_row, Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)),
                ),
                (at.tally_table, _drop_item(at, marker)),
            ],
            idempotent=True,
        )
        item: bool | MiniAppError = True
        if isinstance(put, ConditionFailed):
            current = self._row(at, row.item_id) if put.maybe_ours else None
            if current is None or dict(current.columns) != dict(row.columns):
                item = Conflict("an item with this id exists")
        elif put is not None:
            item = put
        return Paired(item, drop is None)

    def delete_marking(
        self, user_id: str, scope: str, item_id: str, marker: str, now_ms: int
    ) -> Paired:
        """The mark and the delete, in one BatchWriteRow (across two tables for the 2020 rows);
        `item` answers as `delete` does. Both rows are safe to send twice."""
        at = self.place(user_id, scope)
        mark, delete = write_batch(
            "tally mark and row delete",
            self._client,
            [
                (at.tally_table, _mark_item(at, marker, now_ms)),
                (
                    at.rows_table,
                    DeleteRowItem(
                        Row(at.row_key(item_id)), Condition(RowExistenceExpectation.EXPECT_EXIST)
                    ),
                ),
            ],
            idempotent=True,
        )
        return Paired(deleted(delete), mark is None)

    def _row(self, at: Place, item_id: str) -> Item | None:
        _, row, _ = run(
            "row get",
            lambda: self._client.get_row(at.rows_table, at.row_key(item_id), max_version=1),
        )
        return None if row is None else at.decode(row)


def _mark_item(at: Place, marker: str, now_ms: int) -> UpdateRowItem:
    """`mark` as a row of a BatchWriteRow (calls.write_batch). Sending it twice bumps the
    revision twice, which only makes a concurrent recount give up."""
    row = Row(
        at.tally_key, {"increment": [(REVISION, 1)], "put": [(MARKER_PREFIX + marker, int(now_ms))]}
    )
    return UpdateRowItem(row, Condition(RowExistenceExpectation.EXPECT_EXIST))


def _drop_item(at: Place, marker: str) -> UpdateRowItem:
    """A settle with no change to the count (drop `marker`), as a row of a BatchWriteRow: safe
    to send twice."""
    row = Row(at.tally_key, {"delete_all": [MARKER_PREFIX + marker]})
    return UpdateRowItem(row, Condition(RowExistenceExpectation.EXPECT_EXIST))

"""Tally rows on Tablestore: the count, revision and in-flight markers that keep a user's row
count exact (ports.CountedRows, services/exact_count.py), in whatever table and row the caller
names. Used for each collection's tally (user_data.py) and the 2020 rows' (guard.py).

A tally row's columns: `count` INTEGER, `rev` INTEGER, and `m<marker>` INTEGER (ms when the
marker was written) per write in flight. A row without `rev` is a counter from before tallies
(the 2020 usage counter, which was best effort): it reads with count -1, so it is recounted once.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tablestore import (
    ComparatorType,
    Condition,
    Row,
    RowExistenceExpectation,
    SingleColumnCondition,
    UpdateRowItem,
)

from ... import deadline
from ...domain.records import Tally
from ...errors import Conflict, NotFound, QuotaExceeded
from .calls import ConditionFailed, run
from .ranges import PrimaryKey

COUNT, REVISION = "count", "rev"
MARKER_PREFIX = "m"


def tally_from_row(user_id: str, scope: str, row: Any) -> Tally | None:
    """The tally in an SDK row (from a GetRow or a BatchGetRow), None for no row."""
    if row is None:
        return None
    columns = {cell[0]: cell[1] for cell in row.attribute_columns or ()}
    markers = {name[len(MARKER_PREFIX):]: value for name, value in columns.items()
               if name.startswith(MARKER_PREFIX) and isinstance(value, int)}
    count, revision = columns.get(COUNT, 0), columns.get(REVISION)
    if revision is None:
        count, revision = -1, 0  # a counter from before tallies: recount it
    elif not (isinstance(count, int) and isinstance(revision, int)):
        count, revision = -1, -1  # unreadable: a reset (which matches no revision) rewrites it
    return Tally(user_id, scope, count, revision, markers)


class TallyRows:
    """The tally of (user, scope) in `table`, at the primary key `key(user, scope)`."""

    def __init__(self, client: Any, table: str, key: Callable[[str, str], PrimaryKey]) -> None:
        self._client = client
        self._table = table
        self._key = key

    @property
    def table(self) -> str:
        return self._table

    def key(self, user_id: str, scope: str) -> PrimaryKey:
        return self._key(user_id, scope)

    def tally(self, user_id: str, scope: str) -> Tally | None:
        _, row, _ = run("tally get", lambda: self._client.get_row(
            self._table, self._key(user_id, scope), max_version=1))
        return tally_from_row(user_id, scope, row)

    def create(self, user_id: str, scope: str, count: int) -> None:
        row = Row(self._key(user_id, scope), [(COUNT, int(count)), (REVISION, 0)])
        try:
            run("tally create", lambda: self._client.put_row(
                self._table, row, Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)),
                idempotent=True)
        except ConditionFailed as failed:
            if not failed.maybe_ours:
                raise Conflict("the tally exists") from None

    def reserve(self, user_id: str, scope: str, limit: int, marker: str, now_ms: int) -> None:
        row = Row(self._key(user_id, scope), {
            "increment": [(COUNT, 1), (REVISION, 1)],
            "put": [(MARKER_PREFIX + marker, int(now_ms))]})
        condition = Condition(
            RowExistenceExpectation.EXPECT_EXIST,
            SingleColumnCondition(COUNT, int(limit), ComparatorType.LESS_THAN,
                                  pass_if_missing=False))
        try:
            run("tally reserve", lambda: self._client.update_row(self._table, row, condition))
        except ConditionFailed:
            if self.tally(user_id, scope) is None:
                raise NotFound("no tally") from None
            raise QuotaExceeded() from None

    def mark(self, user_id: str, scope: str, marker: str, now_ms: int) -> None:
        item = self.mark_item(user_id, scope, marker, now_ms)
        try:
            run("tally mark", lambda: self._client.update_row(self._table, item.row,
                                                              item.condition))
        except ConditionFailed:
            raise NotFound("no tally") from None

    def mark_item(self, user_id: str, scope: str, marker: str, now_ms: int) -> UpdateRowItem:
        """`mark` as a row of a BatchWriteRow (calls.write_batch). Sending it twice bumps the
        revision twice, which only makes a concurrent recount give up."""
        row = Row(self._key(user_id, scope), {
            "increment": [(REVISION, 1)], "put": [(MARKER_PREFIX + marker, int(now_ms))]})
        return UpdateRowItem(row, Condition(RowExistenceExpectation.EXPECT_EXIST))

    def drop_item(self, user_id: str, scope: str, marker: str) -> UpdateRowItem:
        """A settle with no change to the count (drop `marker`), as a row of a BatchWriteRow:
        safe to send twice."""
        row = Row(self._key(user_id, scope), {"delete_all": [MARKER_PREFIX + marker]})
        return UpdateRowItem(row, Condition(RowExistenceExpectation.EXPECT_EXIST))

    def settle(self, user_id: str, scope: str, marker: str, delta: int) -> None:
        columns: dict[str, list[Any]] = {"delete_all": [MARKER_PREFIX + marker]}
        if delta:
            columns["increment"] = [(COUNT, int(delta)), (REVISION, 1)]
        row = Row(self._key(user_id, scope), columns)
        try:
            # Dropping a marker alone is safe to send twice; an increment is not. A settle gives
            # back a slot or drops a marker of a write that happened: it runs even when the
            # invocation's deadline has just passed (else a recount must repair it later).
            with deadline.cleanup():
                run("tally settle", lambda: self._client.update_row(
                    self._table, row, Condition(RowExistenceExpectation.EXPECT_EXIST)),
                    idempotent=not delta)
        except ConditionFailed:
            pass  # no tally: the next operation creates it from a count

    def reset(self, seen: Tally, count: int) -> bool:
        # The revision is put (seen + 1) rather than incremented, so a counter from before
        # tallies, which has none, gets one; the condition makes both the same.
        columns: dict[str, list[Any]] = {"put": [(COUNT, int(count)),
                                                 (REVISION, int(seen.revision) + 1)]}
        if seen.markers:
            columns["delete_all"] = [MARKER_PREFIX + m for m in seen.markers]
        row = Row(self._key(seen.user_id, seen.collection), columns)
        condition = Condition(
            RowExistenceExpectation.EXPECT_EXIST,
            SingleColumnCondition(REVISION, int(seen.revision), ComparatorType.EQUAL,
                                  pass_if_missing=seen.revision == 0))
        try:
            # The revision condition makes a replay fail instead of applying twice.
            run("tally reset", lambda: self._client.update_row(self._table, row, condition),
                idempotent=True)
        except ConditionFailed as failed:
            return failed.maybe_ours
        return True

"""The base service of every declared collection, scoped per call to one user (the one the
session resolved to; never a client value). A collection supplies only its declaration.

What it owns:
- ids: server-generated, time-sortable (domain/ids.py); timestamps from the clock;
- validation: what a client sends and what storage gives back are both checked against the
  declaration, so a row written around the API is a typed `CorruptItem` (skipped in a list, and
  logged), never Internal; versions stop at 2^63-1 instead of overflowing the column;
- versioning: an update is a conditional write on the version it read;
- idempotency: an add with a key claims the key first; a retry answers what the first wrote;
- paging: cursors bound to the user and collection (domain/cursor.py);
- the quota, with an exact count under faults (below);
- todos stored in the 2020 table before collections existed are moved on a user's first use
  (a read that finds none writes nothing). A 2020 `put` of a todo-shaped row first completes
  that move for its user (`seal_legacy_rows`), so no 2020 row written later is ever taken for
  a todo.

The count: services/exact_count.py keeps it exact, with the collection's name as the scope of
its tally, as for the 2020 rows (docs/design/exact-counts.md says why it is exact).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..domain.cursor import decode_cursor, encode_cursor
from ..domain.ids import is_item_id, new_item_id
from ..domain.limits import INT64_MAX
from ..domain.records import Row
from ..domain.schema import Checked, Collection, Item, StoredItemInvalid
from ..errors import (
    Conflict,
    CorruptItem,
    Internal,
    InvalidRequest,
    MiniAppError,
    NotFound,
    QuotaExceeded,
)
from ..ports import Clock, CollectionRows, CountedRows, IdempotencyStore, ItemStore
from .exact_count import ExactCount, new_marker

log = logging.getLogger("miniapp.collections")

# How long a keyed add refused by the quota waits for concurrent attempts with its key (see
# `_reserve`): pauses of 0.05, 0.1 and 0.15 s, each followed by another look.
_QUOTA_PAUSES = (0.05, 0.1, 0.15)
_UPDATE_ATTEMPTS = 3
_EVERY_PAGE = 500
# The v2 todo columns as stored in the 2020 table before collections (a move checks them too).
_LEGACY_COLUMNS = frozenset({"text", "completed", "createdAt", "updatedAt", "version"})


def looks_like_legacy_todo(item_id: str, columns: Mapping[str, Any]) -> bool:
    return is_item_id(item_id) and set(columns) == _LEGACY_COLUMNS


@dataclass(frozen=True)
class ItemPage:
    """One page of a collection's items, and the cursor of the next."""

    items: tuple[Item, ...]
    cursor: str | None  # None: there is nothing after this page

    def to_wire(self) -> dict[str, object]:
        return {"items": [i.to_wire() for i in self.items], "cursor": self.cursor}


@dataclass(frozen=True)
class Legacy:
    """The 2020 rows, for moving pre-collection v2 todos: read from `items`, and removed with
    `remove` (the 2020 `remove`, which keeps the 2020 count exact)."""

    items: ItemStore
    remove: Callable[[str, str], None]


class CollectionService:
    def __init__(
        self,
        declaration: Collection,
        *,
        rows: CollectionRows,
        counted: CountedRows,
        idempotency: IdempotencyStore,
        clock: Clock,
        quota: int,
        cursor_key: bytes,
        legacy: Legacy | None = None,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.declaration = declaration
        self.name = declaration.name
        self.quota = declaration.quota or quota
        self._rows = rows
        self._idempotency = idempotency
        self._clock = clock
        self._cursor_key = cursor_key
        self._legacy = legacy if declaration.legacy_rows else None
        self._random_bytes = random_bytes
        self._pause = pause
        self._counted = counted
        # The file collections' services, by name (wiring fills it): what FileRef fields name.
        self.files: dict[str, Any] = {}
        self._count = ExactCount(
            counted,
            self.name,
            clock,
            f"collection {self.name}",
            before_first_count=self._move_legacy_rows,
        )

    # the five operations

    def add(
        self,
        user_id: str,
        values: Mapping[str, Any] | Checked,
        idempotency_key: str | None = None,
        complete: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> Item:
        """`complete(item_id)`: values only known once the id is (an order's trade number), asked
        once the quota's slot is held; what it raises gives the slot back and writes nothing."""
        checked = self._checked(values, new=True)
        self._check_file_refs(user_id, checked)
        now = self._clock.now_ms()
        item_id = new_item_id(now, self._random_bytes)
        if idempotency_key is not None:
            claimed = self._idempotency.claim(user_id, f"{self.name}/{idempotency_key}", item_id)
            if claimed != item_id:  # a retry: answer what the first attempt wrote
                # One read decides: with two, a first attempt still running could write its item
                # between them, and the retry would take that item for a foreign row.
                earlier = self._item_or_none(user_id, claimed)
                if earlier is not None:
                    return earlier
                item_id = claimed  # the first attempt has not written (yet): write it now
        return self._write_new(
            user_id, item_id, checked, now, keyed=idempotency_key is not None, complete=complete
        )

    def add_as(self, user_id: str, item_id: str, values: Mapping[str, Any] | Checked) -> Item:
        """A new item under an id chosen before (a committed file's): written once; a repeat, or
        a concurrent twin, answers the item that was written."""
        checked = self._checked(values, new=True)
        earlier = self._item_or_none(user_id, item_id)
        if earlier is not None:
            return earlier
        return self._write_new(user_id, item_id, checked, self._clock.now_ms(), keyed=True)

    def _write_new(
        self,
        user_id: str,
        item_id: str,
        checked: Mapping[str, Any],
        now: int,
        keyed: bool,
        complete: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> Item:
        tally = self._count.check(user_id)
        marker = new_marker()
        written = self._reserve(
            user_id,
            item_id,
            marker,
            keyed=keyed,
            limit=self.quota + (tally.granted if tally is not None else 0),
        )
        if written is not None:
            return written
        if complete is not None:
            try:
                checked = self._checked({**checked, **complete(item_id)}, new=True)
            except BaseException:
                self._count.settle(user_id, marker, -1)  # nothing written: the slot goes back
                raise
        item = Item(item_id, checked, now, now, 1)
        row = Row(user_id, item_id, item.to_columns())
        if not keyed:
            # A new id: only a re-send of this request can find the row there, so the settle
            # goes in the put's request (a keyed add may race a retry of itself: it settles
            # after the put, below, and gives the slot back if the retry wrote first).
            try:
                done = self._counted.put_new_settling(row, self.name, marker)
            except BaseException:
                self._count.repair_now(user_id, marker)  # the put may have landed
                raise
            if done.item is True:
                if not done.tally:
                    self._count.settle(user_id, marker, 0)  # the settle's row failed: again
                return item
            self._count.unwritten(user_id, marker, done)
            raise done.item if isinstance(done.item, MiniAppError) else Internal()
        try:
            self._rows.put_new(row, self.name)
        except Conflict:
            self._count.settle(user_id, marker, -1)
            raced = self._item_or_none(user_id, item_id)  # a concurrent retry of this add won
            if raced is None:
                raise
            return raced
        except BaseException:
            self._count.repair_now(user_id, marker)  # the put may have landed: count, don't guess
            raise
        self._count.settle(user_id, marker, 0)
        return item

    def update(
        self,
        user_id: str,
        item_id: str,
        expected_version: int | None,
        changes: Mapping[str, Any] | Checked,
    ) -> Item:
        checked = self._checked(changes, new=False)
        self._check_file_refs(user_id, checked)
        for _ in range(_UPDATE_ATTEMPTS):
            current = self.get(user_id, item_id)  # each attempt reads it anew
            if expected_version is not None and current.version != expected_version:
                raise Conflict(f"stale expectedVersion: the item is at version {current.version}")
            if current.version >= INT64_MAX:
                raise Conflict("the item's version cannot grow further; add a new item")
            updated = replace(
                current,
                values={**current.values, **checked},
                updated_at=max(self._clock.now_ms(), current.updated_at),
                version=current.version + 1,
            )
            try:
                # The store re-checks the version atomically: of two updates that both passed
                # the check above, exactly one is written and the other gets Conflict.
                self._rows.replace_if_version(
                    Row(user_id, item_id, updated.to_columns()), self.name, current.version
                )
                self._release_files(user_id, current.values, updated.values)
                return updated
            except Conflict:
                if expected_version is not None:
                    raise
        raise Conflict("the item kept changing while it was updated; retry")

    def get(self, user_id: str, item_id: str) -> Item:
        row = self._rows.get(user_id, self.name, item_id)
        if row is None and self._moved_legacy_rows(user_id):
            row = self._rows.get(user_id, self.name, item_id)
        if row is None:
            raise NotFound("no such item")
        return self._item(row)

    def list(self, user_id: str, limit: int, cursor: str | None = None) -> ItemPage:
        if cursor is None:
            # The first page checks the count (a read writes nothing unless it has legacy rows
            # to move).
            if not self._count.check(user_id, create=False) and self._move_legacy_rows(user_id):
                self._count.establish(user_id)
            start_after = None
        else:
            start_after = decode_cursor(self._cursor_key, user_id, self.name, cursor)
        page = self._rows.page(
            user_id,
            self.name,
            start_after,
            limit,
            newest_first=self.declaration.order == "newest_first",
        )
        items = []
        for row in page.rows:
            try:
                items.append(self.declaration.item_from_columns(row.item_id, row.columns))
            except StoredItemInvalid as exc:
                log.warning(
                    "list of %s skipped a stored row that breaks the declaration: %s",
                    self.name,
                    exc,
                )
        next_cursor = (
            None
            if page.next_start is None
            else encode_cursor(self._cursor_key, user_id, self.name, page.next_start)
        )
        return ItemPage(tuple(items), next_cursor)

    def remove(self, user_id: str, item_id: str) -> None:
        # A row that breaks the declaration can still be removed: that is how a user clears it.
        row = self._rows.get(user_id, self.name, item_id)
        if row is None and self._moved_legacy_rows(user_id):
            row = self._rows.get(user_id, self.name, item_id)
        if row is None:
            raise NotFound("no such item")
        # The item's files go first: should the item's remove then fail, it names a file that
        # is gone (its url is NotFound), never the other way round (a file no item names).
        self._release_files(user_id, row.columns, {})
        self._count.check(user_id)
        removed = self._count.remove(user_id, item_id)
        if removed is False:
            raise NotFound("no such item")

    def get_or_none(self, user_id: str, item_id: str) -> Item | None:
        return self._item_or_none(user_id, item_id)

    def every_item(self, user_id: str) -> Iterator[Item]:
        """Every valid item of the user, read page by page as the caller goes on."""
        start_after: str | None = None
        while True:
            page = self._rows.page(user_id, self.name, start_after, _EVERY_PAGE)
            for row in page.rows:
                try:
                    yield self.declaration.item_from_columns(row.item_id, row.columns)
                except StoredItemInvalid:
                    continue
            if page.next_start is None:
                return
            start_after = page.next_start

    # files an item names (FileRef fields)

    def _check_file_refs(self, user_id: str, values: Mapping[str, Any]) -> None:
        for name, collection in self.declaration.file_refs.items():
            file_id = values.get(name)
            if (
                file_id is not None
                and self.files[collection].items.get_or_none(user_id, file_id) is None
            ):
                raise InvalidRequest(f"'{name}' names no committed file of yours")

    def _release_files(
        self, user_id: str, before: Mapping[str, Any], after: Mapping[str, Any]
    ) -> None:
        """Remove the files `before` named and `after` does not (a file belongs to its item). A
        failure is logged: the item's write stands, and the file stays in the user's files."""
        for name, collection in self.declaration.file_refs.items():
            old = before.get(name)
            if not isinstance(old, str) or old == after.get(name):
                continue
            try:
                self.files[collection].remove(user_id, old)
            except NotFound:
                pass
            except MiniAppError as exc:
                log.warning("a file %s no longer names stays: %s", self.name, exc.message)

    def seal_legacy_rows(self, user_id: str) -> None:
        """Called before a 2020 `put` writes a row shaped like a pre-collection v2 todo: move the
        user's legacy todos now, so that row (and any later one) stays a 2020 row forever."""
        if self._legacy is not None:
            tally = self._counted.tally(user_id, self.name)
            if tally is None or not tally.counted:
                self._count.establish(user_id, tally)

    def usage(self, user_id: str) -> dict[str, int]:
        """The user's quota in this collection (the declared one plus what paid orders grant),
        what they hold of it and what is granted. Reads the tally only (with the session row,
        warm); a user who never wrote here is counted, without writing anything."""
        tally = self._counted.tally(user_id, self.name)
        granted = tally.granted if tally is not None else 0
        if tally is not None and tally.counted and tally.count >= 0:
            used = tally.count  # writes in flight may move it by their markers' number
        else:
            used = self._counted.count(user_id, self.name)
            if self._legacy is not None:
                used += sum(
                    looks_like_legacy_todo(row.item_id, row.columns)
                    for rows in self._legacy.items.pages(user_id)
                    for row in rows
                )
        return {"quota": self.quota + granted, "used": used, "granted": granted}

    # reading

    def _checked(self, given: Mapping[str, Any] | Checked, new: bool) -> Mapping[str, Any]:
        """`given` checked against the declaration, unless the parser checked it already."""
        if isinstance(given, Checked):
            if (given.collection, given.new) == (self.name, new):
                return given.values
            given = given.values  # another declaration's check: check again
        check = self.declaration.check_new if new else self.declaration.check_changes
        return check(given).values

    def _item(self, row: Row) -> Item:
        try:
            return self.declaration.item_from_columns(row.item_id, row.columns)
        except StoredItemInvalid as exc:
            log.warning("stored %s item breaks the declaration: %s", self.name, exc)
            raise CorruptItem(
                f"the stored item breaks the declaration of '{self.name}'; remove it"
            ) from None

    def _item_or_none(self, user_id: str, item_id: str) -> Item | None:
        row = self._rows.get(user_id, self.name, item_id)
        return None if row is None else self._item(row)

    # the count

    def _reserve(
        self, user_id: str, item_id: str, marker: str, keyed: bool, limit: int
    ) -> Item | None:
        """Take one slot of the user's quota (None), or answer the item that a concurrent attempt
        of this keyed add wrote meanwhile.

        Concurrent attempts of one keyed add each reserve a slot though only one of them writes;
        the others release theirs when their write finds the item there. Near the quota, those
        passing reservations can refuse an attempt whose item is being written. So a keyed add
        refused by the quota looks for its item and tries again, a few times."""
        pauses = list(_QUOTA_PAUSES) if keyed else []
        while True:
            try:
                self._count.reserve(user_id, limit, marker)
                return None
            except QuotaExceeded:
                written = self._item_or_none(user_id, item_id) if keyed else None
                if written is not None:
                    return written
                if not pauses:
                    # The quota the user has, so a client can say it (and what Pro would add).
                    raise QuotaExceeded(
                        f"item quota exceeded: at most {limit} in '{self.name}'"
                    ) from None
                self._pause(pauses.pop(0))

    def _moved_legacy_rows(self, user_id: str) -> bool:
        """On a miss: if this user never wrote to the collection, move legacy rows (True if any
        moved)."""
        if self._legacy is None:
            return False
        tally = self._counted.tally(user_id, self.name)
        if tally is not None and tally.counted:
            return False
        if not self._move_legacy_rows(user_id):
            return False
        self._count.establish(user_id, tally)
        return True

    def _move_legacy_rows(self, user_id: str) -> int:
        """v2 todos stored in the 2020 table before collections: each row that is a valid todo
        (server id, exactly the v2 columns, valid values) is copied here, then deleted there and
        its 2020 count kept exact. Other rows stay 2020 rows. Safe to run twice concurrently."""
        if self._legacy is None:
            return 0
        moved = 0
        start_after: str | None = None
        while True:
            page = self._legacy.items.page(user_id, start_after, 200)
            for row in page.rows:
                if not looks_like_legacy_todo(row.item_id, row.columns):
                    continue
                try:
                    self.declaration.item_from_columns(row.item_id, row.columns)
                except StoredItemInvalid:
                    continue
                try:
                    self._rows.put_new(Row(user_id, row.item_id, dict(row.columns)), self.name)
                except Conflict:
                    pass  # moved by a concurrent first use
                moved += 1
                self._legacy.remove(user_id, row.item_id)
            if page.next_start is None:
                return moved
            start_after = page.next_start

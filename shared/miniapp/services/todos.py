"""The v2 todo API, scoped to one user (the one the session resolved to; never a client value).

Writes that could race are conditional in the store, so the services never read-then-write on
trust: `add` writes only if the id is new, `update` writes only if the version is still the one
the client saw, and the per-user quota is an atomic counter reserved before the write and released
if the write fails. An `add` with an idempotency key claims the key first; a retry finds the claim
and answers the todo written then (or writes it under the claimed id if the first attempt failed
before writing), so a retry never creates a second todo.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..domain.cursor import encode_cursor
from ..domain.limits import DEFAULT_ITEM_QUOTA
from ..domain.todo import Todo, new_todo_id
from ..errors import Conflict, MiniAppError, NotFound, QuotaExceeded
from ..ports import Clock, IdempotencyStore, ItemStore, UsageCounter

# `list` reads at most this many store pages per call: 2020 rows between todos are skipped, and a
# user with many of them gets shorter pages (with a cursor) rather than an unbounded call.
_MAX_PAGES_PER_LIST = 5
# How long a keyed add refused by the quota waits for concurrent attempts with its key (see
# `_reserve`): pauses of 0.05, 0.1 and 0.15 s, each followed by another look.
_QUOTA_PAUSES = (0.05, 0.1, 0.15)


@dataclass(frozen=True)
class TodoPage:
    items: tuple[Todo, ...]
    cursor: str | None  # None: there is nothing after this page

    def to_wire(self) -> dict[str, object]:
        return {"items": [t.to_wire() for t in self.items], "cursor": self.cursor}


class Todos:
    def __init__(self, *, items: ItemStore, usage: UsageCounter, idempotency: IdempotencyStore,
                 clock: Clock, quota: int = DEFAULT_ITEM_QUOTA,
                 random_bytes: Callable[[int], bytes] = secrets.token_bytes,
                 pause: Callable[[float], None] = time.sleep) -> None:
        self._items = items
        self._usage = usage
        self._idempotency = idempotency
        self._clock = clock
        self._quota = quota
        self._random_bytes = random_bytes
        self._pause = pause

    def add(self, user_id: str, text: str, completed: bool = False,
            idempotency_key: str | None = None) -> Todo:
        now = self._clock.now_ms()
        todo_id = new_todo_id(now, self._random_bytes)
        if idempotency_key is not None:
            claimed = self._idempotency.claim(user_id, idempotency_key, todo_id)
            if claimed != todo_id:  # a retry: answer what the first attempt wrote
                # One read decides: with two, a first attempt still running could write its todo
                # between them, and the retry would take that todo for a foreign row.
                row = self._items.get(user_id, claimed)
                if row is not None:
                    earlier = Todo.from_row(row)
                    if earlier is None:
                        raise Conflict(
                            "this idempotencyKey was used for an item that is not a todo"
                        )
                    return earlier
                todo_id = claimed  # the first attempt has not written (yet): write it now
        todo = Todo(todo_id, text, completed, now, now, 1)
        written = self._reserve(user_id, todo_id, keyed=idempotency_key is not None)
        if written is not None:
            return written
        try:
            self._items.put(todo.to_row(user_id), must_not_exist=True)
        except Conflict:
            self._release(user_id)
            raced = self._todo_or_none(user_id, todo_id)  # a concurrent retry of this add won
            if raced is None:
                raise
            return raced
        except BaseException:
            self._release(user_id)
            raise
        return todo

    def _reserve(self, user_id: str, todo_id: str, keyed: bool) -> Todo | None:
        """Take one slot of the user's quota (None), or answer the todo that a concurrent attempt
        of this keyed add wrote meanwhile.

        Concurrent attempts of one keyed add (a client retrying before the first answer came) each
        reserve a slot though only one of them writes; the others release theirs when their write
        finds the todo there. Near the quota, those passing reservations can refuse an attempt
        whose todo is being written. So a keyed add refused by the quota looks for its todo and
        tries again, a few times, before it answers QuotaExceeded.
        """
        pauses = list(_QUOTA_PAUSES) if keyed else []
        while True:
            try:
                self._usage.reserve(user_id, self._quota)
                return None
            except QuotaExceeded:
                written = self._todo_or_none(user_id, todo_id) if keyed else None
                if written is not None:
                    return written
                if not pauses:
                    raise
                self._pause(pauses.pop(0))

    def update(self, user_id: str, todo_id: str, expected_version: int,
               text: str | None = None, completed: bool | None = None) -> Todo:
        current = self.get(user_id, todo_id)
        if current.version != expected_version:
            raise Conflict(f"stale expectedVersion: the todo is at version {current.version}")
        updated = replace(current,
                          text=current.text if text is None else text,
                          completed=current.completed if completed is None else completed,
                          updated_at=max(self._clock.now_ms(), current.updated_at),
                          version=current.version + 1)
        # The store re-checks the version atomically: of two updates that both passed the check
        # above, exactly one is written and the other gets Conflict.
        self._items.replace_if_version(updated.to_row(user_id), expected_version)
        return updated

    def get(self, user_id: str, todo_id: str) -> Todo:
        todo = self._todo_or_none(user_id, todo_id)
        if todo is None:
            raise NotFound("no such todo")
        return todo

    def list(self, user_id: str, limit: int, start_after: str | None = None) -> TodoPage:
        found: list[Todo] = []
        position = start_after
        for _ in range(_MAX_PAGES_PER_LIST):
            page = self._items.page(user_id, position, limit)
            for index, row in enumerate(page.rows):
                position = row.item_id
                todo = Todo.from_row(row)
                if todo is None:
                    continue
                found.append(todo)
                if len(found) == limit:
                    at_end = index == len(page.rows) - 1 and page.next_start is None
                    return TodoPage(tuple(found), None if at_end else encode_cursor(position))
            if page.next_start is None:
                return TodoPage(tuple(found), None)
            position = page.next_start
        return TodoPage(tuple(found), None if position is None else encode_cursor(position))

    def remove(self, user_id: str, todo_id: str) -> None:
        self.get(user_id, todo_id)  # v2 removes todos only, not 2020 rows that share the table
        if not self._items.delete(user_id, todo_id):
            raise NotFound("no such todo")
        self._release(user_id)

    def _todo_or_none(self, user_id: str, todo_id: str) -> Todo | None:
        row = self._items.get(user_id, todo_id)
        return None if row is None else Todo.from_row(row)

    def _release(self, user_id: str) -> None:
        # Best effort: if this fails the counter stays one too high (the user loses one slot of
        # quota) rather than the request failing a second time.
        try:
            self._usage.release(user_id)
        except MiniAppError:
            pass

"""The simple in-memory model the end-to-end property test holds the backend to: per user, the
items stored under (user, id) — v2 todos and 2020 rows in one id namespace (the test never
reuses an id across them) though stored apart — and the idempotency keys the user
has spent.

Views give what each API must answer: the v2 wire todo, the 2020 row object (a todo seen through
the 2020 protocol is a row with the todo's columns), and the columns the table must hold.
`typed` makes comparisons strict about JSON types (Python says `True == 1` and `1 == 1.0`; a
client does not).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

# docs/api.md: 26 characters of Crockford base32, a 48-bit millisecond timestamp first.
TODO_ID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")


@dataclass(frozen=True)
class TodoItem:
    text: str
    completed: bool
    version: int
    created_at: int
    updated_at: int

    def columns(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "completed": self.completed,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "version": self.version,
        }


@dataclass(frozen=True)
class RowItem:
    """A 2020 row. Its column names never make up the todo column set (the test keeps them so),
    so v2 operations must not see it."""

    columns_: Mapping[str, Any]

    def columns(self) -> dict[str, Any]:
        return dict(self.columns_)


Item = TodoItem | RowItem


@dataclass
class UserModel:
    items: dict[str, Item] = field(default_factory=dict)  # v2 todos
    keys: dict[str, str] = field(default_factory=dict)  # idempotencyKey -> todo id it created
    rows: dict[str, RowItem] = field(default_factory=dict)  # 2020 rows, stored apart

    def todo(self, item_id: str) -> TodoItem | None:
        item = self.items.get(item_id)
        return item if isinstance(item, TodoItem) else None

    def todo_wire(self, item_id: str) -> dict[str, Any]:
        todo = self.todo(item_id)
        assert todo is not None
        return {
            "id": item_id,
            "text": todo.text,
            "completed": todo.completed,
            "createdAt": todo.created_at,
            "updatedAt": todo.updated_at,
            "version": todo.version,
        }

    def todos_wire(self, after: str | None = None) -> list[dict[str, Any]]:
        """Every todo in id order (the order Tablestore keeps them: UTF-8 byte order, which is
        code point order, which is Python's string order)."""
        return [
            self.todo_wire(i)
            for i in sorted(self.items)
            if self.todo(i) is not None and (after is None or i > after)
        ]

    def row_object(self, item_id: str) -> dict[str, Any] | None:
        item = self.rows.get(item_id)
        return None if item is None else {"id": item_id, **item.columns()}

    def row_objects(self) -> list[dict[str, Any]]:
        """What the 2020 `list` answers: the 2020 rows only (v2 todos never reach it)."""
        # Every id in self.rows has a row object, so no None reaches the list.
        return [self.row_object(i) for i in sorted(self.rows)]  # type: ignore[misc]

    def stored(self) -> dict[str, dict[str, Any]]:
        """id -> attribute columns of the todos, as user_data must hold them."""
        return {i: item.columns() for i, item in self.items.items()}

    def stored_rows(self) -> dict[str, dict[str, Any]]:
        """id -> attribute columns of the 2020 rows, as todo_list must hold them."""
        return {i: item.columns() for i, item in self.rows.items()}

    def updated(
        self, item_id: str, *, text: str | None, completed: bool | None, updated_at: int
    ) -> TodoItem:
        todo = self.todo(item_id)
        assert todo is not None
        new = replace(
            todo,
            text=todo.text if text is None else text,
            completed=todo.completed if completed is None else completed,
            version=todo.version + 1,
            updated_at=updated_at,
        )
        self.items[item_id] = new
        return new


def typed(value: Any) -> Any:
    """`value` with every scalar tagged by its JSON type, for strict equality."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [typed(v) for v in value]
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", value)
    return (type(value).__name__, value)

"""The v2 todo: its value type, its server-generated id, and the rules for its text.

Ids are 128 bits, ULID-style: a 48-bit millisecond timestamp then 80 random bits, written as 26
Crockford base32 characters. Sorting ids as strings sorts todos by creation time (to the
millisecond), which is the order Tablestore keeps rows in, so `list` needs no secondary index.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest
from .fields import has_control_char, is_int
from .limits import TEXT_MAX_CHARS
from .records import Row

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TODO_ID_LENGTH = 26
TODO_ID_PATTERN = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_TIMESTAMP_MAX = 2**48 - 1

# Columns of a todo row; 2020 rows in the same table may have any other columns.
_COLUMNS = ("text", "completed", "createdAt", "updatedAt", "version")


def new_todo_id(now_ms: int, random_bytes: Callable[[int], bytes]) -> str:
    if not 0 <= now_ms <= _TIMESTAMP_MAX:
        raise ValueError("timestamp out of range for a todo id")
    value = (now_ms << 80) | int.from_bytes(random_bytes(10), "big")
    chars = []
    for _ in range(TODO_ID_LENGTH):
        chars.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_todo_id(value: str) -> bool:
    return bool(TODO_ID_PATTERN.fullmatch(value))


def check_todo_id(value: str, name: str = "id") -> str:
    if not is_todo_id(value):
        raise InvalidRequest(f"'{name}' must be a todo id (26 characters, Crockford base32)")
    return value


def check_text(value: str, name: str = "text") -> str:
    """1-1000 characters (code points), kept exactly as sent: no trimming, no normalisation.
    Newline and tab are allowed; other control characters are not (they break UIs and logs), nor
    is a text of only whitespace (it would render as an empty todo)."""
    if not 1 <= len(value) <= TEXT_MAX_CHARS:
        raise InvalidRequest(f"'{name}' must be 1 to {TEXT_MAX_CHARS} characters")
    if has_control_char(value, allowed="\n\t"):
        raise InvalidRequest(
            f"'{name}' must not contain control characters other than newline and tab"
        )
    if value.isspace():
        raise InvalidRequest(f"'{name}' must not be only whitespace")
    return value


@dataclass(frozen=True)
class Todo:
    id: str
    text: str
    completed: bool
    created_at: int  # ms since the Unix epoch
    updated_at: int
    version: int  # 1 when added, +1 on every update

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "completed": self.completed,
                "createdAt": self.created_at, "updatedAt": self.updated_at, "version": self.version}

    def to_row(self, user_id: str) -> Row:
        return Row(user_id=user_id, item_id=self.id, columns={
            "text": self.text, "completed": self.completed, "createdAt": self.created_at,
            "updatedAt": self.updated_at, "version": self.version})

    @staticmethod
    def from_row(row: Row) -> Todo | None:
        """The todo stored in the row, or None when the row is not a todo (a 2020 row, or a todo
        that a 2020 `put` overwrote): v2 operations only ever see well-formed todos."""
        cols: Mapping[str, Any] = row.columns
        if not is_todo_id(row.item_id) or set(cols) != set(_COLUMNS):
            return None
        text, completed = cols["text"], cols["completed"]
        created, updated, version = cols["createdAt"], cols["updatedAt"], cols["version"]
        if not (isinstance(text, str) and isinstance(completed, bool)
                and is_int(created) and is_int(updated) and is_int(version) and version >= 1):
            return None
        return Todo(row.item_id, text, completed, created, updated, version)

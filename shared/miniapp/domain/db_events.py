"""The db function's events, validated into commands. No I/O.

An event without `"v"` speaks the 2020 protocol (`put`, `get`, `list`, `remove`); `"v": 2`
selects the v2 todo API (`add`, `update`, `get`, `list`, `remove`). The discriminator is needed
because `get`, `list` and `remove` exist in both with different answers. Every field is
type-checked; v2 events with a field their op does not define are rejected; 2020 events may carry
the 2020 keys (`sid`, `op`, `obj`, `id`) an op does not use, which the 2020 function ignored and
2020 clients may still send, but nothing else.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest
from .compat import CompatObject, check_item_id, parse_compat_object
from .cursor import decode_cursor
from .fields import (
    is_int,
    matching,
    optional_bool,
    optional_int,
    optional_str,
    reject_unknown,
    required_int,
    required_str,
)
from .limits import IDEMPOTENCY_KEY_MAX, INT64_MAX, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT
from .todo import check_text, check_todo_id

IDEMPOTENCY_KEY = re.compile(rf"[A-Za-z0-9_-]{{1,{IDEMPOTENCY_KEY_MAX}}}")

V2_FIELDS = {
    "add": {"v", "sid", "op", "text", "completed", "idempotencyKey"},
    "update": {"v", "sid", "op", "id", "expectedVersion", "text", "completed"},
    "get": {"v", "sid", "op", "id"},
    "list": {"v", "sid", "op", "limit", "cursor"},
    "remove": {"v", "sid", "op", "id"},
}
COMPAT_OPS = ("put", "get", "list", "remove")
COMPAT_FIELDS = {"sid", "op", "obj", "id"}


@dataclass(frozen=True)
class AddTodo:
    sid: str
    text: str
    completed: bool
    idempotency_key: str | None


@dataclass(frozen=True)
class UpdateTodo:
    sid: str
    id: str
    expected_version: int
    text: str | None
    completed: bool | None


@dataclass(frozen=True)
class GetTodo:
    sid: str
    id: str


@dataclass(frozen=True)
class ListTodos:
    sid: str
    limit: int
    start_after: str | None  # decoded cursor


@dataclass(frozen=True)
class RemoveTodo:
    sid: str
    id: str


@dataclass(frozen=True)
class CompatPut:
    sid: str
    obj: CompatObject


@dataclass(frozen=True)
class CompatGet:
    sid: str
    id: str


@dataclass(frozen=True)
class CompatList:
    sid: str


@dataclass(frozen=True)
class CompatRemove:
    sid: str
    id: str


DbCommand = (AddTodo | UpdateTodo | GetTodo | ListTodos | RemoveTodo
             | CompatPut | CompatGet | CompatList | CompatRemove)


def op_label(event: Mapping[str, Any] | None) -> tuple[str, str]:
    """(protocol, op) for the log record, from the client's values only when they are ones we
    know: a client string never reaches the logs verbatim."""
    if not isinstance(event, Mapping):
        return ("unknown", "unknown")
    v, op = event.get("v"), event.get("op")
    if "v" not in event:
        return ("2020", op if isinstance(op, str) and op in COMPAT_OPS else "unknown")
    if is_int(v) and v == 2:
        return ("v2", op if isinstance(op, str) and op in V2_FIELDS else "unknown")
    return ("unknown", "unknown")


def parse_db_event(event: Mapping[str, Any]) -> DbCommand:
    if "v" not in event:
        return _parse_compat(event)
    v = event["v"]
    if not is_int(v) or v != 2:
        raise InvalidRequest("'v' must be 2 (leave it out for the 2020 protocol)")
    op = required_str(event, "op")
    if op not in V2_FIELDS:
        raise InvalidRequest("'op' must be one of add, update, get, list, remove")
    reject_unknown(event, V2_FIELDS[op], f"a v2 '{op}' event")
    sid = required_str(event, "sid")
    if op == "add":
        key = optional_str(event, "idempotencyKey")
        if key is not None:
            matching(key, "idempotencyKey", IDEMPOTENCY_KEY,
                     f"1 to {IDEMPOTENCY_KEY_MAX} characters of A-Z a-z 0-9 _ -")
        return AddTodo(sid, check_text(required_str(event, "text")),
                       bool(optional_bool(event, "completed")), key)
    if op == "update":
        todo_id = check_todo_id(required_str(event, "id"))
        expected = required_int(event, "expectedVersion", 1, INT64_MAX)
        text = optional_str(event, "text")
        completed = optional_bool(event, "completed")
        if text is None and completed is None:
            raise InvalidRequest("an update needs 'text', 'completed' or both")
        return UpdateTodo(
            sid, todo_id, expected, None if text is None else check_text(text), completed
        )
    if op == "list":
        limit = optional_int(event, "limit", 1, LIST_MAX_LIMIT)
        cursor = optional_str(event, "cursor", allow_null=True)
        return ListTodos(sid, LIST_DEFAULT_LIMIT if limit is None else limit,
                         None if cursor is None else decode_cursor(cursor))
    todo_id = check_todo_id(required_str(event, "id"))
    return GetTodo(sid, todo_id) if op == "get" else RemoveTodo(sid, todo_id)


def _parse_compat(event: Mapping[str, Any]) -> DbCommand:
    op = required_str(event, "op")
    if op not in COMPAT_OPS:
        raise InvalidRequest("'op' must be one of put, get, list, remove "
                             "(or add, update, get, list, remove with \"v\": 2)")
    reject_unknown(event, COMPAT_FIELDS, "a 2020 event")
    sid = required_str(event, "sid")
    if op == "put":
        if "obj" not in event:
            raise InvalidRequest("'obj' is required")
        return CompatPut(sid, parse_compat_object(event["obj"]))
    if op == "list":
        return CompatList(sid)
    if "id" not in event:
        raise InvalidRequest("'id' is required")
    item_id = check_item_id(event["id"])
    return CompatGet(sid, item_id) if op == "get" else CompatRemove(sid, item_id)

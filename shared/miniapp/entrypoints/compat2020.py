"""The 2020 protocol's four operations, answered as the 2020 function answered them. 2020 events
may carry the 2020 keys (`sid`, `op`, `obj`, `id`) an op does not use, which the 2020 function
ignored and 2020 clients may still send, but nothing else."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.records import COMPAT_SCOPE, FirstRead
from ..errors import InvalidRequest
from .compat_object import check_item_id, parse_compat_object
from .registry import Command, Shape

_BASE = {"sid": "sid", "op": "op"}
_ROW_ID = "groceries"
_TALLY = FirstRead(COMPAT_SCOPE)  # checked by put, list and remove


def _obj(event: Mapping[str, Any]) -> Any:
    if "obj" not in event:
        raise InvalidRequest("'obj' is required")
    return parse_compat_object(event["obj"])


def _id(event: Mapping[str, Any]) -> str:
    if "id" not in event:
        raise InvalidRequest("'id' is required")
    return check_item_id(event["id"])


def _shape(op: str, kinds: Mapping[str, str], example: Mapping[str, Any]) -> Shape:
    all_keys = {"obj", "id"}
    return Shape(
        kinds={**_BASE, **kinds},
        required=frozenset({"sid", "op", *kinds}),
        example={"op": op, **example},
        ignored=frozenset(all_keys - set(kinds)),
    )


def _put(services: Any, user_id: str, obj: Any) -> None:
    services.compat.put(user_id, obj)


def _remove(services: Any, user_id: str, item_id: str) -> None:
    services.compat.remove(user_id, item_id)


COMMANDS = (
    Command(
        "2020",
        None,
        "put",
        _shape("put", {"obj": "obj"}, {"obj": {"id": _ROW_ID, "n": 2, "done": True}}),
        _obj,
        _put,
        '`{"sid", "op": "put", "obj": {"id": "...", ...}}`',
        "`null` — creates or replaces the whole row",
        first_reads=lambda obj: (_TALLY, FirstRead(COMPAT_SCOPE, obj.id)),
    ),
    Command(
        "2020",
        None,
        "get",
        _shape("get", {"id": "item_id"}, {"id": _ROW_ID}),
        _id,
        lambda s, u, item_id: s.compat.get(u, item_id),
        '`{"sid", "op": "get", "id": "..."}`',
        'the row object `{"id", ...columns}`, or `null` if there is none',
        first_reads=lambda item_id: (FirstRead(COMPAT_SCOPE, item_id),),
    ),
    Command(
        "2020",
        None,
        "list",
        _shape("list", {}, {}),
        lambda event: None,
        lambda s, u, _: s.compat.list(u),
        '`{"sid", "op": "list"}`',
        "an array of **all** the user's row objects, in `id` order",
        first_reads=lambda _: (_TALLY,),
    ),
    Command(
        "2020",
        None,
        "remove",
        _shape("remove", {"id": "item_id"}, {"id": _ROW_ID}),
        _id,
        _remove,
        '`{"sid", "op": "remove", "id": "..."}`',
        "`null` — also when there was no such row",
        first_reads=lambda item_id: (_TALLY, FirstRead(COMPAT_SCOPE, item_id)),
    ),
)

"""Validation of db events into commands (the registry): good events, and bad ones each with
its reason."""

from __future__ import annotations

import pytest

from miniapp.collections import declared
from miniapp.domain.compat import CompatObject
from miniapp.domain.cursor import encode_cursor
from miniapp.domain.schema import Checked
from miniapp.entrypoints import v2 as cmd
from miniapp.errors import InvalidRequest
from miniapp.wiring import registry_of

SID = "s" * 43
TODO_ID = "01HZX3K8Q4W5E6R7T8Y9V0J1P2"
REGISTRY = registry_of(declared())


def parse(event: dict) -> tuple[str, str | None, str, object]:
    parsed = REGISTRY.parse(event)
    c = parsed.command
    assert parsed.sid == SID
    return (c.protocol, c.collection, c.op, parsed.args)


def v2(op: str, **fields: object) -> dict:
    return {"v": 2, "sid": SID, "op": op, **fields}


def test_an_add_defaults_to_not_completed_without_a_key() -> None:
    assert parse(v2("add", text="milk")) == (
        "v2",
        "todos",
        "add",
        cmd.Add(Checked("todos", True, {"text": "milk", "completed": False}), None),
    )


def test_an_add_takes_completed_and_an_idempotency_key() -> None:
    assert parse(v2("add", text="milk", completed=True, idempotencyKey="k-1_A"))[3] == cmd.Add(
        Checked("todos", True, {"text": "milk", "completed": True}), "k-1_A"
    )


def test_an_update_may_change_only_completed() -> None:
    assert parse(v2("update", id=TODO_ID, expectedVersion=3, completed=True))[3] == cmd.Update(
        TODO_ID, 3, Checked("todos", False, {"completed": True})
    )


def test_a_list_defaults_to_twenty_from_the_start() -> None:
    assert parse(v2("list"))[3] == cmd.ListPage(20, None)


def test_a_list_with_a_null_cursor_starts_at_the_beginning() -> None:
    assert parse(v2("list", cursor=None, limit=100))[3] == cmd.ListPage(100, None)


def test_a_list_cursor_is_passed_on_for_the_service_to_check() -> None:
    cursor = encode_cursor(b"k" * 32, "someone", "todos", TODO_ID)  # the service checks the MAC
    assert parse(v2("list", cursor=cursor, limit=1))[3] == cmd.ListPage(1, cursor)


def test_v2_get_and_remove_take_a_todo_id() -> None:
    assert parse(v2("get", id=TODO_ID)) == ("v2", "todos", "get", TODO_ID)
    assert parse(v2("remove", id=TODO_ID)) == ("v2", "todos", "remove", TODO_ID)


def test_a_v2_event_naming_todos_is_the_same_as_one_naming_none() -> None:
    assert parse(v2("get", id=TODO_ID, collection="todos")) == parse(v2("get", id=TODO_ID))


def test_an_unknown_collection_is_refused_with_the_declared_ones() -> None:
    with pytest.raises(InvalidRequest, match="'collection' must be one of todos"):
        REGISTRY.parse(v2("list", collection="notes"))


def test_an_event_without_v_is_the_2020_protocol() -> None:
    assert parse({"sid": SID, "op": "list"}) == ("2020", None, "list", None)
    assert parse({"sid": SID, "op": "get", "id": "milk"}) == ("2020", None, "get", "milk")
    assert parse({"sid": SID, "op": "remove", "id": "milk"}) == ("2020", None, "remove", "milk")
    put = parse({"sid": SID, "op": "put", "obj": {"id": "milk", "completed": False}})
    assert isinstance(put[3], CompatObject) and put[3].id == "milk"


def test_a_2020_event_may_carry_2020_keys_its_op_does_not_use() -> None:
    assert parse({"sid": SID, "op": "list", "id": "x", "obj": {}}) == ("2020", None, "list", None)


BAD_EVENTS = [
    ({}, "empty"),
    ({"op": "list"}, "no sid"),
    ({"sid": SID}, "no op"),
    ({"sid": 5, "op": "list"}, "numeric sid"),
    ({"sid": None, "op": "list"}, "null sid"),
    ({"sid": ["a"], "op": "list"}, "array sid"),
    ({"sid": "\ud800", "op": "list"}, "sid with a lone surrogate"),
    ({"sid": SID, "op": 1}, "numeric op"),
    ({"sid": SID, "op": "drop"}, "unknown 2020 op"),
    ({"sid": SID, "op": "add", "text": "x"}, "v2 op without v"),
    ({"sid": SID, "op": "LIST"}, "op in capitals"),
    ({"sid": SID, "op": "list", "extra": 1}, "unknown key in a 2020 event"),
    ({"sid": SID, "op": "put"}, "put without obj"),
    ({"sid": SID, "op": "put", "obj": None}, "put with null obj"),
    ({"sid": SID, "op": "put", "obj": {"id": "x", "uid": "y"}}, "put with a uid column"),
    ({"sid": SID, "op": "get"}, "get without id"),
    ({"sid": SID, "op": "get", "id": 7}, "numeric id"),
    ({"sid": SID, "op": "remove", "id": ""}, "empty id"),
    ({"v": 1, "sid": SID, "op": "list"}, "v 1"),
    ({"v": "2", "sid": SID, "op": "list"}, "v as a string"),
    ({"v": True, "sid": SID, "op": "list"}, "v true"),
    ({"v": 2.0, "sid": SID, "op": "list"}, "v as a float"),
    (v2("put", obj={"id": "x"}), "2020-only op with v 2"),
    (v2("add"), "add without text"),
    (v2("add", text=""), "add with empty text"),
    (v2("add", text="x" * 1001), "add with text too long"),
    (v2("add", text=5), "add with numeric text"),
    (v2("add", text="a\x00b"), "add with NUL in text"),
    (v2("add", text="ok", completed="yes"), "completed as a string"),
    (v2("add", text="ok", completed=1), "completed as 1"),
    (v2("add", text="ok", completed=None), "completed null"),
    (v2("add", text="ok", idempotencyKey=""), "empty idempotency key"),
    (v2("add", text="ok", idempotencyKey="k" * 65), "idempotency key too long"),
    (v2("add", text="ok", idempotencyKey="a b"), "idempotency key with a space"),
    (v2("add", text="ok", idempotencyKey=12), "numeric idempotency key"),
    (v2("add", text="ok", id=TODO_ID), "add with a client id"),
    (v2("add", text="ok", uid="2088"), "add with a user id"),
    (v2("update", id=TODO_ID, expectedVersion=1), "update changing nothing"),
    (v2("update", id=TODO_ID, text="x"), "update without expectedVersion"),
    (v2("update", id=TODO_ID, expectedVersion=0, text="x"), "expectedVersion 0"),
    (v2("update", id=TODO_ID, expectedVersion=-1, text="x"), "negative expectedVersion"),
    (v2("update", id=TODO_ID, expectedVersion=True, text="x"), "expectedVersion true"),
    (v2("update", id=TODO_ID, expectedVersion=1.0, text="x"), "expectedVersion 1.0"),
    (v2("update", id=TODO_ID, expectedVersion="1", text="x"), "expectedVersion as a string"),
    (v2("update", id=TODO_ID, expectedVersion=2**63, text="x"), "expectedVersion over int64"),
    (v2("update", id=TODO_ID, expectedVersion=1, text=" "), "update to blank text"),
    (v2("update", id=TODO_ID, expectedVersion=1, createdAt=5), "update of createdAt"),
    (v2("update", id=TODO_ID, expectedVersion=1, version=9), "update of version"),
    (v2("update", id="buy milk", expectedVersion=1, text="x"), "update of a non-todo id"),
    (v2("get"), "get without id"),
    (v2("get", id=TODO_ID.lower()), "lower-case todo id"),
    (v2("remove", id=None), "remove with null id"),
    (v2("list", limit=0), "limit 0"),
    (v2("list", limit=101), "limit 101"),
    (v2("list", limit="10"), "limit as a string"),
    (v2("list", limit=True), "limit true"),
    (v2("list", limit=10.5), "limit as a float"),
    (v2("list", cursor=5), "numeric cursor"),
    (v2("list", cursor="not a cursor!"), "forged cursor"),
    (v2("list", cursor=""), "empty cursor"),
    (v2("list", collection="nope"), "undeclared collection"),
    (v2("list", collection=5), "numeric collection"),
    (v2("clearCompleted"), "an op no collection declares"),
]


@pytest.mark.parametrize("event, why", BAD_EVENTS, ids=[why for _, why in BAD_EVENTS])
def test_a_bad_event_is_invalid_request(event: dict, why: str) -> None:
    with pytest.raises(InvalidRequest):
        REGISTRY.parse(event)


def test_the_log_label_uses_only_known_ops() -> None:
    assert REGISTRY.label({"op": "put"}) == ("2020", "put")
    assert REGISTRY.label({"v": 2, "op": "add"}) == ("v2", "add")
    assert REGISTRY.label({"op": "<script>"}) == ("2020", "unknown")
    assert REGISTRY.label({"v": "2", "op": "add"}) == ("unknown", "unknown")
    assert REGISTRY.label(None) == ("unknown", "unknown")

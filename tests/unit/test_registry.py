"""The command registry: one table that dispatch, messages, docs and fuzzers read; custom ops."""

from __future__ import annotations

import re
from pathlib import Path

from docs.examples.clear_completed import clear_completed
from miniapp.collections import declared
from miniapp.collections.todos import COLLECTION as TODOS
from miniapp.domain.schema import Boolean, Collection, CustomOp, Text
from miniapp.testing import World
from miniapp.wiring import registry_of

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_the_api_docs_tables_are_the_registry() -> None:
    registry, text = registry_of(declared()), DOCS.read_text()
    for protocol in ("2020", "v2"):
        found = re.search(
            rf"<!-- registry:{protocol} [^>]*-->\n(.*?)\n<!-- /registry:{protocol} -->", text, re.S
        )
        assert found and found.group(1) == registry.markdown(protocol), (
            f"docs/api.md's {protocol} table differs from the command registry: run make docs"
        )


def test_the_unknown_op_message_lists_the_registered_ops() -> None:
    world = World()
    sid = world.login()
    answer = world.v2(sid, "drop")
    assert answer["error"]["message"] == (
        "'op' must be one of add, update, get, list, remove, quota for the collection 'todos'"
    )


def test_a_custom_op_is_one_registered_function_with_the_user_and_the_service() -> None:
    todos = Collection(**{**TODOS.__dict__, "ops": (CustomOp("clearCompleted", clear_completed),)})
    world = World(collections=(todos,))
    alice, bob = world.login("2088000000000001"), world.login("2088000000000002")
    for n in range(3):
        world.ok(world.v2(alice, "add", text=f"a{n}", completed=n != 1))
    world.ok(world.v2(bob, "add", text="b", completed=True))
    assert world.ok(world.v2(alice, "clearCompleted", collection="todos")) == {"removed": 2}
    assert [t["text"] for t in world.ok(world.v2(alice, "list"))["items"]] == ["a1"]
    assert len(world.ok(world.v2(bob, "list"))["items"]) == 1
    assert world.tallies.counted("2088000000000001") == 1
    assert world.v2(alice, "clearCompleted", extra=1)["error"]["code"] == "InvalidRequest"


def test_collections_are_apart_and_cursors_do_not_cross_them() -> None:
    notes = Collection("notes", {"title": Text(max_chars=20), "pinned": Boolean()}, quota=2)
    world = World(collections=(TODOS, notes))
    sid = world.login()
    note = world.ok(world.v2(sid, "add", collection="notes", title="hi"))
    for n in range(3):
        world.ok(world.v2(sid, "add", text=f"t{n}"))
    assert world.v2(sid, "get", id=note["id"])["error"]["code"] == "NotFound"
    cursor = world.ok(world.v2(sid, "list", limit=1))["cursor"]
    refused = world.v2(sid, "list", collection="notes", cursor=cursor)
    assert refused["error"]["code"] == "InvalidRequest"
    other = world.login("2088000000000002")
    assert world.v2(other, "list", cursor=cursor)["error"]["code"] == "InvalidRequest"
    world.ok(world.v2(sid, "add", collection="notes", title="two"))
    assert world.v2(sid, "add", collection="notes", title="3")["error"]["code"] == "QuotaExceeded"
    assert world.v2(sid, "list", collection="tasks")["error"]["message"] == (
        "'collection' must be one of todos, notes"
    )

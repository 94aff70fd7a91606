"""Two users can never reach each other's data, even knowing the ids: the db function takes the
user from the session and nothing else, and every stored row's key starts with its owner.

User A's todo and 2020 row are made once per module; each test logs user B in afresh (so B's
session is never old enough for the db function to record activity on it, which would change a
session row) and proves from the whole store's snapshot that B's attempts changed nothing."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.miniprogram import MiniProgram

from .calls import error_code, snapshot_diff


@pytest.fixture(scope="module")
def alice(config) -> dict[str, Any]:
    app = MiniProgram(config)
    session = app.login()
    todo = app.db(session, "add", v=2, text="alice's secret")["data"]
    assert app.db(session, "put", obj={"id": "alice-row", "secret": "a"}) == {"data": None}
    return {"app": app, "session": session, "todo": todo, "row_id": "alice-row"}


def test_v2_get_update_remove_of_the_other_users_todo_are_not_found(alice, miniprogram, snapshot):
    bob = miniprogram()
    session = bob.login()
    todo_id = alice["todo"]["id"]
    before = snapshot()

    assert error_code(bob.db(session, "get", v=2, id=todo_id)) == "NotFound"
    assert (
        error_code(
            bob.db(session, "update", v=2, id=todo_id, expectedVersion=1, text="bob was here")
        )
        == "NotFound"
    )
    assert error_code(bob.db(session, "remove", v=2, id=todo_id)) == "NotFound"

    assert snapshot_diff(before, snapshot()) == {}
    assert alice["app"].db(alice["session"], "get", v=2, id=todo_id) == {"data": alice["todo"]}


def test_2020_get_and_remove_of_the_other_users_ids_find_nothing(alice, miniprogram, snapshot):
    bob = miniprogram()
    session = bob.login()
    before = snapshot()

    for item_id in (alice["row_id"], alice["todo"]["id"]):
        assert bob.db(session, "get", id=item_id) == {"data": None}
        assert bob.db(session, "remove", id=item_id) == {"data": None}

    assert snapshot_diff(before, snapshot()) == {}
    assert alice["app"].db(alice["session"], "get", id=alice["row_id"]) == {
        "data": {"id": alice["row_id"], "secret": "a"}
    }


def test_lists_show_only_the_callers_own_items(alice, miniprogram, snapshot):
    bob = miniprogram()
    session = bob.login()
    before = snapshot()

    assert bob.db(session, "list", v=2) == {"data": {"items": [], "cursor": None}}
    assert bob.db(session, "list", v=2, limit=100) == {"data": {"items": [], "cursor": None}}
    assert bob.db(session, "list") == {"data": []}
    assert snapshot_diff(before, snapshot()) == {}

    # Alice's 2020 list holds her 2020 rows only; her todo is in her v2 list.
    listed = alice["app"].db(alice["session"], "list")["data"]
    assert {row["id"] for row in listed} == {alice["row_id"]}
    todos = alice["app"].db(alice["session"], "list", v=2)["data"]["items"]
    assert {todo["id"] for todo in todos} == {alice["todo"]["id"]}


def test_a_cursor_from_the_other_users_list_pages_only_the_callers_todos(alice, miniprogram):
    alice_app, alice_session = alice["app"], alice["session"]
    more = alice_app.db(alice_session, "add", v=2, text="alice's second")["data"]
    try:
        page = alice_app.db(alice_session, "list", v=2, limit=1)["data"]
        assert page["items"] == [alice["todo"]] and page["cursor"] is not None

        bob = miniprogram()
        session = bob.login()
        bob.db(session, "add", v=2, text="bob's")  # created after Alice's todos
        listed = bob.db(session, "list", v=2, cursor=page["cursor"])
        # A cursor is bound to its user and collection: another user's is refused
        # (it used to position Bob inside his own todos).
        assert error_code(listed) == "InvalidRequest"
    finally:
        alice_app.db(alice_session, "remove", v=2, id=more["id"])


def test_a_2020_put_with_the_other_users_id_writes_only_the_callers_row(
    alice, miniprogram, snapshot
):
    bob = miniprogram()
    session = bob.login()
    before = snapshot()

    assert bob.db(session, "put", obj={"id": alice["row_id"], "secret": "b"}) == {"data": None}

    diff = snapshot_diff(before, snapshot())
    assert set(diff) == {"todo_list", "usage"}
    assert diff["todo_list"] == {
        "gone": [],
        "new": [((bob.user_id, alice["row_id"]), (("secret", "b"),))],
    }
    # Bob's item counter, new and at 1 (with its tally revision, and no write left in flight);
    # Alice's is untouched.
    assert diff["usage"]["gone"] == [] and len(diff["usage"]["new"]) == 1
    assert dict(diff["usage"]["new"][0][1]) == {"count": 1, "rev": 1}
    assert alice["app"].db(alice["session"], "get", id=alice["row_id"]) == {
        "data": {"id": alice["row_id"], "secret": "a"}
    }


def test_a_user_id_sent_by_the_client_is_rejected_never_used(alice, miniprogram, snapshot):
    bob = miniprogram()
    session = bob.login()
    before = snapshot()

    attempts = [
        bob.db(session, "list", uid=alice["app"].user_id),
        bob.db(session, "list", v=2, uid=alice["app"].user_id),
        bob.db(session, "get", v=2, id=alice["todo"]["id"], uid=alice["app"].user_id),
        bob.db(session, "put", obj={"id": "x", "uid": alice["app"].user_id}),
        bob.db(session, "get", id=alice["row_id"], table="todo_list"),
    ]
    assert [error_code(a) for a in attempts] == ["InvalidRequest"] * len(attempts)
    assert snapshot_diff(before, snapshot()) == {}


def test_every_stored_row_is_keyed_by_its_owner(alice, miniprogram, snapshot):
    bob = miniprogram()
    session = bob.login()
    bob_todo = bob.db(session, "add", v=2, text="bob's own")["data"]
    bob.db(session, "put", obj={"id": "bob-row", "n": 1})

    state = snapshot()
    # 2020 rows in todo_list; v2 items in user_data under "<collection>#<id>" (the tally rows,
    # "<collection>!", are keyed by their owner too, and hold no item).
    rows = state["todo_list"] + [
        ((key[0], key[1].split("#", 1)[1]), cols)
        for key, cols in state["user_data"]
        if "#" in key[1]
    ]
    alice_keys = {key for key, _ in rows if key[0] == alice["app"].user_id}
    bob_keys = {key for key, _ in rows if key[0] == bob.user_id}
    assert alice_keys == {
        (alice["app"].user_id, alice["todo"]["id"]),
        (alice["app"].user_id, alice["row_id"]),
    }
    assert bob_keys == {(bob.user_id, bob_todo["id"]), (bob.user_id, "bob-row")}
    # No session id (nor anything else the client holds) ever keys a data row.
    assert all(
        key[0] not in (session.session_id, alice["session"].session_id)
        for key, _ in state["todo_list"] + state["user_data"]
    )

"""The db function's behaviour per event: v2 and 2020 answers, errors as results, isolation."""

from __future__ import annotations

import copy
import json

import pytest

from .conftest import ALICE, BOB, World, error_code


def test_the_v2_flow_add_complete_list_remove(world: World) -> None:
    sid = world.login()
    todo = world.ok(world.v2(sid, "add", text="buy milk"))
    done = world.ok(world.v2(sid, "update", id=todo["id"], expectedVersion=1, completed=True))
    assert done["completed"] is True and done["version"] == 2
    page = world.ok(world.v2(sid, "list"))
    assert page == {"items": [done], "cursor": None}
    assert world.ok(world.v2(sid, "remove", id=todo["id"])) is None
    assert world.ok(world.v2(sid, "list")) == {"items": [], "cursor": None}


def test_a_todo_answer_has_the_documented_fields_and_types(world: World) -> None:
    todo = world.ok(world.v2(world.login(), "add", text="x"))
    assert set(todo) == {"id", "text", "completed", "createdAt", "updatedAt", "version"}
    assert isinstance(todo["createdAt"], int) and isinstance(todo["updatedAt"], int)


def test_a_stale_update_is_a_conflict_result(world: World) -> None:
    sid = world.login()
    todo = world.ok(world.v2(sid, "add", text="x"))
    world.ok(world.v2(sid, "update", id=todo["id"], expectedVersion=1, text="y"))
    assert (
        error_code(world.v2(sid, "update", id=todo["id"], expectedVersion=1, text="z"))
        == "Conflict"
    )


def test_get_of_a_missing_todo_is_a_not_found_result(world: World) -> None:
    assert error_code(world.v2(world.login(), "get", id="0" * 26)) == "NotFound"


def test_the_2020_flow_answers_the_2020_shapes(world: World) -> None:
    sid = world.login()
    assert world.db({"sid": sid, "op": "put", "obj": {"id": "buy milk", "completed": False}}) == {
        "data": None
    }
    assert world.db({"sid": sid, "op": "get", "id": "buy milk"}) == {
        "data": {"id": "buy milk", "completed": False}
    }
    assert world.db({"sid": sid, "op": "list"}) == {
        "data": [{"id": "buy milk", "completed": False}]
    }
    assert world.db({"sid": sid, "op": "remove", "id": "buy milk"}) == {"data": None}
    assert world.db({"sid": sid, "op": "get", "id": "buy milk"}) == {"data": None}


# The two protocols' rows are kept apart, so neither can read, shadow or corrupt the other's.
def test_a_v2_todo_never_reaches_a_2020_list_or_get(world: World) -> None:
    sid = world.login()
    todo = world.ok(world.v2(sid, "add", text="x"))
    assert world.ok(world.db({"sid": sid, "op": "list"})) == []
    assert world.ok(world.db({"sid": sid, "op": "get", "id": todo["id"]})) is None
    world.ok(world.db({"sid": sid, "op": "remove", "id": todo["id"]}))
    assert world.ok(world.v2(sid, "get", id=todo["id"]))["text"] == "x"


def test_a_todo_shaped_2020_row_never_reaches_v2(world: World) -> None:
    sid = world.login()
    forged_id = "01HZX3K8Q4W5E6R7T8Y9V0J1P2"
    world.ok(world.v2(sid, "list"))  # the user's todos exist before the 2020 put
    for text in ("", " ", "x" * 8192, "a\x00b", "a\x1bb", "fine"):
        world.ok(
            world.db(
                {
                    "sid": sid,
                    "op": "put",
                    "obj": {
                        "id": forged_id,
                        "text": text,
                        "completed": False,
                        "createdAt": 1,
                        "updatedAt": 1,
                        "version": 2**63 - 1,
                    },
                }
            )
        )
        assert world.ok(world.v2(sid, "list")) == {"items": [], "cursor": None}
        assert error_code(world.v2(sid, "get", id=forged_id)) == "NotFound"
        assert (
            error_code(world.v2(sid, "update", id=forged_id, expectedVersion=2**63 - 1, text="y"))
            == "NotFound"
        )


def test_the_user_comes_from_the_session_only(world: World) -> None:
    alice, bob = world.login(ALICE), world.login(BOB)
    todo = world.ok(world.v2(alice, "add", text="alice's"))
    world.ok(world.db({"sid": alice, "op": "put", "obj": {"id": "diary"}}))
    assert error_code(world.v2(bob, "get", id=todo["id"])) == "NotFound"
    assert (
        error_code(world.v2(bob, "update", id=todo["id"], expectedVersion=1, text="x"))
        == "NotFound"
    )
    assert error_code(world.v2(bob, "remove", id=todo["id"])) == "NotFound"
    assert world.ok(world.v2(bob, "list")) == {"items": [], "cursor": None}
    assert world.ok(world.db({"sid": bob, "op": "get", "id": "diary"})) is None
    assert world.ok(world.db({"sid": bob, "op": "list"})) == []
    world.ok(world.db({"sid": bob, "op": "remove", "id": "diary"}))
    assert world.ok(world.db({"sid": alice, "op": "get", "id": "diary"})) == {"id": "diary"}
    assert world.ok(world.v2(alice, "get", id=todo["id"]))["text"] == "alice's"


def test_a_client_sent_uid_is_refused_not_trusted(world: World) -> None:
    sid = world.login(BOB)
    assert error_code(world.db({"sid": sid, "op": "list", "uid": ALICE})) == "InvalidRequest"
    assert (
        error_code(world.db({"sid": sid, "op": "put", "obj": {"id": "x", "uid": ALICE}}))
        == "InvalidRequest"
    )


@pytest.mark.parametrize("sid, code", [("A" * 43, "SessionNotFound"), ("nope", "SessionNotFound")])
def test_an_unknown_session_is_a_session_error(world: World, sid: str, code: str) -> None:
    assert error_code(world.db({"sid": sid, "op": "list"})) == code


def test_an_expired_session_is_session_expired(world: World) -> None:
    sid = world.login()
    world.clock.advance(24 * 3600)
    assert error_code(world.db({"sid": sid, "op": "list"})) == "SessionExpired"


BAD = [
    (b"", "InvalidRequest"),
    (b"\x00\x01", "InvalidRequest"),
    (b"[]", "InvalidRequest"),
    (b'{"sid": "S", "op": "list"', "InvalidRequest"),
    (b"x" * 70000, "PayloadTooLarge"),
    (b'{"v": 2, "sid": "S", "op": "add", "text": ""}', "InvalidRequest"),
    (b'{"v": 2, "sid": "S", "op": "add", "text": "x", "completed": "no"}', "InvalidRequest"),
    (
        b'{"v": 2, "sid": "S", "op": "update", "id": "x", "expectedVersion": 1, "text": "y"}',
        "InvalidRequest",
    ),
    (b'{"v": 2, "sid": "S", "op": "list", "limit": 1000}', "InvalidRequest"),
    (b'{"sid": "S", "op": "put", "obj": {"id": "x", "nested": {"a": 1}}}', "InvalidRequest"),
    (b'{"sid": "S", "op": "put", "obj": {"id": "x", "n": 1e400}}', "InvalidRequest"),
    (b'{"sid": "S", "op": "truncate"}', "InvalidRequest"),
]


@pytest.mark.parametrize("raw, code", BAD)
def test_a_bad_event_is_an_error_result_and_changes_nothing(
    world: World, raw: bytes, code: str
) -> None:
    sid = world.login()
    world.ok(world.v2(sid, "add", text="keep me"))
    before = (
        copy.deepcopy(world.items.rows),
        dict(world.tallies.tallies),
        dict(world.idempotency.claims),
    )
    answer = world.db(raw=raw.replace(b'"S"', json.dumps(sid).encode()))
    assert error_code(answer) == code
    assert (world.items.rows, dict(world.tallies.tallies), dict(world.idempotency.claims)) == before


def test_validation_happens_before_the_session_lookup(world: World) -> None:
    world.db(raw=b"junk")
    assert world.sessions.calls["get"] == 0


def test_a_bug_is_an_internal_result_without_details(world: World, capsys) -> None:
    sid = world.login()
    world.items.fail_next("pages", ZeroDivisionError("secret-detail"))
    assert world.db({"sid": sid, "op": "list"}) == {
        "error": {"code": "Internal", "message": "internal error"}
    }
    assert "ZeroDivisionError" in capsys.readouterr().err


def test_each_event_gives_one_invocation_record_with_protocol_and_op(world: World) -> None:
    sid = world.login()
    world.db({"sid": sid, "op": "list"})
    world.v2(sid, "add", text="x")
    world.db(raw=b"junk")
    records = [
        (r["protocol"], r["op"], r["outcome"])
        for r in world.sink.of_kind("invocation")
        if r["function"] == "db"
    ]
    assert records == [
        ("2020", "list", "ok"),
        ("v2", "add", "ok"),
        ("unknown", "unknown", "InvalidRequest"),
    ]


def test_the_invocation_record_carries_the_user_hash_not_the_user(world: World) -> None:
    world.db({"sid": world.login(), "op": "list"})
    record = world.sink.of_kind("invocation")[-1]
    assert len(record["userHash"]) == 32 and ALICE not in json.dumps(record)


def test_v2_todos_stored_in_the_2020_table_before_collections_are_moved_and_served(
    world: World,
) -> None:
    from miniapp.domain.records import COMPAT_SCOPE, Row

    old_id = "01HZX3K8Q4W5E6R7T8Y9V0J1P2"
    world.items.put(
        Row(
            ALICE,
            old_id,
            {
                "text": "from before",
                "completed": True,
                "createdAt": 5,
                "updatedAt": 6,
                "version": 2,
            },
        )
    )
    world.items.put(Row(ALICE, "groceries", {"n": 1}))
    world.tallies.create_tally(ALICE, COMPAT_SCOPE, 2)
    sid = world.login()
    assert world.ok(world.v2(sid, "get", id=old_id))["text"] == "from before"
    assert [t["id"] for t in world.ok(world.v2(sid, "list"))["items"]] == [old_id]
    assert world.ok(world.db({"sid": sid, "op": "list"})) == [{"id": "groceries", "n": 1}]
    assert (world.tallies.counted(ALICE, COMPAT_SCOPE), world.tallies.counted(ALICE)) == (1, 1)


def test_an_add_and_an_update_check_each_value_once() -> None:
    from dataclasses import dataclass

    from miniapp.domain.schema import Collection, Text

    checked: list[object] = []

    @dataclass(frozen=True)
    class Counted(Text):
        def check(self, name, value):
            checked.append(value)
            return super().check(name, value)

    world = World(collections=(Collection("notes", fields={"title": Counted()}),))
    sid = world.login()
    note = world.ok(world.v2(sid, "add", collection="notes", title="one"))
    assert checked == ["one"]
    world.ok(
        world.v2(sid, "update", collection="notes", id=note["id"], expectedVersion=1, title="two")
    )
    assert checked.count("two") == 1  # (and "one" again: the stored item is checked as read)


def test_a_warm_instance_reads_the_session_with_each_commands_first_rows(world: World) -> None:
    sid = world.login()
    item = world.ok(world.v2(sid, "add", text="a"))  # the session's first use: read in turn

    def reads() -> tuple[int, ...]:
        return (
            world.sessions.calls["get"],
            world.rows.calls["get"],
            world.items.calls["get"],
            world.tallies.calls["tally"],
            world.session_items.calls["session_and"],
        )

    before = reads()
    world.ok(world.v2(sid, "get", id=item["id"]))
    world.ok(world.v2(sid, "update", id=item["id"], expectedVersion=1, completed=True))
    world.ok(world.v2(sid, "list"))
    world.ok(world.v2(sid, "remove", id=item["id"]))
    world.ok(world.db({"sid": sid, "op": "put", "obj": {"id": "r", "n": 1}}))
    world.ok(world.db({"sid": sid, "op": "get", "id": "r"}))
    world.ok(world.db({"sid": sid, "op": "list"}))
    world.ok(world.db({"sid": sid, "op": "remove", "id": "r"}))
    assert reads() == (*before[:4], before[4] + 8)

"""Collections through the local cloud: v2 items and 2020 rows kept apart, stored rows checked
against the declaration, cursors bound to their user, todos from before collections still served,
and the quota counter exact after seeded Tablestore faults."""

from __future__ import annotations

from typing import Any

from tests.metrics import record

from .faultkit import (
    counters_when_faults_clear,
    error_code,
    fault_counted_operations,
    injected,
    user_rows,
)
from .support import ots_client

COUNTER_SEED = 90210
FORGED_ID = "01HZX3K8Q4W5E6R7T8Y9V0J1P2"


def _data(answer: dict[str, Any]) -> Any:
    assert error_code(answer) is None, answer
    return answer["data"]


def _put_row(cloud: Any, table: str, key: tuple[str, str], columns: dict[str, Any]) -> None:
    from tablestore import Condition, Row, RowExistenceExpectation

    ots_client(cloud).put_row(
        table,
        Row([("uid", key[0]), ("id", key[1])], list(columns.items())),
        Condition(RowExistenceExpectation.IGNORE),
    )


def _todo_columns(text: str, version: int = 1) -> dict[str, Any]:
    return {"text": text, "completed": False, "createdAt": 1, "updatedAt": 1, "version": version}


def test_a_2020_row_never_reaches_v2_and_a_v2_todo_never_reaches_2020(miniprogram):
    app = miniprogram()
    session = app.login()
    todo = _data(app.db(session, "add", v=2, text="v2 only"))
    for text in ("", "   ", "x" * 8192, "a\x00b", "a\x1bb"):
        _data(app.db(session, "put", obj={"id": FORGED_ID, **_todo_columns(text, 2**63 - 1)}))
        assert [t["id"] for t in _data(app.db(session, "list", v=2))["items"]] == [todo["id"]]
        assert error_code(app.db(session, "get", v=2, id=FORGED_ID)) == "NotFound"
        assert (
            error_code(
                app.db(session, "update", v=2, id=FORGED_ID, expectedVersion=2**63 - 1, text="y")
            )
            == "NotFound"
        )
    assert [r["id"] for r in _data(app.db(session, "list"))] == [FORGED_ID]
    assert _data(app.db(session, "get", id=todo["id"])) is None
    _data(app.db(session, "remove", id=todo["id"]))
    assert _data(app.db(session, "get", v=2, id=todo["id"]))["text"] == "v2 only"


def test_a_stored_row_that_breaks_the_declaration_is_a_typed_answer(local_cloud, miniprogram):
    app = miniprogram()
    session = app.login()
    good = _data(app.db(session, "add", v=2, text="fine"))
    at_max, bad_text = "01HZX3K8Q4W5E6R7T8Y9V0J1P3", "01HZX3K8Q4W5E6R7T8Y9V0J1P4"
    _put_row(
        local_cloud,
        "user_data",
        (app.user_id, f"todos#{at_max}"),
        _todo_columns("at the top", 2**63 - 1),
    )
    _put_row(local_cloud, "user_data", (app.user_id, f"todos#{bad_text}"), _todo_columns("a\x00b"))
    assert _data(app.db(session, "get", v=2, id=at_max))["version"] == 2**63 - 1
    assert (
        error_code(
            app.db(session, "update", v=2, id=at_max, expectedVersion=2**63 - 1, text="one more")
        )
        == "Conflict"
    )
    assert error_code(app.db(session, "get", v=2, id=bad_text)) == "CorruptItem"
    assert (
        error_code(app.db(session, "update", v=2, id=bad_text, expectedVersion=1, text="fixed"))
        == "CorruptItem"
    )
    listed = [t["id"] for t in _data(app.db(session, "list", v=2))["items"]]
    assert bad_text not in listed and good["id"] in listed
    assert _data(app.db(session, "remove", v=2, id=bad_text)) is None


def test_a_cursor_of_one_user_is_refused_for_another(miniprogram):
    alice, bob = miniprogram(), miniprogram()
    a, b = alice.login(), bob.login()
    for n in range(2):
        _data(alice.db(a, "add", v=2, text=f"a{n}"))
        _data(bob.db(b, "add", v=2, text=f"b{n}"))
    cursor = _data(alice.db(a, "list", v=2, limit=1))["cursor"]
    assert cursor is not None
    assert error_code(bob.db(b, "list", v=2, limit=1, cursor=cursor)) == "InvalidRequest"
    assert len(_data(alice.db(a, "list", v=2, limit=1, cursor=cursor))["items"]) == 1


def test_todos_stored_in_todo_list_before_collections_are_moved_and_still_served(
    local_cloud, miniprogram, snapshot
):
    app = miniprogram()
    session = app.login()
    _put_row(local_cloud, "todo_list", (app.user_id, FORGED_ID), _todo_columns("from before"))
    _put_row(local_cloud, "todo_list", (app.user_id, "groceries"), {"count": 3})
    items = _data(app.db(session, "list", v=2))["items"]
    assert [(t["id"], t["text"]) for t in items] == [(FORGED_ID, "from before")]
    assert _data(app.db(session, "list")) == [{"id": "groceries", "count": 3}]
    state = snapshot()
    assert set(user_rows(state, app.user_id)) == {FORGED_ID, "groceries"}


def test_the_counter_equals_the_items_after_seeded_faults_on_writes(
    faults, miniprogram, local_cloud
):
    """Lost replies on UpdateRow, PutRow, DeleteRow and BatchWriteRow (the write landed, the
    answer did not) during adds (with and without an idempotency key) and removes; once the
    faults clear, the next operation leaves the counter equal to the number of items."""
    app = miniprogram()
    session = app.login()
    fault_counted_operations(faults, COUNTER_SEED, busy_share=0.2)
    start = injected(faults)
    added: list[str] = []
    outcomes: dict[str, int] = {}
    for n in range(16):
        if n % 3 == 2 and added:
            answer = app.db(session, "remove", v=2, id=added.pop(0))
        else:
            keyed = {"idempotencyKey": f"c-{n}"} if n % 2 else {}
            answer = app.db(session, "add", v=2, text=f"chore {n}", **keyed)
            if error_code(answer) is None:
                added.append(answer["data"]["id"])
        outcome = error_code(answer) or "ok"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    hits = injected(faults) - start
    before, (counted, items) = counters_when_faults_clear(
        local_cloud, app.user_id, lambda: _data(app.db(session, "list", v=2))
    )
    print(
        f"\ncounter under faults: {hits} faults injected, outcomes {outcomes}; "
        f"counter/items {before[0]}/{before[1]} when faults cleared, "
        f"{counted}/{items} after the next operation"
    )
    record("faults_injected", hits)
    assert hits > 0
    assert counted == items

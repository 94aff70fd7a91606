"""Concurrency, end to end with threads: racing writes resolve exactly, whatever the interleaving.

Function Compute runs each function with InstanceConcurrency 1 and at most 10 instances; beyond
that it answers 429 ResourceThrottled without running the function. That is a valid, distinct
outcome, so the threads here send a throttled request again (`faultkit`), and every assertion
counts only answers from the function itself, exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.miniprogram import MiniProgram, Session
from tests.conftest import parameters_set
from tests.metrics import record

from .faultkit import (
    Throttles,
    error_code,
    invoke_through_throttling,
    post_through_throttling,
    run_together,
    session_key,
    session_keys,
    usage_count,
    user_rows,
)
from .support import take_snapshot

QUOTA = 5


@pytest.fixture
def quota_cloud(local_cloud: Any) -> Iterator[Any]:
    """The shared cloud, its users allowed only QUOTA items (template parameter ItemQuota)."""
    with parameters_set(local_cloud, {"ItemQuota": str(QUOTA)}) as cloud:
        yield cloud


def _ok(answer: Any) -> Any:
    assert error_code(answer) is None, answer
    return answer["data"]


def test_of_20_concurrent_updates_with_one_expected_version_exactly_one_wins(miniprogram, snapshot):
    app = miniprogram()
    session = app.login()
    todo = _ok(app.db(session, "add", v=2, text="original"))
    throttles = Throttles()

    def update(i: int) -> Any:
        event = {
            "v": 2,
            "sid": session.session_id,
            "op": "update",
            "id": todo["id"],
            "expectedVersion": 1,
            "text": f"writer {i}",
            "completed": i % 2 == 0,
        }
        return invoke_through_throttling(app, session, event, throttles)

    answers = run_together(update, 20)
    winners = [(i, a["data"]) for i, a in enumerate(answers) if error_code(a) is None]
    conflicts = [a for a in answers if error_code(a) == "Conflict"]
    assert len(winners) == 1 and len(conflicts) == 19, answers
    i, won = winners[0]
    assert (won["id"], won["text"], won["completed"], won["version"]) == (
        todo["id"],
        f"writer {i}",
        i % 2 == 0,
        2,
    )
    assert won["createdAt"] == todo["createdAt"]
    # The stored todo is the winner's write, and nothing else.
    assert _ok(app.db(session, "get", v=2, id=todo["id"])) == won
    row = user_rows(snapshot(), app.user_id)[todo["id"]]
    assert row == {
        "text": won["text"],
        "completed": won["completed"],
        "createdAt": won["createdAt"],
        "updatedAt": won["updatedAt"],
        "version": 2,
    }
    record("conflicts_resolved", len(conflicts))
    record("acknowledged_writes", 1)
    record("records_lost", 0)


def test_of_10_concurrent_logins_with_one_auth_code_exactly_one_succeeds(miniprogram, snapshot):
    phone = miniprogram()
    auth_code = phone.get_auth_code()
    before = session_keys(snapshot())
    throttles = Throttles()
    # Ten copies of the same phone, each with its own HTTP connection.
    copies = [miniprogram(phone.user_id) for _ in range(10)]

    def login(i: int) -> Any:
        return post_through_throttling(copies[i], {"authCode": auth_code}, throttles)

    answers = run_together(login, 10)
    opened = [a.json() for a in answers if a.status_code == 200]
    refused = [a.json() for a in answers if a.status_code == 401]
    assert len(opened) == 1 and len(refused) == 9, [(a.status_code, a.text) for a in answers]
    assert all(body["error"]["code"] == "InvalidAuthCode" for body in refused)
    assert set(opened[0]) == {"sessionId", "sts"}
    assert session_keys(snapshot()) == before | {session_key(opened[0]["sessionId"])}
    record("conflicts_resolved", len(refused))


def test_concurrent_adds_never_exceed_the_per_user_quota(quota_cloud):
    app = MiniProgram(quota_cloud.cloud_config())
    session = app.login()
    first = _ok(app.db(session, "add", v=2, text="already here"))
    assert app.db(session, "put", obj={"id": "old row", "done": False}) == {"data": None}
    throttles = Throttles()

    # Twelve writers race for the last slots: six v2 adds for the QUOTA - 1 free todo slots and six
    # 2020 puts of new ids for the QUOTA - 1 free row slots (each has its own quota).
    def write(i: int) -> Any:
        if i % 2:
            event = {"sid": session.session_id, "op": "put", "obj": {"id": f"row {i}"}}
        else:
            event = {"v": 2, "sid": session.session_id, "op": "add", "text": f"todo {i}"}
        return invoke_through_throttling(app, session, event, throttles)

    answers = run_together(write, 12)
    written = [a for a in answers if error_code(a) is None]
    refused = [a for a in answers if error_code(a) == "QuotaExceeded"]
    assert len(written) == 2 * (QUOTA - 1) and len(refused) == 12 - 2 * (QUOTA - 1), answers
    state = take_snapshot(quota_cloud)
    rows = user_rows(state, app.user_id)
    assert len(rows) == 2 * QUOTA and usage_count(state, app.user_id) == 2 * QUOTA
    added = {a["data"]["id"] for a in written if a["data"] is not None}
    assert added | {first["id"], "old row"} <= set(rows)
    # A removed item frees its slot, once.
    assert app.db(session, "remove", v=2, id=first["id"]) == {"data": None}
    _ok(app.db(session, "add", v=2, text="fits again"))
    assert error_code(app.db(session, "add", v=2, text="one too many")) == "QuotaExceeded"
    assert usage_count(take_snapshot(quota_cloud), app.user_id) == 2 * QUOTA
    record("conflicts_resolved", len(refused))
    record("acknowledged_writes", len(written) + 3)
    record("records_lost", 0)


def test_concurrent_retries_of_one_add_create_one_todo(quota_cloud):
    """Eight copies of the same add (one idempotencyKey) at once, for a user with room for QUOTA
    items: one todo, and every copy answers it."""
    app = MiniProgram(quota_cloud.cloud_config())
    session: Session = app.login()
    throttles = Throttles()

    def add(i: int) -> Any:
        event = {
            "v": 2,
            "sid": session.session_id,
            "op": "add",
            "text": "book dentist",
            "idempotencyKey": "dentist-1",
        }
        return invoke_through_throttling(app, session, event, throttles)

    answers = run_together(add, 8)
    todos = [_ok(a) for a in answers]
    assert all(todo == todos[0] for todo in todos)
    state = take_snapshot(quota_cloud)
    assert set(user_rows(state, app.user_id)) == {todos[0]["id"]}
    assert usage_count(state, app.user_id) == 1
    record("acknowledged_writes", 1)
    record("records_lost", 0)
    record("records_duplicated", 0)

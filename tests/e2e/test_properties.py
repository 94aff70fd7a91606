"""Properties of the whole backend, through the local cloud and the real SDKs: hypothesis plays
random operation sequences for three users — v2 add/update/get/list/remove and 2020
put/get/list/remove, many aimed at ids (and idempotency keys, and list cursors) that belong to
another user — and checks every answer against a simple in-memory model (`property_model`).

So no user ever observes another's data (each answer must equal what the model holds for the
caller alone), and at the end of every run the state equals the model, read three ways: each
user's v2 `list` (paged), each user's 2020 `list`, and the raw table rows of a snapshot (plus
the per-user quota counter).

Each step is a real FC invocation (~10 ms), so `make test` runs a few short sequences;
`make reliability` (FUZZ_EXAMPLES=10000) runs 100.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from localcloud.miniprogram import MiniProgram
from miniapp.domain.values import is_blank
from tests.metrics import fuzz_examples, record

from .faultkit import usage_count
from .property_model import TODO_ID, RowItem, TodoItem, UserModel, typed
from .support import take_snapshot

USERS = 3
NEVER_ISSUED = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"  # a well-formed todo id no clock will reach soon
ROW_IDS = [
    "buy milk",
    "a",
    "Zürich ☕",
    "🙂",
    "\u202eevil",
    "x" * 256,
    "🙂" * 256,
    "中" * 256,
    "0" * 26,
    "01ARZ3NDEKTSV4RRFFQ69G5FAV",
]  # the last two look like todo ids
# Never all five todo columns, so a 2020 row can never pass for a todo.
COLUMN_NAMES = ["n", "done", "note", "text", "completed", "_x", "Col9", "a" * 64]

texts = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs"))
    | st.sampled_from("\n\t🙂\u202e\u200b\u0301中 "),
    min_size=1,
    max_size=40,
).filter(lambda t: not is_blank(t)) | st.sampled_from(["x" * 1000, "🙂" * 1000, "buy milk"])
column_values = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)
    | st.just("y" * 8192)
)
keys = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=64)
users = st.integers(0, USERS - 1)
picks = st.integers(0, 12)  # small: the same ids come up again and again


class Phone:
    """One user's phone: a session from the session function, a cached db client."""

    def __init__(self, app: MiniProgram) -> None:
        self.user_id = app.user_id
        self.session = app.login()
        self._client = app.fc_client(self.session.sts)
        self._target = (app.config["serviceName"], app.config["dbFunctionName"])

    def call(self, **event: Any) -> dict[str, Any]:
        body = json.dumps({"sid": self.session.session_id, **event}, ensure_ascii=False)
        resp = self._client.invoke_function(*self._target, payload=body.encode("utf-8"))
        return json.loads(resp.data)

    def v2(self, op: str, **fields: Any) -> dict[str, Any]:
        return self.call(v=2, op=op, **fields)


def error_code(answer: dict[str, Any]) -> str | None:
    return answer["error"]["code"] if set(answer) == {"error"} else None


def data(answer: dict[str, Any]) -> Any:
    assert set(answer) == {"data"}, answer
    return answer["data"]


class Users(RuleBasedStateMachine):
    def __init__(self, new_app: Callable[[], MiniProgram], cloud: Any) -> None:
        super().__init__()
        self.cloud = cloud
        self.phones = [Phone(new_app()) for _ in range(USERS)]
        self.models = [UserModel() for _ in range(USERS)]
        self.todo_ids: list[str] = [NEVER_ISSUED]  # every todo id answered, to any user
        self.acknowledged = 0

    def pick_todo_id(self, pick: int) -> str:
        """The most recent ids first: they are the likeliest to still exist."""
        return self.todo_ids[-1 - pick % len(self.todo_ids)]

    def pick_any_id(self, pick: int) -> str:
        ids = self.todo_ids[::-1] + ROW_IDS
        return ids[pick % len(ids)]

    # -- v2 -------------------------------------------------------------------------------
    @rule(
        u=users,
        text=texts,
        completed=st.none() | st.booleans(),
        key_kind=st.sampled_from(["none", "new", "mine", "theirs"]),
        new_key=keys,
    )
    def add(self, u: int, text: str, completed: bool | None, key_kind: str, new_key: str) -> None:
        model = self.models[u]
        key: str | None = None
        if key_kind == "mine":  # a retry; only of a todo still as created, where it is unambiguous
            key = next(
                (
                    k
                    for k, i in sorted(model.keys.items())
                    if (t := model.todo(i)) is not None and t.version == 1
                ),
                None,
            )
        elif key_kind == "theirs":  # the same key, chosen by another user: scoped per user
            key = next(
                (k for m in self.models for k in sorted(m.keys) if k not in model.keys), None
            )
        elif key_kind == "new" and new_key not in model.keys:
            key = new_key
        fields: dict[str, Any] = {"text": text}
        if completed is not None:
            fields["completed"] = completed
        if key is not None:
            fields["idempotencyKey"] = key
        todo = data(self.phones[u].v2("add", **fields))
        if key in model.keys:
            assert typed(todo) == typed(model.todo_wire(model.keys[key])), "a retry created anew"
            return
        assert TODO_ID.fullmatch(todo["id"]) and todo["id"] not in self.todo_ids
        assert (todo["text"], todo["completed"], todo["version"]) == (text, bool(completed), 1)
        assert todo["createdAt"] == todo["updatedAt"]
        model.items[todo["id"]] = TodoItem(
            text, bool(completed), 1, todo["createdAt"], todo["updatedAt"]
        )
        assert typed(todo) == typed(model.todo_wire(todo["id"]))
        if key is not None:
            model.keys[key] = todo["id"]
        self.todo_ids.append(todo["id"])
        self.acknowledged += 1

    @rule(
        u=users,
        pick=picks,
        stale_by=st.sampled_from([0, 0, 0, 1, 7]),
        text=st.none() | texts,
        completed=st.none() | st.booleans(),
    )
    def update(
        self, u: int, pick: int, stale_by: int, text: str | None, completed: bool | None
    ) -> None:
        model, todo_id = self.models[u], self.pick_todo_id(pick)
        if text is None and completed is None:
            completed = True
        current = model.todo(todo_id)
        expected = (current.version if current else 1) + stale_by
        fields = {k: v for k, v in (("text", text), ("completed", completed)) if v is not None}
        answer = self.phones[u].v2("update", id=todo_id, expectedVersion=expected, **fields)
        if current is None:
            assert error_code(answer) == "NotFound", answer
        elif stale_by:
            assert error_code(answer) == "Conflict", answer
        else:
            todo = data(answer)
            assert todo["updatedAt"] >= current.updated_at
            model.updated(todo_id, text=text, completed=completed, updated_at=todo["updatedAt"])
            assert typed(todo) == typed(model.todo_wire(todo_id))
            self.acknowledged += 1

    @rule(u=users, pick=picks)
    def get(self, u: int, pick: int) -> None:
        model, todo_id = self.models[u], self.pick_todo_id(pick)
        answer = self.phones[u].v2("get", id=todo_id)
        if model.todo(todo_id) is None:
            assert error_code(answer) == "NotFound", answer
        else:
            assert typed(data(answer)) == typed(model.todo_wire(todo_id))

    @rule(u=users, pick=picks)
    def remove(self, u: int, pick: int) -> None:
        model, todo_id = self.models[u], self.pick_todo_id(pick)
        answer = self.phones[u].v2("remove", id=todo_id)
        if model.todo(todo_id) is None:
            assert error_code(answer) == "NotFound", answer
        else:
            assert data(answer) is None
            del model.items[todo_id]
            self.acknowledged += 1

    @rule(u=users, limit=st.integers(1, 4) | st.just(100))
    def list_v2(self, u: int, limit: int) -> None:
        assert typed(self.list_all(u, limit)) == typed(self.models[u].todos_wire())

    @rule(u=users, other=users, limit=st.integers(1, 4))
    def list_with_a_cursor_of_another_user(self, u: int, other: int, limit: int) -> None:
        """A cursor is opaque, but it came from another user's rows: whatever it means, the
        answer may only hold the caller's own todos, in order, up to the caller's last one."""
        page = data(self.phones[other].v2("list", limit=1))
        if page["cursor"] is None:
            return
        answer = self.phones[u].v2("list", limit=limit, cursor=page["cursor"])
        if error_code(answer) == "InvalidRequest":
            return
        items = self.list_all(u, limit, first=answer)
        mine = self.models[u].todos_wire()
        assert typed(items) == typed(mine[len(mine) - len(items) :])

    def list_all(self, u: int, limit: int, first: dict[str, Any] | None = None) -> list[Any]:
        items: list[Any] = []
        answer = first or self.phones[u].v2("list", limit=limit)
        for _ in range(100):
            page = data(answer)
            assert len(page["items"]) <= limit
            items += page["items"]
            if page["cursor"] is None:
                return items
            answer = self.phones[u].v2("list", limit=limit, cursor=page["cursor"])
        raise AssertionError("list never ended")

    # -- 2020 -----------------------------------------------------------------------------
    @rule(
        u=users,
        pick=picks,
        columns=st.dictionaries(st.sampled_from(COLUMN_NAMES), column_values, max_size=4),
    )
    def compat_put(self, u: int, pick: int, columns: dict[str, Any]) -> None:
        item_id = self.pick_any_id(pick)
        assert self.phones[u].call(op="put", obj={"id": item_id, **columns}) == {"data": None}
        self.models[u].rows[item_id] = RowItem(columns)  # a todo of that id is left alone
        self.acknowledged += 1

    @rule(u=users, pick=picks)
    def compat_get(self, u: int, pick: int) -> None:
        item_id = self.pick_any_id(pick)
        got = data(self.phones[u].call(op="get", id=item_id))
        assert typed(got) == typed(self.models[u].row_object(item_id))

    @rule(u=users, pick=picks)
    def compat_remove(self, u: int, pick: int) -> None:
        item_id = self.pick_any_id(pick)
        assert self.phones[u].call(op="remove", id=item_id) == {"data": None}
        self.acknowledged += self.models[u].rows.pop(item_id, None) is not None

    @rule(u=users)
    def compat_list(self, u: int) -> None:
        rows = data(self.phones[u].call(op="list"))
        assert typed(rows) == typed(self.models[u].row_objects())

    @rule(
        u=users,
        other=users,
        name=st.sampled_from(["uid", "userId", "table", "TableName"]),
        v2=st.booleans(),
    )
    def naming_another_owner_is_refused(self, u: int, other: int, name: str, v2: bool) -> None:
        owner = {name: self.phones[other].user_id}
        answer = (
            self.phones[u].v2("list", **owner) if v2 else self.phones[u].call(op="list", **owner)
        )
        assert error_code(answer) == "InvalidRequest", answer

    # -- the end state --------------------------------------------------------------------
    def teardown(self) -> None:
        if not hasattr(self, "phones"):
            return  # the constructor failed; hypothesis reports that
        snapshot = take_snapshot(self.cloud)
        for u, (phone, model) in enumerate(zip(self.phones, self.models, strict=True)):
            stored = {
                key[1].split("#", 1)[1]: dict(cols)
                for key, cols in snapshot["user_data"]
                if key[0] == phone.user_id and "#" in key[1]
            }
            stored_rows = {
                key[1]: dict(cols) for key, cols in snapshot["todo_list"] if key[0] == phone.user_id
            }
            lost, duplicated = (
                len(set(model.items) - set(stored)),
                len(set(stored) - set(model.items)),
            )
            if lost or duplicated:  # counted before the assertion fails, for the report
                record("records_lost", lost)
                record("records_duplicated", duplicated)
            assert typed(stored) == typed(model.stored()), f"user {u}: table rows differ"
            assert typed(stored_rows) == typed(model.stored_rows()), f"user {u}: 2020 rows differ"
            assert usage_count(snapshot, phone.user_id) == len(model.items) + len(model.rows)
            assert typed(self.list_all(u, 3)) == typed(model.todos_wire())
            assert typed(data(phone.call(op="list"))) == typed(model.row_objects())
        record("acknowledged_writes", self.acknowledged)


# Shrinking replays a failing run hundreds of times, each one real invocations: minutes. A failure
# is reported with its whole step list instead; PROPERTY_SHRINK=1 shrinks it when debugging.
PHASES = (
    tuple(Phase)
    if os.environ.get("PROPERTY_SHRINK")
    else (Phase.explicit, Phase.reuse, Phase.generate)
)


def test_random_operations_of_several_users_match_the_model(miniprogram, local_cloud, faults):
    # `faults` guarantees a clear fault board: these answers must all be the fault-free ones.
    run_state_machine_as_test(
        lambda: Users(miniprogram, local_cloud),
        settings=settings(
            max_examples=max(15, fuzz_examples(15) // 100),
            deadline=None,
            stateful_step_count=20,
            phases=PHASES,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )

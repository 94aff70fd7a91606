"""Properties, with hypothesis: random operation sequences for two users match a simple model and
never leak across users; malformed events of any shape get a typed error and change nothing."""

from __future__ import annotations

import copy
import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from miniapp.collections import declared
from miniapp.domain.records import COMPAT_SCOPE
from miniapp.domain.values import is_blank
from miniapp.entrypoints.json_body import parse_json_object
from miniapp.errors import MiniAppError
from miniapp.wiring import registry_of

from .conftest import ALICE, BOB, World

USERS = (ALICE, BOB)
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30
).filter(lambda t: not is_blank(t))


class TwoUsers(RuleBasedStateMachine):
    """The model: per user, todo id -> (text, completed, version), and 2020 id -> columns."""

    @initialize()
    def start(self) -> None:
        self.world = World(item_quota=8)
        self.sid = {user: self.world.login(user) for user in USERS}
        self.todos: dict[str, dict[str, tuple[str, bool, int]]] = {u: {} for u in USERS}
        self.rows: dict[str, dict[str, dict]] = {u: {} for u in USERS}
        self.known_ids: list[str] = ["0" * 26]

    # Todos and 2020 rows live apart, each with its own quota and counter.
    def count(self, user: str) -> int:
        return len(self.rows[user])

    def todo_count(self, user: str) -> int:
        return len(self.todos[user])

    @rule(user=st.sampled_from(USERS), text=texts, completed=st.booleans())
    def add(self, user: str, text: str, completed: bool) -> None:
        answer = self.world.v2(self.sid[user], "add", text=text, completed=completed)
        if self.todo_count(user) >= 8:
            assert answer["error"]["code"] == "QuotaExceeded"
            return
        todo = answer["data"]
        assert (todo["text"], todo["completed"], todo["version"]) == (text, completed, 1)
        self.todos[user][todo["id"]] = (text, completed, 1)
        self.known_ids.append(todo["id"])

    @rule(
        user=st.sampled_from(USERS),
        pick=st.integers(0, 50),
        stale=st.booleans(),
        completed=st.booleans(),
    )
    def update(self, user: str, pick: int, stale: bool, completed: bool) -> None:
        todo_id = self.known_ids[pick % len(self.known_ids)]
        mine = self.todos[user].get(todo_id)
        version = (mine[2] if mine else 1) + (1 if stale else 0)
        answer = self.world.v2(
            self.sid[user], "update", id=todo_id, expectedVersion=version, completed=completed
        )
        if mine is None:
            assert answer["error"]["code"] == "NotFound"
        elif stale:
            assert answer["error"]["code"] == "Conflict"
        else:
            assert answer["data"]["version"] == mine[2] + 1
            self.todos[user][todo_id] = (mine[0], completed, mine[2] + 1)

    @rule(user=st.sampled_from(USERS), pick=st.integers(0, 50))
    def get_or_remove(self, user: str, pick: int) -> None:
        todo_id = self.known_ids[pick % len(self.known_ids)]
        got = self.world.v2(self.sid[user], "get", id=todo_id)
        removed = self.world.v2(self.sid[user], "remove", id=todo_id)
        if todo_id in self.todos[user]:
            assert got["data"]["id"] == todo_id and removed == {"data": None}
            del self.todos[user][todo_id]
        else:
            assert got["error"]["code"] == removed["error"]["code"] == "NotFound"

    @rule(user=st.sampled_from(USERS), item=st.sampled_from(["a", "b", "c"]), n=st.integers(-5, 5))
    def compat_put(self, user: str, item: str, n: int) -> None:
        answer = self.world.db({"sid": self.sid[user], "op": "put", "obj": {"id": item, "n": n}})
        if item not in self.rows[user] and self.count(user) >= 8:
            assert answer["error"]["code"] == "QuotaExceeded"
            return
        assert answer == {"data": None}
        self.rows[user][item] = {"id": item, "n": n}

    @rule(user=st.sampled_from(USERS), item=st.sampled_from(["a", "b", "c"]))
    def compat_remove(self, user: str, item: str) -> None:
        assert self.world.db({"sid": self.sid[user], "op": "remove", "id": item}) == {"data": None}
        self.rows[user].pop(item, None)

    @invariant()
    def each_user_sees_exactly_their_model(self) -> None:
        for user in USERS:
            page = self.world.v2(self.sid[user], "list", limit=100)["data"]
            assert page["cursor"] is None
            assert {
                t["id"]: (t["text"], t["completed"], t["version"]) for t in page["items"]
            } == self.todos[user]
            rows = self.world.db({"sid": self.sid[user], "op": "list"})["data"]
            assert {r["id"]: r for r in rows if r["id"] in self.rows[user]} == self.rows[user]
            assert len(rows) == self.count(user)
            assert self.world.tallies.counted(user, COMPAT_SCOPE) == self.count(user)
            assert self.world.tallies.counted(user) == self.todo_count(user)


TestTwoUsers = TwoUsers.TestCase
TestTwoUsers.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
keys = st.sampled_from(
    [
        "v",
        "sid",
        "op",
        "obj",
        "id",
        "text",
        "completed",
        "expectedVersion",
        "limit",
        "cursor",
        "idempotencyKey",
        "uid",
        "extra",
    ]
)
ops = st.sampled_from(["put", "get", "list", "remove", "add", "update", "", "PUT", "drop"])
events = st.fixed_dictionaries(
    {}, optional={"v": st.sampled_from([2, 1, "2", True, 2.0, None]), "op": ops | json_values}
) | st.dictionaries(keys, json_values, max_size=6)
raw_bodies = st.binary(max_size=200) | st.text(max_size=200).map(
    lambda t: t.encode("utf-8", "surrogatepass")
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events, with_real_session=st.booleans())
def test_a_malformed_event_gets_a_typed_error_and_changes_nothing(
    event: dict, with_real_session: bool
) -> None:
    world = World()
    sid = world.login()
    world.ok(world.v2(sid, "add", text="keep"))
    if with_real_session and "sid" in event:
        event["sid"] = sid
    before = (copy.deepcopy(world.items.rows), dict(world.tallies.tallies))
    answer = world.db(raw=json.dumps(event).encode())
    assert set(answer) <= {"data", "error"} and len(answer) == 1
    if "error" in answer:
        assert answer["error"]["code"] != "Internal"
        assert (world.items.rows, dict(world.tallies.tallies)) == before


@settings(max_examples=300, deadline=None)
@given(raw=raw_bodies)
def test_parsing_any_bytes_raises_only_typed_errors(raw: bytes) -> None:
    try:
        registry_of(declared()).parse(parse_json_object(raw))
    except MiniAppError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=json_values | raw_bodies,
    path=st.sampled_from(["/", "/refresh", "/logout", "/x"]),
    method=st.sampled_from(["POST", "GET", "PATCH"]),
)
def test_the_session_app_never_answers_5xx_to_garbage(body, path: str, method: str) -> None:
    world = World()
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = world.session_app.handle(
        method=method, path=path, body=raw, client_ip="1.2.3.4", request_id="r"
    )
    assert 400 <= answer.status < 500 and answer.body["error"]["code"] != "Internal"
    assert world.sessions.rows == {}


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(
        alphabet=string.printable + "\u00e9\u4e70\U0001f642\u200b\ufeff", min_size=0, max_size=1100
    )
)
def test_text_either_round_trips_exactly_or_is_invalid_request(text: str) -> None:
    world = World()
    answer = world.v2(world.login(), "add", text=text)
    if "data" in answer:
        assert answer["data"]["text"] == text
    else:
        assert answer["error"]["code"] == "InvalidRequest"

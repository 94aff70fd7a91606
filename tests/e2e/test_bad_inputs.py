"""Bad input of every shape gets its typed error and changes nothing: each case compares a
snapshot of every row of every table before and after, ignoring nothing.

The db cases use a live session (so only the field under test is wrong) and aim at an existing
todo and an existing 2020 row, so a check that let a bad value through would show up as a
changed row. The session function's cases also assert the HTTP status of their code."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.miniprogram import MiniProgram, Session

from .calls import error_code, invoke_raw, snapshot_diff

MAX_BODY = 64 * 1024
UNKNOWN_SID = "A" * 43  # shaped like a sessionId, but never issued
IR, TOO_LARGE, NO_SESSION = "InvalidRequest", "PayloadTooLarge", "SessionNotFound"
EXISTING_ROW = "existing-row"


class Target:
    """What a db case may aim at: the live session and the items that already exist."""

    def __init__(self, sid: str, todo_id: str) -> None:
        self.sid, self.todo_id = sid, todo_id


Event = Callable[[Target], Any]  # -> dict/list/str to send as JSON, or bytes to send as they are


def put(t: Target, **obj: Any) -> dict[str, Any]:
    return {"sid": t.sid, "op": "put", "obj": {"id": EXISTING_ROW, **obj}}


def add(t: Target, **fields: Any) -> dict[str, Any]:
    return {"v": 2, "sid": t.sid, "op": "add", **fields}


def update(t: Target, **fields: Any) -> dict[str, Any]:
    return {"v": 2, "sid": t.sid, "op": "update", "id": t.todo_id, "expectedVersion": 1, **fields}


def v2(t: Target, op: str, **fields: Any) -> dict[str, Any]:
    return {"v": 2, "sid": t.sid, "op": op, **fields}


def raw(template: str) -> Event:
    """A body spelled by hand (JSON that json.dumps cannot write); `{sid}` is filled in."""
    return lambda t: template.replace("{sid}", t.sid).encode("utf-8")


DB_CASES: list[tuple[str, Event, str]] = [
    # the event as a whole
    ("not-json", lambda t: b"op=list&sid=" + t.sid.encode(), IR),
    ("empty", lambda t: b"", IR),
    ("not-utf8", lambda t: b'{"sid": "\xff\xfe", "op": "list"}', IR),
    ("json-array", lambda t: [{"sid": t.sid, "op": "list"}], IR),
    ("json-string", lambda t: "list", IR),
    ("json-null", lambda t: None, IR),
    ("nan", raw('{"sid": "{sid}", "op": "put", "obj": {"id": "existing-row", "x": NaN}}'), IR),
    (
        "duplicate-key",
        raw('{"sid": "{sid}", "op": "list", "op": "remove", "id": "existing-row"}'),
        IR,
    ),
    (
        "infinity",
        raw('{"sid": "{sid}", "op": "put", "obj": {"id": "existing-row", "x": Infinity}}'),
        IR,
    ),
    ("over-64KiB", lambda t: put(t, s="x" * MAX_BODY), TOO_LARGE),
    # sid and op
    ("sid-missing", lambda t: {"op": "list"}, IR),
    ("sid-number", lambda t: {"sid": 12345, "op": "list"}, IR),
    ("sid-null", lambda t: {"sid": None, "op": "list"}, IR),
    ("sid-wrong-length", lambda t: {"sid": t.sid[:-1], "op": "list"}, NO_SESSION),
    ("sid-unknown", lambda t: {"sid": UNKNOWN_SID, "op": "list"}, NO_SESSION),
    ("sid-unknown-add", lambda t: add(t, sid=UNKNOWN_SID, text="hi"), NO_SESSION),
    ("sid-unknown-put", lambda t: {**put(t, x=1), "sid": UNKNOWN_SID}, NO_SESSION),
    ("op-missing", lambda t: {"sid": t.sid}, IR),
    ("op-unknown", lambda t: {"sid": t.sid, "op": "drop"}, IR),
    ("op-number", lambda t: {"sid": t.sid, "op": 1}, IR),
    ("v2-op-without-v", lambda t: {"sid": t.sid, "op": "add", "text": "hi"}, IR),
    ("2020-op-with-v", lambda t: {**put(t, x=1), "v": 2}, IR),
    ("v-3", lambda t: add(t, text="hi", v=3), IR),
    ("v-string", lambda t: add(t, text="hi", v="2"), IR),
    ("v-true", lambda t: add(t, text="hi", v=True), IR),
    ("v-float", lambda t: add(t, text="hi", v=2.0), IR),
    # v2 add
    ("text-missing", lambda t: add(t), IR),
    ("text-empty", lambda t: add(t, text=""), IR),
    ("text-1001-chars", lambda t: add(t, text="x" * 1001), IR),
    ("text-control-char", lambda t: add(t, text="bell\x07"), IR),
    ("text-nul", lambda t: add(t, text="a\x00b"), IR),
    ("text-c1-control", lambda t: add(t, text="a\u0085b"), IR),
    ("text-only-whitespace", lambda t: add(t, text=" \n\t "), IR),
    ("text-number", lambda t: add(t, text=42), IR),
    ("text-lone-surrogate", raw('{"v": 2, "sid": "{sid}", "op": "add", "text": "a\\ud800"}'), IR),
    ("completed-string", lambda t: add(t, text="hi", completed="yes"), IR),
    ("completed-number", lambda t: add(t, text="hi", completed=1), IR),
    ("completed-null", lambda t: add(t, text="hi", completed=None), IR),
    ("idempotency-key-bad-chars", lambda t: add(t, text="hi", idempotencyKey="a b/c"), IR),
    ("idempotency-key-65-chars", lambda t: add(t, text="hi", idempotencyKey="k" * 65), IR),
    ("idempotency-key-empty", lambda t: add(t, text="hi", idempotencyKey=""), IR),
    ("idempotency-key-number", lambda t: add(t, text="hi", idempotencyKey=7), IR),
    ("add-unknown-field", lambda t: add(t, text="hi", priority=1), IR),
    ("add-with-uid", lambda t: add(t, text="hi", uid="2088000000000000"), IR),
    ("add-with-id", lambda t: add(t, text="hi", id=t.todo_id), IR),
    # v2 update (aimed at the existing todo)
    ("expected-version-0", lambda t: update(t, expectedVersion=0, text="new"), IR),
    ("expected-version-negative", lambda t: update(t, expectedVersion=-1, text="new"), IR),
    ("expected-version-string", lambda t: update(t, expectedVersion="1", text="new"), IR),
    ("expected-version-bool", lambda t: update(t, expectedVersion=True, text="new"), IR),
    ("expected-version-float", lambda t: update(t, expectedVersion=1.0, text="new"), IR),
    ("expected-version-2^63", lambda t: update(t, expectedVersion=2**63, text="new"), IR),
    (
        "expected-version-missing",
        lambda t: {k: v for k, v in update(t, text="new").items() if k != "expectedVersion"},
        IR,
    ),
    ("update-nothing", lambda t: update(t), IR),
    ("update-text-empty", lambda t: update(t, text=""), IR),
    ("update-completed-string", lambda t: update(t, completed="true"), IR),
    ("update-id-not-a-todo-id", lambda t: update(t, id="not-a-todo-id", text="new"), IR),
    ("update-id-lower-case", lambda t: update(t, id=t.todo_id.lower(), text="new"), IR),
    ("update-unknown-field", lambda t: update(t, text="new", createdAt=0), IR),
    # v2 get / remove / list
    ("get-id-missing", lambda t: v2(t, "get"), IR),
    ("get-id-number", lambda t: v2(t, "get", id=1), IR),
    ("remove-id-malformed", lambda t: v2(t, "remove", id=t.todo_id + "0"), IR),
    ("remove-unknown-field", lambda t: v2(t, "remove", id=t.todo_id, force=True), IR),
    ("limit-0", lambda t: v2(t, "list", limit=0), IR),
    ("limit-101", lambda t: v2(t, "list", limit=101), IR),
    ("limit-float", lambda t: v2(t, "list", limit=1.0), IR),
    ("limit-bool", lambda t: v2(t, "list", limit=True), IR),
    ("limit-string", lambda t: v2(t, "list", limit="10"), IR),
    ("cursor-garbage", lambda t: v2(t, "list", cursor="!!not a cursor!!"), IR),
    ("cursor-number", lambda t: v2(t, "list", cursor=5), IR),
    ("cursor-non-canonical", lambda t: v2(t, "list", cursor="YR"), IR),  # "YQ" is canonical
    ("cursor-control-char", lambda t: v2(t, "list", cursor="AA"), IR),  # decodes to "\0"
    # 2020 put (aimed at the existing row)
    ("obj-missing", lambda t: {"sid": t.sid, "op": "put"}, IR),
    ("obj-array", lambda t: {"sid": t.sid, "op": "put", "obj": [EXISTING_ROW]}, IR),
    ("obj-string", lambda t: {"sid": t.sid, "op": "put", "obj": EXISTING_ROW}, IR),
    ("obj-id-missing", lambda t: {"sid": t.sid, "op": "put", "obj": {"x": 1}}, IR),
    ("obj-id-number", lambda t: {"sid": t.sid, "op": "put", "obj": {"id": 1}}, IR),
    ("obj-id-empty", lambda t: {"sid": t.sid, "op": "put", "obj": {"id": ""}}, IR),
    ("obj-id-257-chars", lambda t: {"sid": t.sid, "op": "put", "obj": {"id": "i" * 257}}, IR),
    ("obj-id-control-char", lambda t: {"sid": t.sid, "op": "put", "obj": {"id": "a\nb"}}, IR),
    ("33-columns", lambda t: put(t, **{f"c{i}": i for i in range(33)}), IR),
    ("column-uid", lambda t: put(t, uid="2088000000000000"), IR),
    (
        "column-id-twice",
        raw('{"sid": "{sid}", "op": "put", "obj": {"id": "existing-row", "id": "other"}}'),
        IR,
    ),
    ("column-name-digit-first", lambda t: put(t, **{"1st": 1}), IR),
    ("column-name-dash", lambda t: put(t, **{"a-b": 1}), IR),
    ("column-name-empty", lambda t: put(t, **{"": 1}), IR),
    ("column-name-65-chars", lambda t: put(t, **{"c" * 65: 1}), IR),
    ("column-null", lambda t: put(t, x=None), IR),
    ("column-array", lambda t: put(t, x=[1, 2]), IR),
    ("column-object", lambda t: put(t, x={"a": 1}), IR),
    ("column-int-2^63", lambda t: put(t, x=2**63), IR),
    ("column-int-below-int64", lambda t: put(t, x=-(2**63) - 1), IR),
    (
        "column-number-overflows-double",
        raw('{"sid": "{sid}", "op": "put", "obj": {"id": "existing-row", "x": 1e400}}'),
        IR,
    ),
    ("column-string-8193-chars", lambda t: put(t, x="s" * 8193), IR),
    (
        "column-lone-surrogate",
        raw('{"sid": "{sid}", "op": "put", "obj": {"id": "existing-row", "x": "\\udc00"}}'),
        IR,
    ),
    ("put-unknown-key", lambda t: {**put(t, x=1), "table": "session"}, IR),
    ("put-with-uid", lambda t: {**put(t, x=1), "uid": "2088000000000000"}, IR),
    # 2020 get / remove / list
    ("compat-get-id-missing", lambda t: {"sid": t.sid, "op": "get"}, IR),
    ("compat-get-id-number", lambda t: {"sid": t.sid, "op": "get", "id": 1}, IR),
    ("compat-remove-id-empty", lambda t: {"sid": t.sid, "op": "remove", "id": ""}, IR),
    (
        "compat-remove-id-control",
        lambda t: {"sid": t.sid, "op": "remove", "id": "existing-row\x7f"},
        IR,
    ),
    ("compat-list-with-limit", lambda t: {"sid": t.sid, "op": "list", "limit": 5}, IR),
]

SESSION_CASES: list[tuple[str, str, Any, int, str]] = [
    # (name, path, body: bytes as they are / anything else as JSON, status, code)
    ("not-json", "", b"authCode=abc", 400, IR),
    ("empty", "", b"", 400, IR),
    ("json-array", "", [{"authCode": "abc"}], 400, IR),
    ("json-string", "", "abc", 400, IR),
    ("json-null", "", None, 400, IR),
    ("not-utf8", "", b'{"authCode": "\xff\xfe"}', 400, IR),
    ("utf-16", "", '{"authCode": "abc"}'.encode("utf-16"), 400, IR),
    ("nan", "", b'{"authCode": NaN}', 400, IR),
    ("duplicate-key", "", b'{"authCode": "abc", "authCode": "def"}', 400, IR),
    (
        "nested-too-deep",
        "",
        b'{"authCode": "abc", "x": ' + b"[" * 30000 + b"]" * 30000 + b"}",
        400,
        IR,
    ),
    ("over-64KiB", "", {"authCode": "abc", "pad": "x" * MAX_BODY}, 413, TOO_LARGE),
    ("auth-code-missing", "", {"authSuccessScopes": ["auth_base"]}, 400, IR),
    ("auth-code-number", "", {"authCode": 12345}, 400, IR),
    ("auth-code-bool", "", {"authCode": True}, 400, IR),
    ("auth-code-null", "", {"authCode": None}, 400, IR),
    ("auth-code-array", "", {"authCode": ["abc"]}, 400, IR),
    ("auth-code-empty", "", {"authCode": ""}, 400, IR),
    ("auth-code-space", "", {"authCode": "abc def"}, 400, IR),
    ("auth-code-newline", "", {"authCode": "abc\n"}, 400, IR),
    ("auth-code-non-ascii", "", {"authCode": "код"}, 400, IR),
    ("auth-code-257-chars", "", {"authCode": "a" * 257}, 400, IR),
    ("refresh-not-json", "refresh", b"sessionId=abc", 400, IR),
    ("refresh-array", "refresh", [], 400, IR),
    ("refresh-session-id-missing", "refresh", {}, 400, IR),
    ("refresh-session-id-number", "refresh", {"sessionId": 1}, 400, IR),
    ("refresh-unknown-field", "refresh", {"sessionId": UNKNOWN_SID, "authCode": "a"}, 400, IR),
    ("refresh-over-64KiB", "refresh", {"sessionId": "x" * (MAX_BODY + 1)}, 413, TOO_LARGE),
    ("refresh-session-id-wrong-length", "refresh", {"sessionId": "abc"}, 401, NO_SESSION),
    ("refresh-session-id-unknown", "refresh", {"sessionId": UNKNOWN_SID}, 401, NO_SESSION),
    ("logout-array", "logout", [{"sessionId": UNKNOWN_SID}], 400, IR),
    ("logout-session-id-missing", "logout", {}, 400, IR),
    ("logout-session-id-null", "logout", {"sessionId": None}, 400, IR),
    ("unknown-path", "admin", {"authCode": "abc"}, 404, "NotFound"),
    ("unknown-sub-path", "refresh/all", {"sessionId": UNKNOWN_SID}, 404, "NotFound"),
]


@pytest.fixture(scope="module")
def phone(config) -> MiniProgram:
    return MiniProgram(config)


@pytest.fixture(scope="module")
def target(phone) -> tuple[Session, Target]:
    session = phone.login()
    todo = phone.db(session, "add", v=2, text="must not change")["data"]
    assert phone.db(session, "put", obj={"id": EXISTING_ROW, "x": 0}) == {"data": None}
    return session, Target(session.session_id, todo["id"])


def test_there_are_at_least_30_cases_of_each_kind():
    assert len(DB_CASES) >= 30 and len(SESSION_CASES) >= 30
    assert len({c[0] for c in DB_CASES}) == len(DB_CASES)
    assert len({c[0] for c in SESSION_CASES}) == len(SESSION_CASES)


@pytest.mark.parametrize("event, code", [c[1:] for c in DB_CASES], ids=[c[0] for c in DB_CASES])
def test_db_rejects_bad_input_and_changes_nothing(phone, target, snapshot, event, code):
    session, aim = target
    value = event(aim)
    payload = value if isinstance(value, bytes) else json.dumps(value).encode("utf-8")
    before = snapshot()

    answer = json.loads(invoke_raw(phone, session.sts, payload))

    assert set(answer) == {"error"} and set(answer["error"]) == {"code", "message"}
    assert answer["error"]["code"] == code
    assert snapshot_diff(before, snapshot()) == {}


@pytest.mark.parametrize(
    "path, body, status, code", [c[1:] for c in SESSION_CASES], ids=[c[0] for c in SESSION_CASES]
)
def test_session_function_rejects_bad_input_and_changes_nothing(
    phone, snapshot, path, body, status, code
):
    raw_body = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    before = snapshot()

    resp = phone.post_session(None, path=path, raw=raw_body)

    assert resp.status_code == status
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    answer = resp.json()
    assert set(answer) == {"error"} and error_code(answer) == code
    assert snapshot_diff(before, snapshot()) == {}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_on_the_session_url_are_405_and_change_nothing(phone, snapshot, method):
    before = snapshot()
    resp = phone.http.request(method, phone.config["sessionUrl"], timeout=phone.timeout)
    assert resp.status_code == 405
    assert snapshot_diff(before, snapshot()) == {}


def test_other_methods_answer_the_documented_error_body_with_allow_post(phone):
    """docs/api.md: any method but POST is `405 MethodNotAllowed` with `Allow: POST` and the
    body `{"error": {"code": "MethodNotAllowed", ...}}`, like every other session error."""
    resp = phone.http.get(phone.config["sessionUrl"], timeout=phone.timeout)
    assert resp.status_code == 405
    assert resp.headers.get("Allow") == "POST"
    assert error_code(resp.json()) == "MethodNotAllowed"


def test_values_right_at_the_limits_are_accepted(phone, target):
    """The other side of the cases above: each limit itself is allowed, so the rejections are
    exactly at the documented bounds."""
    session, _ = target
    columns = {f"c{i}": i for i in range(31)}
    columns["n" * 64] = "s" * 8192
    assert phone.db(session, "put", obj={"id": "i" * 256, **columns}) == {"data": None}
    assert phone.db(session, "get", id="i" * 256)["data"]["n" * 64] == "s" * 8192
    todo = phone.db(session, "add", v=2, text="t" * 1000, idempotencyKey="K" * 64)["data"]
    assert todo["text"] == "t" * 1000
    assert phone.db(session, "add", v=2, text="line\n\ttab")["data"]["text"] == "line\n\ttab"
    assert phone.db(session, "list", v=2, limit=100)["data"]["cursor"] is None
    assert phone.db(session, "list", v=2, limit=1)["data"]["items"][0]["id"] <= todo["id"]
    updated = phone.db(session, "update", v=2, id=todo["id"], expectedVersion=1, completed=True)[
        "data"
    ]
    assert updated["version"] == 2

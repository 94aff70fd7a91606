"""Behaviour under faults, end to end: the mini program's client against the functions on the local
cloud while its emulators fail on purpose (`localcloud.faults`).

What must hold whatever fails: a session is never half-created (no session row without the
credentials reaching the client, no credentials without a row); a failed Alipay exchange creates
nothing and answers the right typed error; Tablestore throttling is retried with bounded back-off
and, when it does not end, answered as UpstreamUnavailable before the function's timeout; a log
service outage changes nothing for the client; and no retry ever writes twice.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from localcloud.faults import Fault
from localcloud.miniprogram import MiniProgram, Session
from tests.metrics import record

from .faultkit import (
    error_code,
    fc_error_type,
    injected,
    session_key,
    session_keys,
    usage_count,
    user_rows,
)

OAUTH = "alipay.system.oauth.token"
# A seed under which a share of 0.5 never hits more than 4 requests in a row (checked over the
# first 300 draws), fewer than the retries the Tablestore client allows itself in its budget:
# the throttling test then proves the retries work instead of depending on luck.
THROTTLING_SEED = 56
# A seed under which a share of 0.5 hits the 1st and 3rd request and spares the 2nd and 4th (and
# never more than 4 in a row over the first 100): a write whose reply is lost, then a re-send that
# is answered.
LOST_ONCE_SEED = 3
# Any fixed seed, so a run with several shares can be replayed (timing may still shift draws).
MIXED_SEED = 7


def _login_body(code: str) -> dict[str, Any]:
    return {"authCode": code, "authSuccessScopes": ["auth_base"]}


def _ok(answer: Any) -> Any:
    assert error_code(answer) is None, answer
    return answer["data"]


def _session_decl(cloud: Any) -> Any:
    config = cloud.cloud_config()
    service = cloud.template.service(config["sessionServiceName"])
    return service.function(config["sessionFunctionName"])


# -- Alipay -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fault, status, code",
    [
        pytest.param(dict(kind="down"), 503, "UpstreamUnavailable", id="down"),
        pytest.param(dict(kind="bad_signature"), 503, "UpstreamUnavailable", id="bad-signature"),
        pytest.param(
            dict(kind="error_response"), 503, "UpstreamUnavailable", id="isp-unknown-error"
        ),
        pytest.param(
            dict(kind="error_response", code="aop.unknow-error"),
            503,
            "UpstreamUnavailable",
            id="gateway-unknown-error",
        ),
        pytest.param(
            dict(kind="error_response", code="isv.code-invalid"),
            401,
            "InvalidAuthCode",
            id="code-invalid",
        ),
    ],
)
def test_a_failed_alipay_exchange_creates_no_session(
    fault, status, code, faults, miniprogram, snapshot
):
    app = miniprogram()
    auth_code = app.get_auth_code()
    before = session_keys(snapshot())
    faults.set(Fault("alipay", api=OAUTH, **fault))
    start = injected(faults)
    resp = app.post_session(_login_body(auth_code))
    hits = injected(faults) - start
    faults.clear()
    assert hits == 1
    assert resp.status_code == status
    assert resp.json() == {"error": {"code": code, "message": resp.json()["error"]["message"]}}
    assert session_keys(snapshot()) == before
    # Alipay is back: the same phone logs in with a new code.
    session = app.login()
    assert session_keys(snapshot()) == before | {session_key(session.session_id)}
    record("faults_injected", 1)


def test_an_unknown_auth_code_is_invalid_and_creates_no_session(miniprogram, snapshot):
    app = miniprogram()
    before = session_keys(snapshot())
    resp = app.post_session(_login_body("0123456789abcdef0123456789abcdef"))
    assert (resp.status_code, resp.json()["error"]["code"]) == (401, "InvalidAuthCode")
    assert session_keys(snapshot()) == before


def test_a_slow_alipay_is_waited_for_within_the_upstream_timeout(
    local_cloud, faults, miniprogram, snapshot
):
    app = miniprogram()
    auth_code = app.get_auth_code()
    before = session_keys(snapshot())
    faults.set(Fault("alipay", "slow", api=OAUTH, seconds=0.5))
    start = injected(faults)
    resp = app.post_session(_login_body(auth_code))
    hits = injected(faults) - start
    faults.clear()
    assert hits == 1
    assert resp.status_code == 200, resp.text
    assert session_keys(snapshot()) == before | {session_key(resp.json()["sessionId"])}
    record("faults_injected", hits)


def test_an_alipay_slower_than_the_upstream_timeout_is_upstream_unavailable(
    local_cloud, faults, miniprogram, snapshot
):
    function = _session_decl(local_cloud)
    timeout = float(
        function.environment.get("UPSTREAM_TIMEOUT_SECONDS", 5)
    )  # the documented default
    seconds = timeout + 1
    # Otherwise FC's timeout, not the function, would answer.
    assert seconds < function.timeout
    app = miniprogram()
    auth_code = app.get_auth_code()
    before = session_keys(snapshot())
    faults.set(Fault("alipay", "slow", api=OAUTH, seconds=seconds))
    start = injected(faults)
    resp = app.post_session(_login_body(auth_code))
    assert injected(faults) - start == 1
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "UpstreamUnavailable"
    assert "x-fc-error-type" not in {k.lower() for k in resp.headers}
    faults.clear()
    assert session_keys(snapshot()) == before
    record("faults_injected", 1)


# -- a session is never half-created -----------------------------------------------------------
@pytest.mark.parametrize(
    "fault, status",
    [
        pytest.param(Fault("alipay", "down", api=OAUTH), 503, id="alipay-down"),
        pytest.param(Fault("alipay", "bad_signature", api=OAUTH), 503, id="alipay-bad-signature"),
        pytest.param(Fault("sts", "refuse", api="AssumeRole"), 503, id="sts-refuses"),
        pytest.param(Fault("sts", "unreachable", api="AssumeRole"), 503, id="sts-unreachable"),
        pytest.param(Fault("sts", "internal_error", api="AssumeRole"), 503, id="sts-5xx"),
        pytest.param(Fault("tablestore", "server_busy", api="PutRow"), 503, id="ots-put-busy"),
        pytest.param(Fault("tablestore", "internal_error", api="PutRow"), 503, id="ots-put-5xx"),
        pytest.param(
            Fault("tablestore", "timeout", api="PutRow", seconds=0.3), 503, id="ots-put-times-out"
        ),
        pytest.param(Fault("tablestore", "down", api="PutRow"), 503, id="ots-put-unreachable"),
        # Every write lands but no answer comes back: the function cannot know, so it deletes the
        # row it may have written before answering the error.
        pytest.param(
            Fault("tablestore", "lost_reply", api="PutRow"), 503, id="ots-put-replies-lost"
        ),
        # The first answer is lost, the re-send is answered: the function recognises its own row and
        # the login succeeds with exactly that row.
        pytest.param(
            Fault("tablestore", "lost_reply", api="PutRow", share=0.5),
            200,
            id="ots-put-first-reply-lost",
        ),
    ],
)
def test_a_session_is_never_half_created(fault, status, faults, miniprogram, snapshot):
    _login_under(fault, status, miniprogram(), faults, snapshot)


@pytest.mark.parametrize(
    "fault, status",
    [
        pytest.param(Fault("sts", "refuse", api="AssumeRole"), 503, id="sts-refuses"),
        pytest.param(
            Fault("tablestore", "timeout", api="PutRow", seconds=0.3), 503, id="ots-put-times-out"
        ),
        pytest.param(
            Fault("tablestore", "lost_reply", api="PutRow"), 503, id="ots-put-replies-lost"
        ),
        pytest.param(
            Fault("tablestore", "lost_reply", api="PutRow", share=0.5),
            200,
            id="ots-put-first-reply-lost",
        ),
    ],
)
def test_a_returning_users_warm_login_is_never_half_created_either(
    fault, status, faults, miniprogram, snapshot
):
    """The same guarantees on the 5-request path, where the warm instance remembers the user's
    internal id and skips the identity read (services/identity.py)."""
    app = miniprogram()
    app.login()
    _login_under(fault, status, app, faults, snapshot)


def _login_under(fault: Fault, status: int, app: MiniProgram, faults: Any, snapshot: Any) -> None:
    auth_code = app.get_auth_code()
    before = session_keys(snapshot())
    faults.reseed(LOST_ONCE_SEED)
    faults.set(fault)
    start = injected(faults)
    resp = app.post_session(_login_body(auth_code))
    hits = injected(faults) - start
    faults.clear()
    after = session_keys(snapshot())
    assert hits >= 1
    assert resp.status_code == status, resp.text
    body = resp.json()
    if status == 200:
        assert set(body) == {"sessionId", "sts"}
        assert after == before | {session_key(body["sessionId"])}
        # The row is whole: the db function accepts the session.
        session = Session(body["sessionId"], body["sts"])
        assert app.db(session, "list", v=2) == {"data": {"items": [], "cursor": None}}
    else:
        assert set(body) == {"error"} and body["error"]["code"] == "UpstreamUnavailable"
        assert after == before
    record("faults_injected", hits)


def test_logins_under_faults_at_every_step_leave_exactly_the_sessions_answered(
    faults, miniprogram, snapshot
):
    """Many logins while Alipay, STS and Tablestore each fail for a share of requests: every
    answer is a whole session (its row stored) or an error (nothing stored), never in between."""
    before = session_keys(snapshot())
    faults.reseed(MIXED_SEED)
    faults.set(Fault("alipay", "error_response", api=OAUTH, share=0.25))
    faults.set(Fault("sts", "refuse", api="AssumeRole", share=0.25))
    faults.set(Fault("tablestore", "lost_reply", api="PutRow", share=0.5))
    start = injected(faults)
    opened: set[str] = set()
    failed = 0
    for _ in range(16):
        app = miniprogram()
        resp = app.post_session(_login_body(app.get_auth_code()))
        if resp.status_code == 200:
            assert set(resp.json()) == {"sessionId", "sts"}
            opened.add(session_key(resp.json()["sessionId"]))
        else:
            assert (resp.status_code, set(resp.json())) == (503, {"error"}), resp.text
            assert resp.json()["error"]["code"] == "UpstreamUnavailable"
            failed += 1
    hits = injected(faults) - start
    faults.clear()
    assert session_keys(snapshot()) == before | opened
    assert opened and failed  # both outcomes were exercised
    record("faults_injected", hits)


# -- Tablestore throttling ------------------------------------------------------------------------
def test_tablestore_throttling_is_retried_until_the_requests_succeed(faults, miniprogram, snapshot):
    app = miniprogram()
    faults.reseed(THROTTLING_SEED)
    faults.set(Fault("tablestore", "server_busy", share=0.5))
    start = injected(faults)
    session = app.login()  # raises unless 200
    added = _ok(app.db(session, "add", v=2, text="buy milk", idempotencyKey="milk-1"))
    updated = _ok(app.db(session, "update", v=2, id=added["id"], expectedVersion=1, completed=True))
    listed = _ok(app.db(session, "list", v=2))
    hits = injected(faults) - start
    faults.clear()
    assert hits > 0
    assert listed == {"items": [updated], "cursor": None}
    rows = user_rows(snapshot(), app.user_id)
    assert set(rows) == {added["id"]}
    assert (rows[added["id"]]["text"], rows[added["id"]]["completed"]) == ("buy milk", True)
    record("faults_injected", hits)
    record("acknowledged_writes", 1)
    record("records_lost", 0)


def test_throttling_that_does_not_end_is_upstream_unavailable_before_the_function_times_out(
    faults, miniprogram, snapshot
):
    app = miniprogram()
    session = app.login()
    before = snapshot()
    faults.set(Fault("tablestore", "server_busy"))
    start = injected(faults)
    resp = app.post_session(_login_body(app.get_auth_code()))
    payload, fc_error = fc_error_type(
        app, session, {"v": 2, "sid": session.session_id, "op": "add", "text": "never stored"}
    )
    hits = injected(faults) - start
    faults.clear()
    # The functions gave up themselves, in their own words: not FC's timeout or a crash.
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "UpstreamUnavailable"
    assert "x-fc-error-type" not in {k.lower() for k in resp.headers}
    assert fc_error == ""
    assert error_code(payload) == "UpstreamUnavailable"
    # Retried, but not for ever: more than one attempt per call, and nothing was written.
    assert hits > 2
    assert snapshot() == before
    record("faults_injected", hits)


# -- the log service ------------------------------------------------------------------------------
def _todo_script(app: MiniProgram) -> list[Any]:
    """One user's day: every answer, in order."""
    session = app.login()
    answers: list[Any] = [sorted(session.sts)]
    added = app.db(session, "add", v=2, text="water the plants", idempotencyKey="plants-1")
    answers.append(added)
    todo_id = added["data"]["id"]
    answers.append(app.db(session, "update", v=2, id=todo_id, expectedVersion=1, completed=True))
    answers.append(app.db(session, "update", v=2, id=todo_id, expectedVersion=1, text="stale"))
    answers.append(app.db(session, "put", obj={"id": "note", "pinned": True, "n": 3}))
    answers.append(app.db(session, "list"))
    return answers


_TODO_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def _normalised(value: Any, ids: dict[str, str]) -> Any:
    """Server-chosen ids and times replaced by stable placeholders, so two users' answers and rows
    compare equal when they mean the same."""
    if isinstance(value, dict):
        return {
            k: (
                "<ms>"
                if k in ("createdAt", "updatedAt", "created_at", "updated_at")
                else _normalised(v, ids)
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_normalised(v, ids) for v in value]
    if isinstance(value, str) and _TODO_ID.match(value):
        return ids.setdefault(value, f"<id{len(ids)}>")
    return value


def test_a_log_service_outage_changes_nothing_for_the_client(faults, miniprogram, snapshot):
    calm, stormy = miniprogram(), miniprogram()
    calm_answers = _todo_script(calm)
    faults.set(Fault("sls", "unreachable"))
    start = injected(faults)
    stormy_answers = _todo_script(stormy)
    hits = injected(faults) - start
    faults.clear()
    # The functions make no Log Service call (their records go to stdout, which FC ships): the
    # outage is never even met on the request path.
    assert hits == 0
    calm_ids: dict[str, str] = {}
    stormy_ids: dict[str, str] = {}
    assert _normalised(stormy_answers, stormy_ids) == _normalised(calm_answers, calm_ids)
    state = snapshot()
    calm_rows = {calm_ids.get(k, k): v for k, v in user_rows(state, calm.user_id).items()}
    stormy_rows = {stormy_ids.get(k, k): v for k, v in user_rows(state, stormy.user_id).items()}
    assert _normalised(stormy_rows, stormy_ids) == _normalised(calm_rows, calm_ids)
    assert len(stormy_rows) == 2
    assert usage_count(state, stormy.user_id) == usage_count(state, calm.user_id) == 2
    record("faults_injected", hits)
    record("acknowledged_writes", 2)
    record("records_lost", 0)


# -- no retry writes twice -------------------------------------------------------------------------
def _add_event(session: Session, text: str, key: str) -> dict[str, Any]:
    return {"v": 2, "sid": session.session_id, "op": "add", "text": text, "idempotencyKey": key}


def test_a_retried_add_whose_reply_was_lost_creates_one_todo(faults, miniprogram, snapshot):
    app = miniprogram()
    session = app.login()
    faults.set(Fault("fc", "lost_reply", api="InvokeFunction"))
    with pytest.raises(requests.exceptions.ConnectionError):
        app.invoke(session, _add_event(session, "call mum", "mum-1"))
    faults.clear()
    written = user_rows(snapshot(), app.user_id)
    assert len(written) == 1  # the lost attempt did write
    # The client cannot know that, so it retries: same key, even with the text edited since.
    retried = _ok(app.invoke(session, _add_event(session, "call mum!", "mum-1")))
    assert set(written) == {retried["id"]} and retried["text"] == "call mum"
    state = snapshot()
    assert user_rows(state, app.user_id) == written
    assert usage_count(state, app.user_id) == 1
    record("faults_injected", 1)
    record("acknowledged_writes", 1)
    record("records_lost", 0)
    record("records_duplicated", 0)


def test_a_retried_update_whose_reply_was_lost_is_not_applied_twice(faults, miniprogram, snapshot):
    app = miniprogram()
    session = app.login()
    todo = _ok(app.db(session, "add", v=2, text="a"))
    update = {
        "v": 2,
        "sid": session.session_id,
        "op": "update",
        "id": todo["id"],
        "expectedVersion": 1,
        "text": "a, then b",
    }
    faults.set(Fault("fc", "lost_reply", api="InvokeFunction"))
    with pytest.raises(requests.exceptions.ConnectionError):
        app.invoke(session, update)
    faults.clear()
    # The version the client saw is gone: the retry is a Conflict, and the write happened once.
    assert error_code(app.invoke(session, update)) == "Conflict"
    current = _ok(app.db(session, "get", v=2, id=todo["id"]))
    assert (current["text"], current["version"]) == ("a, then b", 2)
    record("faults_injected", 1)
    record("conflicts_resolved", 1)


def test_an_add_that_failed_before_writing_is_written_once_by_its_retry(
    faults, miniprogram, snapshot
):
    app = miniprogram()
    session = app.login()
    event = _add_event(session, "renew passport", "passport-1")
    faults.set(Fault("tablestore", "server_busy", api="UpdateRow"))  # the quota counter
    start = injected(faults)
    first = app.invoke(session, event)
    hits = injected(faults) - start
    faults.clear()
    assert error_code(first) == "UpstreamUnavailable"
    state = snapshot()
    assert user_rows(state, app.user_id) == {} and usage_count(state, app.user_id) == 0
    retried = _ok(app.invoke(session, event))
    again = _ok(app.invoke(session, event))
    assert again == retried
    state = snapshot()
    assert set(user_rows(state, app.user_id)) == {retried["id"]}
    assert usage_count(state, app.user_id) == 1
    record("faults_injected", hits)
    record("acknowledged_writes", 1)
    record("records_lost", 0)
    record("records_duplicated", 0)


def test_writes_whose_tablestore_replies_are_lost_are_recognised_not_repeated(
    faults, miniprogram, snapshot
):
    app = miniprogram()
    session = app.login()
    faults.reseed(LOST_ONCE_SEED)
    faults.set(Fault("tablestore", "lost_reply", api="PutRow", share=0.5))
    start = injected(faults)
    added = _ok(app.db(session, "add", v=2, text="pay rent", idempotencyKey="rent-1"))
    replayed = _ok(app.db(session, "add", v=2, text="pay rent", idempotencyKey="rent-1"))
    put = app.db(session, "put", obj={"id": "groceries", "count": 3})
    hits = injected(faults) - start
    faults.clear()
    assert replayed == added and put == {"data": None}
    state = snapshot()
    assert set(user_rows(state, app.user_id)) == {added["id"], "groceries"}
    assert usage_count(state, app.user_id) == 2
    assert hits >= 2
    record("faults_injected", hits)
    record("acknowledged_writes", 2)
    record("records_lost", 0)
    record("records_duplicated", 0)


def _add_until_acknowledged(
    app: MiniProgram, session: Session, text: str, key: str, tries: int = 30
) -> dict[str, Any]:
    """What a careful client does: retry the same add (same key) until it is acknowledged."""
    for _ in range(tries):
        try:
            answer = app.invoke(session, _add_event(session, text, key))
        except requests.exceptions.ConnectionError:
            continue  # the reply was lost; the add may or may not have happened
        if error_code(answer) == "UpstreamUnavailable":
            continue
        return _ok(answer)
    raise AssertionError(f"add {key} was never acknowledged in {tries} tries")


def test_acknowledged_adds_survive_faults_everywhere_exactly_once(faults, miniprogram, snapshot):
    app = miniprogram()
    session = app.login()
    faults.reseed(MIXED_SEED)
    faults.set(Fault("fc", "lost_reply", api="InvokeFunction", share=0.3))
    faults.set(Fault("tablestore", "lost_reply", api="PutRow", share=0.3))
    faults.set(Fault("tablestore", "internal_error", api="UpdateRow", share=0.3))
    faults.set(Fault("tablestore", "server_busy", api="GetRow", share=0.3))
    start = injected(faults)
    acknowledged: dict[str, dict[str, Any]] = {}
    for n in range(12):
        key = f"chore-{n}"
        acknowledged[key] = _add_until_acknowledged(app, session, f"chore number {n}", key)
    hits = injected(faults) - start
    faults.clear()
    rows = user_rows(snapshot(), app.user_id)
    stored = {todo_id: columns["text"] for todo_id, columns in rows.items()}
    expected = {todo["id"]: todo["text"] for todo in acknowledged.values()}
    lost = set(expected) - set(stored)
    duplicated = len(stored) - len(set(stored.values()))
    assert lost == set() and duplicated == 0
    assert stored == expected
    assert hits > 0
    record("faults_injected", hits)
    record("acknowledged_writes", len(acknowledged))
    record("records_lost", len(lost))
    record("records_duplicated", duplicated)

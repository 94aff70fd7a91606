"""Auth codes are single-use: a replayed code is 401 InvalidAuthCode and opens no second session,
whether it is replayed after the first login or raced against it.

What a refused login may write: the per-IP rate limit counter is hit before Alipay is asked (so a
bot cannot spend the app's Alipay quota), so that one guard row counts the attempt. Nothing else
changes — no session row, no per-user counter."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .calls import error_code, snapshot_diff


def only_ip_counter_changed(diff: dict) -> bool:
    """The diff holds nothing but the per-IP rate limit row of this window, counted up by one."""
    if set(diff) - {"guard"}:
        return False
    guard = diff.get("guard", {"gone": [], "new": []})
    if len(guard["new"]) != 1 or len(guard["gone"]) > 1:
        return False
    (key,), columns = guard["new"][0]
    count = dict(columns)["count"]
    if not (key.startswith("rl#") and ":ip:" in key):
        return False
    if guard["gone"]:
        (old_key,), old_columns = guard["gone"][0]
        return old_key == key and count == dict(old_columns)["count"] + 1
    return count == 1


def sessions_of(snapshot: dict, user_id: str) -> list:
    return [row for row in snapshot["session"] if dict(row[1])["uid"] == user_id]


def test_a_replayed_auth_code_is_refused_and_opens_no_second_session(miniprogram, snapshot):
    app = miniprogram()
    code = app.get_auth_code()
    first = app.post_session({"authCode": code, "authSuccessScopes": ["auth_base"]})
    assert first.status_code == 200
    before = snapshot()
    assert len(sessions_of(before, app.user_id)) == 1

    replay = app.post_session({"authCode": code, "authSuccessScopes": ["auth_base"]})

    assert replay.status_code == 401
    assert set(replay.json()) == {"error"} and error_code(replay.json()) == "InvalidAuthCode"
    after = snapshot()
    assert sessions_of(after, app.user_id) == sessions_of(before, app.user_id)
    assert only_ip_counter_changed(snapshot_diff(before, after))
    # The first session is unaffected.
    session_id = first.json()["sessionId"]
    assert app.post_session({"sessionId": session_id}, path="refresh").status_code == 200


def test_a_code_raced_by_two_logins_opens_exactly_one_session(miniprogram, snapshot):
    app = miniprogram()
    code = app.get_auth_code()
    phones = [miniprogram(app.user_id) for _ in range(4)]  # one HTTP session per thread
    with ThreadPoolExecutor(len(phones)) as pool:
        answers = list(pool.map(lambda phone: phone.post_session({"authCode": code}), phones))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 401, 401, 401]
    assert all(error_code(a.json()) == "InvalidAuthCode" for a in answers if a.status_code == 401)
    assert len(sessions_of(snapshot(), app.user_id)) == 1


def test_an_unknown_auth_code_is_refused_and_changes_nothing_else(miniprogram, snapshot):
    app = miniprogram()
    before = snapshot()
    resp = app.post_session({"authCode": "0" * 32, "authSuccessScopes": ["auth_base"]})
    assert resp.status_code == 401 and error_code(resp.json()) == "InvalidAuthCode"
    assert only_ip_counter_changed(snapshot_diff(before, snapshot()))

"""The 2020 protocol, byte for byte: an unchanged 2020 mini program client (HTTP POST of the
my.getAuthCode result, then InvokeFunction of db with `{"sid", "op", "obj", "id"}`) gets exactly the
shapes it got from the Node.js template — except that `list` now answers every row."""

from __future__ import annotations

import json
import re
import time

import pytest

from localcloud.miniprogram import MiniProgram, Session

from .calls import invoke_raw

ISO_8601_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")


@pytest.fixture(scope="module")
def client(config) -> tuple[MiniProgram, Session]:
    app = MiniProgram(config)
    return app, app.login()


def put_raw(app: MiniProgram, session: Session, obj: dict) -> bytes:
    return invoke_raw(
        app, session.sts, json.dumps({"sid": session.session_id, "op": "put", "obj": obj})
    )


def compact(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def typed(value: object) -> object:
    """The value with every scalar paired with its type, so True never equals 1 (nor 1 == 1.0)."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def test_session_reply_is_exactly_the_2020_shape(config, local_cloud):
    app = MiniProgram(config)
    code = app.get_auth_code()
    resp = app.post_session({"authCode": code, "authSuccessScopes": ["auth_base"]})

    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.headers["Cache-Control"] == "no-store"
    body = json.loads(resp.content.decode("utf-8"))
    assert set(body) == {"sessionId", "sts"}
    assert SESSION_ID.fullmatch(body["sessionId"])
    sts = body["sts"]
    assert set(sts) == {"AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}
    assert all(isinstance(v, str) and v for v in sts.values())
    assert ISO_8601_Z.fullmatch(sts["Expiration"])
    issued = local_cloud.credentials.resolve(sts["AccessKeyId"], sts["SecurityToken"])
    assert sts["AccessKeySecret"] == issued.access_key_secret
    assert sts["Expiration"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issued.expires_at))


def test_a_body_sent_without_content_type_still_logs_in(config):
    """The 2020 client posted JSON without always saying so."""
    app = MiniProgram(config)
    raw = json.dumps({"authCode": app.get_auth_code()}).encode()
    resp = app.http.post(config["sessionUrl"], data=raw, timeout=app.timeout)
    assert resp.status_code == 200 and set(resp.json()) == {"sessionId", "sts"}


def test_put_answers_exactly_data_null(client):
    app, session = client
    assert put_raw(app, session, {"id": "put-shape", "completed": False}) == b'{"data":null}'


def test_get_answers_the_row_with_its_stored_types(client):
    app, session = client
    obj = {
        "id": "buy 牛奶",
        "completed": False,
        "done": True,
        "count": 3,
        "neg": -7,
        "big": 2**63 - 1,
        "small": -(2**63),
        "ratio": 2.5,
        "note": 'with "quotes" & ünï',
        "empty": "",
    }
    assert put_raw(app, session, obj) == b'{"data":null}'

    raw = invoke_raw(
        app, session.sts, json.dumps({"sid": session.session_id, "op": "get", "id": obj["id"]})
    )
    answer = json.loads(raw.decode("utf-8"))
    assert typed(answer) == typed({"data": obj})
    assert raw == compact(answer)  # compact JSON, raw UTF-8


def test_put_replaces_the_whole_row(client):
    app, session = client
    put_raw(app, session, {"id": "replace-me", "a": 1, "b": "two"})
    put_raw(app, session, {"id": "replace-me", "c": True})
    assert app.db(session, "get", id="replace-me") == {"data": {"id": "replace-me", "c": True}}


def test_list_answers_all_rows_not_just_the_first_10(config):
    app = MiniProgram(config)
    session = app.login()
    objs = [{"id": f"row-{i:02d}", "n": i, "even": i % 2 == 0, "label": f"#{i}"} for i in range(27)]
    for obj in reversed(objs):
        assert put_raw(app, session, obj) == b'{"data":null}'

    raw = invoke_raw(app, session.sts, json.dumps({"sid": session.session_id, "op": "list"}))
    answer = json.loads(raw)
    assert set(answer) == {"data"}
    assert typed(answer["data"]) == typed(objs)  # every row, in id order, types kept
    assert raw == compact(answer)


def test_remove_answers_data_null_and_the_row_is_gone(client):
    app, session = client
    put_raw(app, session, {"id": "remove-me", "x": 1})
    event = json.dumps({"sid": session.session_id, "op": "remove", "id": "remove-me"})
    assert invoke_raw(app, session.sts, event) == b'{"data":null}'
    assert app.db(session, "get", id="remove-me") == {"data": None}
    # Removing a row that is not there is not an error in 2020 either.
    assert invoke_raw(app, session.sts, event) == b'{"data":null}'


def test_get_of_a_missing_id_answers_data_null(client):
    app, session = client
    event = json.dumps({"sid": session.session_id, "op": "get", "id": "never-put"})
    assert invoke_raw(app, session.sts, event) == b'{"data":null}'


def test_a_2020_event_may_carry_the_2020_keys_its_op_ignores(client):
    """The 2020 client sent `obj`/`id` along with ops that do not use them."""
    app, session = client
    put_raw(app, session, {"id": "carry", "k": "v"})
    answer = app.db(session, "get", id="carry", obj={"id": "ignored"})
    assert answer == {"data": {"id": "carry", "k": "v"}}
    listed = app.db(session, "list", id="ignored", obj={})
    assert {"id": "carry", "k": "v"} in listed["data"]

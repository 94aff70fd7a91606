"""Upstream requests per operation, counted at the emulators (`LocalCloud.traffic`) on warm
instances: a change that adds a round trip fails here. The figures, and why they are not lower:

- login: 5 for a user the warm instance has seen (IP and user rate limits, Alipay, STS, the
  session row): the instance remembers which internal id an Alipay id resolved to, as link rows
  never change (services/identity.py). A first login, or one on a new instance, also reads the
  identity link: 6 (tests/e2e/test_alipay_identity.py).
- refresh: 3 (the session row, its per-session and per-user rate limits in one BatchWriteRow,
  STS); logout: 2 (the session row, its delete), no limit.
- Each db command names the rows it reads first; once the instance has seen the session (the
  rows' keys hold the user id, which only the session row gives), they are read with the session
  row in one BatchGetRow (docs/design/warm-read.md). A session's first request on an instance
  reads them in turn.
- v2 get: 1 (the session row and the item). v2 list: 2 for a first page (the session row and
  the tally it checks, one GetRange), 2 for a next page (no tally).
- v2 update: 2 (the item read with the session row, then the conditional write).
- v2 add 3: the session row and the tally; the reservation; the put with the settle in one
  BatchWriteRow. A keyed add 5 (its key is claimed first, and it settles apart: it may race a
  retry of itself).
- v2 remove 3: the session row, the tally and the item; the mark with the delete in one
  BatchWriteRow; the settle.
- 2020 get 1 and list 2, as the v2 get and first page. 2020 put of a new id 4 (read, reserve,
  put, settle: two clients may create one id at once, so it settles apart), of an existing id 2;
  2020 remove 3, as the v2 remove.
- An add or remove is not 2: the exact count needs its reservation (or mark) in place before the
  row write can land and a settle after its answer, and a BatchWriteRow is not atomic
  (docs/design/exact-counts.md).
- The session's activity is written at most once per tenth of the idle window, so none of
  these requests is a touch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from localcloud.miniprogram import MiniProgram, Session

UPSTREAM = ("tablestore", "sts", "alipay", "sls")


def upstream(local_cloud: Any, call: Callable[[], Any]) -> tuple[Any, dict[str, int]]:
    """What `call` returned, and the upstream requests the functions made meanwhile, as
    {"service:API": n}. The client's own calls (the sandbox's auth code) are left out."""
    before = local_cloud.traffic.snapshot()
    result = call()
    counts = {
        f"{service}:{api}": n
        for (service, api), n in local_cloud.traffic.since(before).items()
        if service in UPSTREAM and api != "POST /auth_code"
    }
    return result, counts


@pytest.fixture(scope="module")
def user(config: dict[str, str]) -> tuple[MiniProgram, Session]:
    app = MiniProgram(config)
    session = app.login()
    # Warm both functions and this user's first use (the tally of the collection).
    assert "data" in app.db(session, "add", v=2, text="first")
    return app, session


def v2(app: MiniProgram, session: Session, op: str, **fields: Any) -> Any:
    answer = app.db(session, op, v=2, **fields)
    assert "data" in answer, answer
    return answer["data"]


def test_login(local_cloud, user):
    app, _ = user
    code = app.get_auth_code()
    resp, counts = upstream(local_cloud, lambda: app.post_session({"authCode": code}))
    assert resp.status_code == 200
    assert counts == {
        "alipay:alipay.system.oauth.token": 1,
        "sts:AssumeRole": 1,
        "tablestore:UpdateRow": 2,
        "tablestore:PutRow": 1,
    }  # no identity read
    assert sum(counts.values()) == 5


def test_refresh_and_logout(local_cloud, user):
    app, _ = user
    session = app.login()
    resp, counts = upstream(
        local_cloud, lambda: app.post_session({"sessionId": session.session_id}, path="refresh")
    )
    assert resp.status_code == 200
    # the session row; its two rate limits (per session, per user) in one batch; STS
    assert counts == {"tablestore:GetRow": 1, "tablestore:BatchWriteRow": 1, "sts:AssumeRole": 1}
    resp, counts = upstream(
        local_cloud, lambda: app.post_session({"sessionId": session.session_id}, path="logout")
    )
    assert resp.status_code == 200
    assert counts == {"tablestore:GetRow": 1, "tablestore:DeleteRow": 1}


def test_v2_operations(local_cloud, user):
    app, session = user
    item, counts = upstream(local_cloud, lambda: v2(app, session, "add", text="a"))
    # the session row and the tally; the reservation; the item and the settle
    assert counts == {
        "tablestore:BatchGetRow": 1,
        "tablestore:UpdateRow": 1,
        "tablestore:BatchWriteRow": 1,
    }
    _, counts = upstream(local_cloud, lambda: v2(app, session, "get", id=item["id"]))
    assert counts == {"tablestore:BatchGetRow": 1}  # the session row and the item
    page, counts = upstream(local_cloud, lambda: v2(app, session, "list", limit=1))
    assert counts == {"tablestore:BatchGetRow": 1, "tablestore:GetRange": 1}  # with the tally
    _, counts = upstream(local_cloud, lambda: v2(app, session, "list", cursor=page["cursor"]))
    assert counts == {"tablestore:GetRow": 1, "tablestore:GetRange": 1}  # no tally read
    _, counts = upstream(
        local_cloud,
        lambda: v2(app, session, "update", id=item["id"], expectedVersion=1, completed=True),
    )
    assert counts == {"tablestore:BatchGetRow": 1, "tablestore:PutRow": 1}
    _, counts = upstream(local_cloud, lambda: v2(app, session, "remove", id=item["id"]))
    # the session row, the tally and the item; the marker and the delete; the settle
    assert counts == {
        "tablestore:BatchGetRow": 1,
        "tablestore:BatchWriteRow": 1,
        "tablestore:UpdateRow": 1,
    }


def test_a_get_on_an_instance_new_to_the_session_reads_the_two_in_turn(local_cloud, user):
    app, _ = user
    session = app.login()
    item, _ = upstream(local_cloud, lambda: v2(app, session, "add", text="n"))
    local_cloud.fc.recycle()
    app.login()  # a warm session function again; the db instance is new
    _, counts = upstream(local_cloud, lambda: v2(app, session, "get", id=item["id"]))
    assert counts == {"tablestore:GetRow": 2}
    _, counts = upstream(local_cloud, lambda: v2(app, session, "get", id=item["id"]))
    assert counts == {"tablestore:BatchGetRow": 1}
    app.post_session({"sessionId": session.session_id}, path="logout")
    answer = app.db(session, "get", v=2, id=item["id"])
    assert answer["error"]["code"] == "SessionNotFound"  # revocation counts at once


def test_a_keyed_add_claims_its_key_in_one_more_request(local_cloud, user):
    app, session = user
    v2(app, session, "list", limit=1)  # this db instance (maybe new) has seen the session
    _, counts = upstream(
        local_cloud, lambda: v2(app, session, "add", text="k", idempotencyKey="round-trips-1")
    )
    assert counts == {
        "tablestore:BatchGetRow": 1,
        "tablestore:UpdateRow": 2,
        "tablestore:PutRow": 2,
    }


def test_2020_operations(local_cloud, user):
    app, session = user

    def call(event: dict[str, Any]) -> Any:
        answer = app.invoke(session, {"sid": session.session_id, **event})
        assert "error" not in answer, answer
        return answer

    call({"op": "put", "obj": {"id": "rt-first", "a": 0}})  # the user's first 2020 row: counted
    _, counts = upstream(local_cloud, lambda: call({"op": "put", "obj": {"id": "rt", "a": 1}}))
    assert counts == {
        "tablestore:BatchGetRow": 1,
        "tablestore:UpdateRow": 2,
        "tablestore:PutRow": 1,
    }
    _, counts = upstream(local_cloud, lambda: call({"op": "put", "obj": {"id": "rt", "a": 2}}))
    assert counts == {"tablestore:BatchGetRow": 1, "tablestore:PutRow": 1}  # a replace
    _, counts = upstream(local_cloud, lambda: call({"op": "get", "id": "rt"}))
    assert counts == {"tablestore:BatchGetRow": 1}  # the session row and the row
    _, counts = upstream(local_cloud, lambda: call({"op": "list"}))
    # the session row and the tally it checks, then the rows
    assert counts == {"tablestore:BatchGetRow": 1, "tablestore:GetRange": 1}
    _, counts = upstream(local_cloud, lambda: call({"op": "remove", "id": "rt"}))
    assert counts == {
        "tablestore:BatchGetRow": 1,
        "tablestore:BatchWriteRow": 1,
        "tablestore:UpdateRow": 1,
    }


def test_an_invalid_event_makes_no_request(local_cloud, user):
    app, session = user
    answer, counts = upstream(
        local_cloud, lambda: app.invoke(session, {"sid": session.session_id, "v": 2, "op": "get"})
    )
    assert answer["error"]["code"] == "InvalidRequest"
    assert counts == {}


def test_warm_logins_reuse_the_connection_to_the_alipay_gateway(local_cloud, user):
    """The SDK alone opens a connection (a TLS handshake in the cloud) per login; the adapter
    sends its request on a connection kept alive for the instance (adapters/alipay.py)."""
    app, _ = user
    app.login()  # a warm session instance, connected
    before = local_cloud.traffic.connections("alipay")
    _, counts = upstream(local_cloud, lambda: [app.login() for _ in range(3)])
    assert counts["alipay:alipay.system.oauth.token"] == 3
    # The client's own auth-code requests come over its kept-alive requests.Session.
    assert len(local_cloud.traffic.connections("alipay") - before) == 0

"""Alipay's move from user_id to open_id, end to end on the local cloud: the gateway plays each
identity mode (switched at run time through the admin endpoint and the CLI, as Alipay switches an
app), and the session function keys every user by a stable internal id, so a user's todos survive
the app's move from user_id through both to open_id."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.miniprogram import MiniProgram, Session, new_user_id

from .support import ots_client

ALIPAY_ID_LINK = "oid#"


def set_identity(cloud: Any, mode: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{cloud.url('fc')}/_localcloud/alipay/identity",
        data=json.dumps({"mode": mode}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def cli(cloud: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI, finding this cloud from the cloud.json in its state folder."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "localcloud",
            "alipay",
            *args,
            "--state-dir",
            str(cloud.options.state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def alipay_mode(local_cloud: Any) -> Iterator[Any]:
    """The shared cloud, put back in user_id mode after the test whatever happens."""
    try:
        yield local_cloud
    finally:
        local_cloud.alipay.set_identity("user_id")


def identity_rows(cloud: Any) -> dict[str, str]:
    from tablestore import INF_MAX, INF_MIN, Direction

    client = ots_client(cloud)
    rows: dict[str, str] = {}
    start: Any = [("key", INF_MIN)]
    while start is not None:
        _, start, page, _ = client.get_range(
            "identity", Direction.FORWARD, start, [("key", INF_MAX)], max_version=1
        )
        rows.update(
            {
                row.primary_key[0][1]: dict((c[0], c[1]) for c in row.attribute_columns)[
                    "internal_id"
                ]
                for row in page
            }
        )
    return rows


def todo_owners(cloud: Any, texts: set[str]) -> set[str]:
    """The uid of every stored row whose text is one of `texts`: v2 todos live in user_data,
    2020 rows in todo_list."""
    from tablestore import INF_MAX, INF_MIN, Direction

    client = ots_client(cloud)
    owners: set[str] = set()
    for table in ("todo_list", "user_data"):
        start: Any = [("uid", INF_MIN), ("id", INF_MIN)]
        while start is not None:
            _, start, page, _ = client.get_range(
                table, Direction.FORWARD, start, [("uid", INF_MAX), ("id", INF_MAX)], max_version=1
            )
            for row in page:
                if dict((c[0], c[1]) for c in row.attribute_columns).get("text") in texts:
                    owners.add(row.primary_key[0][1])
    return owners


def texts(app: MiniProgram, session: Session) -> list[str]:
    return [item["text"] for item in app.db(session, "list", v=2)["data"]["items"]]


@pytest.mark.parametrize("mode", ["user_id", "both", "open_id"])
def test_each_identity_mode_works_end_to_end(
    alipay_mode: Any, config: dict[str, str], mode: str
) -> None:
    snapshot = set_identity(alipay_mode, mode)
    (app_entry,) = [a for a in snapshot["apps"] if a["appId"] == config["alipayAppId"]]
    assert (app_entry["signing"], app_entry["identity"]) == ("key", mode)
    app = MiniProgram(config)
    session = app.login()
    text = f"first todo in {mode} mode {app.user_id}"
    app.db(session, "add", v=2, text=text)
    assert texts(app, app.login()) == [text]  # a second login is the same user
    (owner,) = todo_owners(alipay_mode, {text})
    if mode == "open_id":
        # A brand-new user of an app in openid mode: a new internal id, never the user_id
        # (the backend never sees it).
        assert owner.startswith("u-") and app.user_id not in identity_rows(alipay_mode).values()
    else:
        assert owner == app.user_id


def test_todos_survive_the_apps_move_from_user_id_through_both_to_open_id(
    alipay_mode: Any, config: dict[str, str]
) -> None:
    app = MiniProgram(config)
    before = app.login()
    app.db(before, "add", v=2, text=f"written before the move {app.user_id}")
    links_before = identity_rows(alipay_mode)

    done = cli(alipay_mode, "identity", "both")  # the verification phase, switched by the CLI
    assert done.returncode == 0, done.stderr
    during = app.login()
    assert texts(app, during) == [f"written before the move {app.user_id}"]
    app.db(during, "add", v=2, text=f"written during the move {app.user_id}")
    linked = {
        key: value for key, value in identity_rows(alipay_mode).items() if key not in links_before
    }
    assert list(linked.values()) == [app.user_id]  # one link: this user's open_id -> user_id
    assert next(iter(linked)).startswith(ALIPAY_ID_LINK)

    set_identity(alipay_mode, "open_id")
    after = app.login()
    assert sorted(texts(app, after)) == sorted(
        [f"written before the move {app.user_id}", f"written during the move {app.user_id}"]
    )
    # Every row is still keyed by the user_id: nothing was copied or moved.
    assert todo_owners(alipay_mode, set(texts(app, after))) == {app.user_id}
    # The session started before the move still works too.
    assert len(texts(app, before)) == 2


def test_the_cli_shows_the_modes(alipay_mode: Any, config: dict[str, str]) -> None:
    done = cli(alipay_mode, "show")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["identityModes"] == ["user_id", "both", "open_id"]
    assert shown["sandboxAppId"] == config["alipayAppId"]
    refused = cli(alipay_mode, "identity", "union_id")
    assert refused.returncode != 0 and "invalid choice" in refused.stderr


def test_the_admin_endpoint_refuses_an_unknown_mode_or_app(alipay_mode: Any) -> None:
    for body, says in (
        ({"mode": "union_id"}, "mode must be one of user_id, both, open_id"),
        ({"mode": "both", "appId": "9000000000000000"}, "names no app"),
    ):
        request = urllib.request.Request(
            f"{alipay_mode.url('fc')}/_localcloud/alipay/identity",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(request, timeout=10)
        assert exc.value.code == 400 and says in json.loads(exc.value.read())["error"]
    assert alipay_mode.alipay.apps.get(alipay_mode.alipay.app_id).identity == "user_id"


def test_concurrent_first_logins_of_one_open_id_user_end_with_one_internal_id(
    alipay_mode: Any, config: dict[str, str]
) -> None:
    set_identity(alipay_mode, "open_id")
    user = new_user_id()
    phones = [MiniProgram(config, user) for _ in range(4)]
    codes = [phone.get_auth_code() for phone in phones]
    barrier = threading.Barrier(len(phones))
    sessions: list[Any] = [None] * len(phones)

    def login(i: int) -> None:
        barrier.wait()
        answer = phones[i].post_session({"authCode": codes[i], "authSuccessScopes": ["auth_base"]})
        sessions[i] = answer

    threads = [threading.Thread(target=login, args=(i,)) for i in range(len(phones))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer.status_code == 200 for answer in sessions), [a.text for a in sessions]
    first = Session(sessions[0].json()["sessionId"], sessions[0].json()["sts"])
    phones[0].db(first, "add", v=2, text=f"raced {user}")
    for phone, answer in zip(phones, sessions, strict=True):
        body = answer.json()
        session = Session(session_id=body["sessionId"], sts=body["sts"])
        assert texts(phone, session) == [f"raced {user}"]
    owners = todo_owners(alipay_mode, {f"raced {user}"})
    assert len(owners) == 1 and next(iter(owners)).startswith("u-")


def session_owner(cloud: Any, session: Session) -> str:
    """The internal id a session row was opened for."""
    from miniapp.domain.session_id import session_key

    _, row, _ = ots_client(cloud).get_row(
        "session", [("id", session_key(session.session_id))], columns_to_get=["uid"], max_version=1
    )
    return str(dict((c[0], c[1]) for c in row.attribute_columns)["uid"])


def test_a_warm_instance_skips_the_identity_read_and_keeps_users_apart(
    alipay_mode: Any, config: dict[str, str]
) -> None:
    """The login of 5 requests: a warm instance remembers what an Alipay id resolved to
    (services/identity.py). A new instance still reads the link and finds the same user, and
    two users logging in on one warm instance keep their own internal ids and todos."""
    from .test_round_trips import upstream

    set_identity(alipay_mode, "open_id")
    alice, bob = MiniProgram(config), MiniProgram(config)
    first = alice.login()  # a new open_id user: a new internal id and its link
    alice_id = session_owner(alipay_mode, first)
    assert alice_id.startswith("u-")
    alice.db(first, "add", v=2, text=f"alice's {alice.user_id}")

    def login(app: MiniProgram) -> tuple[Session, dict[str, int]]:
        code = app.get_auth_code()
        answer, counts = upstream(
            alipay_mode,
            lambda: app.post_session({"authCode": code, "authSuccessScopes": ["auth_base"]}),
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return Session(body["sessionId"], body["sts"]), counts

    warm = {
        "alipay:alipay.system.oauth.token": 1,
        "sts:AssumeRole": 1,
        "tablestore:UpdateRow": 2,
        "tablestore:PutRow": 1,
    }
    alipay_mode.fc.recycle()
    session, counts = login(alice)  # a new instance: it reads the link
    assert counts == {**warm, "tablestore:GetRow": 1}
    assert session_owner(alipay_mode, session) == alice_id
    session, counts = login(alice)  # the same instance, warm: 5
    assert counts == warm and session_owner(alipay_mode, session) == alice_id

    session, counts = login(bob)  # another user on that warm instance: his own, new id
    assert counts == {**warm, "tablestore:GetRow": 1, "tablestore:PutRow": 2}
    bob_id = session_owner(alipay_mode, session)
    assert bob_id.startswith("u-") and bob_id != alice_id
    assert texts(bob, session) == []
    for app, owner in ((alice, alice_id), (bob, bob_id), (alice, alice_id)):
        session, counts = login(app)
        assert counts == warm and session_owner(alipay_mode, session) == owner
    assert texts(alice, session) == [f"alice's {alice.user_id}"]

"""The whole flow through the local cloud, as a mini program runs it: log in over the HTTP
trigger, use the v2 todo API through aliyun-fc2 with the STS credentials, page through a list,
refresh the credentials, log out."""

from __future__ import annotations

import re

from localcloud.miniprogram import Session

from .calls import error_code, logout, refresh, refreshed

TODO_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


def test_add_update_get_remove_a_todo(miniprogram):
    app = miniprogram()
    session = app.login()

    added = app.db(session, "add", v=2, text="buy milk")["data"]
    assert TODO_ID.fullmatch(added["id"])
    assert added["text"] == "buy milk" and added["completed"] is False and added["version"] == 1
    assert added["createdAt"] == added["updatedAt"] and isinstance(added["createdAt"], int)

    updated = app.db(
        session,
        "update",
        v=2,
        id=added["id"],
        expectedVersion=1,
        text="buy oat milk",
        completed=True,
    )["data"]
    assert updated["id"] == added["id"] and updated["version"] == 2
    assert updated["text"] == "buy oat milk" and updated["completed"] is True
    assert updated["createdAt"] == added["createdAt"]
    assert updated["updatedAt"] >= added["updatedAt"]

    stale = app.db(session, "update", v=2, id=added["id"], expectedVersion=1, completed=False)
    assert error_code(stale) == "Conflict"
    assert app.db(session, "get", v=2, id=added["id"]) == {"data": updated}

    assert app.db(session, "remove", v=2, id=added["id"]) == {"data": None}
    assert error_code(app.db(session, "get", v=2, id=added["id"])) == "NotFound"
    assert error_code(app.db(session, "remove", v=2, id=added["id"])) == "NotFound"
    assert app.db(session, "list", v=2) == {"data": {"items": [], "cursor": None}}


def test_list_pages_through_every_todo_with_limit_and_cursor(miniprogram):
    app = miniprogram()
    session = app.login()
    added = [
        app.db(session, "add", v=2, text=f"todo {i}", completed=i % 2 == 0)["data"]
        for i in range(7)
    ]

    pages: list[list[dict]] = []
    cursor = None
    while True:
        page = app.db(session, "list", v=2, limit=3, cursor=cursor)["data"]
        assert set(page) == {"items", "cursor"} and len(page["items"]) <= 3
        pages.append(page["items"])
        cursor = page["cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and cursor
        assert len(pages) < 10, "the cursor never ran out"

    assert len(pages) >= 3  # 7 todos in pages of 3: more than one page
    assert [t for page in pages for t in page] == added  # every todo once, in creation order
    first = app.db(session, "list", v=2)["data"]  # default limit 20: one page
    assert first == {"items": added, "cursor": None}


def test_refresh_gives_new_credentials_that_work(miniprogram):
    app = miniprogram()
    session = app.login()
    todo = app.db(session, "add", v=2, text="survive a refresh")["data"]

    resp = refresh(app, session.session_id)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"sts"}
    fresh = Session(session.session_id, body["sts"])
    assert fresh.sts["AccessKeyId"] != session.sts["AccessKeyId"]
    assert fresh.sts["SecurityToken"] != session.sts["SecurityToken"]
    assert app.db(fresh, "get", v=2, id=todo["id"]) == {"data": todo}
    # The earlier credentials stay valid until they expire.
    assert app.db(session, "get", v=2, id=todo["id"]) == {"data": todo}


def test_logout_ends_the_session_for_every_credential(miniprogram):
    app = miniprogram()
    session = app.login()
    fresh = refreshed(app, session)
    assert app.db(session, "list", v=2)["data"]["items"] == []

    resp = logout(app, session.session_id)
    assert (resp.status_code, resp.json()) == (200, {"ok": True})

    for creds in (session, fresh):
        assert error_code(app.db(creds, "list", v=2)) == "SessionNotFound"
        assert error_code(app.db(creds, "list")) == "SessionNotFound"  # 2020 protocol too
    again = refresh(app, session.session_id)
    assert (again.status_code, error_code(again.json())) == (401, "SessionNotFound")
    # Logging out twice is not an error: the goal, no live session, is met.
    assert logout(app, session.session_id).json() == {"ok": True}

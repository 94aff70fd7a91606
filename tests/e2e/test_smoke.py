"""The whole flow, once, as the demo runs it: a quick proof the assembled cloud works."""

from __future__ import annotations


def test_login_add_and_list_through_the_local_cloud(miniprogram, snapshot):
    app = miniprogram()
    session = app.login()
    added = app.db(session, "add", v=2, text="buy milk")["data"]
    listed = app.db(session, "list", v=2)["data"]
    assert [t["id"] for t in listed["items"]] == [added["id"]]
    state = snapshot()
    rows = state["todo_list"] + state["user_data"]
    assert len(rows) >= 1 and all(key[0] != session.session_id for key, _ in rows)

"""Sessions end: after the idle timeout, at the absolute lifetime however active they are, and
when logged out. The functions run on real time, so this module sets a 2-second idle timeout and
a 6-second lifetime on the shared cloud and really waits (a few seconds in all).

Timing margins: the idle sessions are checked 0.5 s or more past their idle timeout and long
before their lifetime ends; the active session is used every 0.3 s (its activity is recorded every
idle/10 = 0.2 s) so the last gap before the lifetime check stays well under the idle timeout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.miniprogram import MiniProgram

from ..conftest import parameters_set
from .calls import error_code, logout, refresh, refreshed, snapshot_diff
from .support import take_snapshot

IDLE_SECONDS = 2
LIFETIME_SECONDS = 6
PARAMETERS = {  # over the shared cloud's, whose lifted refresh limits a test needs (every 0.3 s)
    "SessionIdleSeconds": str(IDLE_SECONDS),
    "SessionLifetimeSeconds": str(LIFETIME_SECONDS),
}


@pytest.fixture(scope="module")
def short_cloud(local_cloud: Any) -> Iterator[Any]:
    with parameters_set(local_cloud, PARAMETERS) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def app(short_cloud) -> MiniProgram:
    app = MiniProgram(short_cloud.cloud_config())
    app.db(app.login(), "list", v=2)  # warm both functions before anything is timed
    return app


@pytest.fixture(scope="module")
def idle_sessions(app) -> dict[str, Any]:
    """Sessions opened together and then left alone; `ready()` waits until they have idled."""
    opened = {name: app.login() for name in ("db", "db2020", "refresh", "logout")}
    started = time.monotonic()

    def ready() -> None:
        time.sleep(max(0.0, started + IDLE_SECONDS + 0.6 - time.monotonic()))

    return {"sessions": opened, "ready": ready}


def test_an_idle_session_is_expired_for_the_db_function(app, idle_sessions, short_cloud):
    idle_sessions["ready"]()
    session = idle_sessions["sessions"]["db"]
    assert error_code(app.db(session, "list", v=2)) == "SessionExpired"
    # The db function's role may not delete a session row: it stays expired until the table's
    # TTL (or the session function, on a refresh or logout) removes it.
    assert error_code(app.db(session, "list", v=2)) == "SessionExpired"

    other = idle_sessions["sessions"]["db2020"]
    assert error_code(app.db(other, "list")) == "SessionExpired"  # the 2020 protocol as well


def test_refresh_of_an_idle_session_is_refused(app, idle_sessions, short_cloud):
    idle_sessions["ready"]()
    session = idle_sessions["sessions"]["refresh"]
    before = take_snapshot(short_cloud)
    resp = refresh(app, session.session_id)
    assert resp.status_code == 401 and error_code(resp.json()) == "SessionExpired"
    assert "sts" not in resp.json()
    # What changed is the expired session row, deleted; nothing else.
    diff = snapshot_diff(before, take_snapshot(short_cloud))
    assert set(diff) == {"session"} and diff["session"]["new"] == []
    assert len(diff["session"]["gone"]) == 1


def test_logout_of_an_expired_session_answers_ok(app, idle_sessions):
    idle_sessions["ready"]()
    resp = logout(app, idle_sessions["sessions"]["logout"].session_id)
    assert (resp.status_code, resp.json()) == (200, {"ok": True})


def test_a_session_in_use_still_ends_at_its_lifetime(app):
    started = time.monotonic()
    via_db, via_refresh = app.login(), app.login()
    last_ok = started
    # Keep both sessions busy (db calls and refreshes count as use) until 1 s before the end.
    while time.monotonic() < started + LIFETIME_SECONDS - 1.0:
        assert app.db(via_db, "list", v=2)["data"] == {"items": [], "cursor": None}
        via_refresh = refreshed(app, via_refresh)
        assert app.db(via_refresh, "list")["data"] == []
        last_ok = time.monotonic()
        time.sleep(0.3)
    time.sleep(max(0.0, started + LIFETIME_SECONDS + 0.5 - time.monotonic()))
    assert time.monotonic() - last_ok < IDLE_SECONDS  # so it is the lifetime that ends them

    assert error_code(app.db(via_db, "list", v=2)) == "SessionExpired"
    resp = refresh(app, via_refresh.session_id)
    assert resp.status_code == 401 and error_code(resp.json()) == "SessionExpired"


def test_a_logged_out_session_is_not_found(app):
    session = app.login()
    assert logout(app, session.session_id).json() == {"ok": True}
    assert error_code(app.db(session, "list", v=2)) == "SessionNotFound"
    assert error_code(app.db(session, "get", id="x")) == "SessionNotFound"
    resp = refresh(app, session.session_id)
    assert resp.status_code == 401 and error_code(resp.json()) == "SessionNotFound"

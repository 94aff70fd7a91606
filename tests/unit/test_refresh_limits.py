"""Refreshing credentials is rate limited per session and per user, as logins are per IP and per
user; logging out never is."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import ALICE, BOB, World

PER_SESSION, PER_USER, WINDOW = 2, 3, 60


@pytest.fixture
def world() -> World:
    return World(
        refresh_limit_per_session=PER_SESSION,
        refresh_limit_per_user=PER_USER,
        rate_limit_window_seconds=WINDOW,
    )


def refresh(world: World, session_id: str) -> Any:
    return world.post("/refresh", {"sessionId": session_id})


def assert_rate_limited(answer: Any, whose: str) -> None:
    assert answer.status == 429 and answer.body["error"]["code"] == "RateLimited"
    assert whose in answer.body["error"]["message"]
    assert 1 <= int(dict(answer.headers)["Retry-After"]) <= WINDOW


def test_a_session_refreshed_too_often_gets_429_with_retry_after(world: World) -> None:
    session_id = world.login()
    assert [refresh(world, session_id).status for _ in range(PER_SESSION)] == [200] * PER_SESSION
    assert_rate_limited(refresh(world, session_id), "of this session")


def test_a_refused_refresh_issues_no_credentials(world: World) -> None:
    session_id = world.login()
    for _ in range(PER_SESSION + 2):
        refresh(world, session_id)
    assert len(world.issuer.issued) == 1 + PER_SESSION  # the login's and the counted refreshes'


def test_the_user_limit_counts_refreshes_of_all_the_users_sessions(world: World) -> None:
    sessions = [world.login() for _ in range(PER_USER)]
    assert [refresh(world, sid).status for sid in sessions] == [200] * PER_USER
    fresh = world.login()  # a session that has not been refreshed yet
    assert_rate_limited(refresh(world, fresh), "for this user")


def test_one_users_limit_leaves_other_users_alone(world: World) -> None:
    alice = world.login(ALICE)
    for _ in range(PER_SESSION + 1):
        refresh(world, alice)
    assert refresh(world, world.login(BOB)).status == 200


def test_the_limits_reset_after_their_window(world: World) -> None:
    session_id = world.login()
    for _ in range(PER_SESSION + 1):
        refresh(world, session_id)
    world.clock.advance(WINDOW)
    assert refresh(world, session_id).status == 200


def test_logout_is_never_rate_limited(world: World) -> None:
    session_id = world.login()
    for _ in range(PER_SESSION + 1):
        refresh(world, session_id)
    hits = list(world.limiter.hits)
    assert world.post("/logout", {"sessionId": session_id}).status == 200
    assert world.limiter.hits == hits
    assert refresh(world, session_id).body["error"]["code"] == "SessionNotFound"


def test_a_refresh_of_an_unknown_session_counts_nothing(world: World) -> None:
    hits = list(world.limiter.hits)
    assert refresh(world, "A" * 43).body["error"]["code"] == "SessionNotFound"
    assert world.limiter.hits == hits


def test_the_buckets_hold_neither_the_session_id_nor_the_user_id(world: World) -> None:
    session_id = world.login()
    hits = len(world.limiter.hits)
    refresh(world, session_id)
    refreshed = world.limiter.hits[hits:]
    assert len(refreshed) == 2
    assert not any(session_id in b or ALICE in b for b in refreshed)


def test_a_refused_refresh_is_audited_against_its_user(world: World) -> None:
    session_id = world.login()
    for _ in range(PER_SESSION + 1):
        refresh(world, session_id)
    refused = [
        r
        for r in world.sink.of_kind("audit")
        if r.get("event") == "refresh" and r.get("outcome") == "RateLimited"
    ]
    assert len(refused) == 1 and refused[0].get("userHash")

"""The session lifecycle: open, resolve, expiry (absolute and idle), refresh, logout, and never
half-created."""

from __future__ import annotations

import hashlib

import pytest

from miniapp import prefetch
from miniapp.crypto import TokenCipher
from miniapp.domain.records import FirstRead, Row
from miniapp.errors import (
    InvalidAuthCode,
    RateLimited,
    SessionExpired,
    SessionNotFound,
    UpstreamUnavailable,
)

from .conftest import ALICE, BOB, IP, World

DAY = 24 * 3600
# Activity is written at most once per tenth of the idle window (the composition's rule).
TOUCH_EVERY = DAY // 10


# The limits these tests count to; the session table is `world.sessions`, the db function's
# session resolution (with its read-ahead `world.session_items`) is `world.resolver`.
SETTINGS = dict(
    account_id="123",
    session_ttl_seconds=7 * DAY,
    session_idle_seconds=DAY,
    rate_limit_per_ip=5,
    rate_limit_per_user=3,
    rate_limit_window_seconds=60,
)


@pytest.fixture
def world() -> World:
    return World(**SETTINGS)


def open_for(world: World, user: str = ALICE, ip: str = IP):
    return world.login_service.open_session(world.identity.mint(user), ip)


def test_an_opened_session_resolves_to_its_user(world) -> None:
    opened = open_for(world)
    assert world.resolver.resolve(opened.session_id).user_id == ALICE


def test_the_session_id_is_256_bits_of_base64url(world) -> None:
    session_id = open_for(world).session_id
    assert len(session_id) == 43 and set(session_id) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_only_the_sha256_of_the_session_id_is_stored(world) -> None:
    session_id = open_for(world).session_id
    assert list(world.sessions.rows) == [hashlib.sha256(session_id.encode()).hexdigest()]
    assert session_id not in repr(world.sessions.rows)


def test_the_alipay_tokens_are_stored_encrypted_under_the_row_key(world) -> None:
    session_id = open_for(world).session_id
    record = next(iter(world.sessions.rows.values()))
    assert b"access-token-of" not in record.access_token_enc
    assert b"refresh-token-of" not in record.refresh_token_enc
    cipher = TokenCipher(world.settings.data_keys)
    assert cipher.open(record.access_token_enc, record.key) == f"access-token-of-{ALICE}"
    assert cipher.open(record.refresh_token_enc, record.key) == f"refresh-token-of-{ALICE}"
    assert session_id not in str(record)


def test_the_credentials_allow_invoking_the_db_function_only(world) -> None:
    open_for(world)
    ((name, policy, duration),) = world.issuer.issued
    assert duration == 900
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["fc:InvokeFunction"],
            "Resource": [
                "acs:fc:cn-hangzhou:123:services/todo/functions/db",
                "acs:fc:cn-hangzhou:123:services/todo.*/functions/db",
            ],
        }
    ]


def test_the_role_session_name_never_contains_the_session_id(world) -> None:
    opened = open_for(world)
    name = world.issuer.issued[0][0]
    assert 2 <= len(name) <= 32
    assert not any(opened.session_id[i : i + 6] in name for i in range(len(opened.session_id) - 5))
    assert ALICE not in name


def test_a_replayed_auth_code_creates_no_session(world) -> None:
    code = world.identity.mint(ALICE)
    world.login_service.open_session(code, IP)
    with pytest.raises(InvalidAuthCode):
        world.login_service.open_session(code, IP)
    assert len(world.sessions.rows) == 1


def test_a_failed_exchange_creates_no_session_and_issues_nothing(world) -> None:
    world.identity.fail_next("exchange_auth_code", UpstreamUnavailable("alipay down"))
    with pytest.raises(UpstreamUnavailable):
        open_for(world)
    assert world.sessions.rows == {} and world.issuer.issued == []


def test_a_session_is_never_created_when_sts_fails(world) -> None:
    world.issuer.fail_next("issue", UpstreamUnavailable("sts refused"))
    with pytest.raises(UpstreamUnavailable):
        open_for(world)
    assert world.sessions.rows == {}


def test_a_session_write_that_fails_leaves_no_row(world) -> None:
    world.sessions.fail_next("create", UpstreamUnavailable("tablestore busy"))
    with pytest.raises(UpstreamUnavailable):
        open_for(world)
    assert world.sessions.rows == {}


def test_a_session_write_that_landed_but_timed_out_is_deleted(world) -> None:
    world.sessions.fail_after("create", UpstreamUnavailable("timed out"))
    with pytest.raises(UpstreamUnavailable):
        open_for(world)
    assert world.sessions.rows == {}


def test_an_unknown_session_is_not_found(world) -> None:
    with pytest.raises(SessionNotFound):
        world.resolver.resolve("A" * 43)


@pytest.mark.parametrize("sid", ["", "short", "A" * 44, "A" * 42 + "!", "ä" * 43])
def test_a_malformed_session_id_is_not_found_without_a_lookup(world, sid: str) -> None:
    with pytest.raises(SessionNotFound):
        world.resolver.resolve(sid)
    assert world.sessions.calls["get"] == 0


def test_a_session_expires_after_its_absolute_lifetime_even_when_active(world) -> None:
    session_id = open_for(world).session_id
    for _ in range(7 * 2 - 1):
        world.clock.advance(12 * 3600)
        world.resolver.resolve(session_id)
    world.clock.advance(12 * 3600)
    with pytest.raises(SessionExpired):
        world.resolver.resolve(session_id)


def test_a_session_expires_after_a_day_idle(world) -> None:
    session_id = open_for(world).session_id
    world.clock.advance(DAY)
    with pytest.raises(SessionExpired):
        world.resolver.resolve(session_id)


def test_a_session_used_just_before_the_idle_timeout_lives_on(world) -> None:
    session_id = open_for(world).session_id
    world.clock.advance(DAY - 1)
    world.resolver.resolve(session_id)
    world.clock.advance(DAY - 1)
    assert world.resolver.resolve(session_id).user_id == ALICE


def test_the_db_function_refuses_an_expired_session_and_leaves_its_row_to_the_ttl(world) -> None:
    # Its role has no DeleteRow on the session table (template.yml, docs/security.md).
    session_id = open_for(world).session_id
    world.clock.advance(DAY)
    for _ in range(2):
        with pytest.raises(SessionExpired):
            world.resolver.resolve(session_id)
    assert len(world.sessions.rows) == 1


def test_activity_is_written_at_most_once_per_tenth_of_the_idle_window(world) -> None:
    session_id = open_for(world).session_id
    for _ in range(10):
        world.clock.advance(TOUCH_EVERY // 12)
        world.resolver.resolve(session_id)
    assert world.sessions.calls["touch"] == 0
    world.clock.advance(TOUCH_EVERY // 5)
    world.resolver.resolve(session_id)
    assert world.sessions.calls["touch"] == 1


def test_refresh_issues_fresh_credentials_for_a_live_session(world) -> None:
    opened = open_for(world)
    refreshed = world.login_service.refresh(opened.session_id)
    assert refreshed.credentials != opened.credentials and refreshed.user_id == ALICE
    assert world.issuer.issued[1][0] == world.issuer.issued[0][0]


def test_refresh_of_an_expired_session_is_refused(world) -> None:
    session_id = open_for(world).session_id
    world.clock.advance(DAY)
    with pytest.raises(SessionExpired):
        world.login_service.refresh(session_id)
    assert len(world.issuer.issued) == 1


def test_logout_deletes_the_session(world) -> None:
    session_id = open_for(world).session_id
    assert world.login_service.logout(session_id) == ALICE
    with pytest.raises(SessionNotFound):
        world.resolver.resolve(session_id)


def test_logging_out_twice_is_not_an_error(world) -> None:
    session_id = open_for(world).session_id
    world.login_service.logout(session_id)
    assert world.login_service.logout(session_id) is None


def test_logout_of_one_session_leaves_the_users_other_sessions(world) -> None:
    first, second = open_for(world).session_id, open_for(world).session_id
    world.login_service.logout(first)
    assert world.resolver.resolve(second).user_id == ALICE


def test_the_ip_limit_is_checked_before_alipay_is_called(world) -> None:
    for _ in range(5):
        open_for(world, user=f"2088{_}")
    code = world.identity.mint(BOB)
    with pytest.raises(RateLimited) as caught:
        world.login_service.open_session(code, IP)
    assert world.identity.calls["exchange_auth_code"] == 5
    assert "from this IP address" in str(caught.value.message)


def test_the_user_limit_counts_logins_of_one_user_from_any_ip(world) -> None:
    for n in range(3):
        open_for(world, ip=f"198.51.100.{n}")
    with pytest.raises(RateLimited) as caught:
        open_for(world, ip="198.51.100.9")
    assert caught.value.retry_after >= 1
    assert "for this user" in str(caught.value.message)
    assert len(world.sessions.rows) == 3 and len(world.issuer.issued) == 3


def test_the_rate_limit_buckets_never_hold_the_raw_user_id(world) -> None:
    open_for(world)
    assert f"ip:{IP}" in world.limiter.hits
    assert not any(ALICE in bucket for bucket in world.limiter.hits)


def test_the_limit_resets_after_its_window(world) -> None:
    for _ in range(3):
        open_for(world)
    world.clock.advance(60)
    assert open_for(world).user_id == ALICE


def test_a_failed_activity_write_does_not_fail_the_request(world) -> None:
    session_id = open_for(world).session_id
    world.clock.advance(TOUCH_EVERY + 1)
    world.sessions.fail_next("touch", UpstreamUnavailable("busy"))
    assert world.resolver.resolve(session_id).user_id == ALICE


def test_a_session_logged_out_while_being_touched_is_not_found(world) -> None:
    session_id = open_for(world).session_id
    world.clock.advance(TOUCH_EVERY + 1)
    world.sessions.fail_next("touch", SessionNotFound())
    with pytest.raises(SessionNotFound):
        world.resolver.resolve(session_id)


TODO = FirstRead("todos", "i1")


def resolve_naming_a_todo(world, session_id: str):
    """`Sessions.resolve` naming one todo as its first read, as the db function does."""
    return world.resolver.resolve(session_id, (TODO,))


def test_a_session_seen_before_is_read_with_its_first_rows_in_one_request(world) -> None:
    world.rows.put_new(Row(ALICE, "i1", {"text": "the row"}), "todos")
    session_id = open_for(world).session_id
    with prefetch.invocation():  # the session's first request on this instance: in turn
        resolve_naming_a_todo(world, session_id)
        assert world.session_items.calls["session_and"] == 0
    reads_before = world.sessions.calls["get"]
    with prefetch.invocation():
        assert resolve_naming_a_todo(world, session_id).user_id == ALICE
        assert world.rows.get(ALICE, "todos", "i1") == Row(ALICE, "i1", {"text": "the row"})
        assert world.rows.get(ALICE, "todos", "i1") is not None  # read again: from the store
    assert world.session_items.calls["session_and"] == 1
    assert world.sessions.calls["get"] == reads_before
    assert world.rows.calls["get"] == 1


def test_rows_read_ahead_are_gone_when_the_invocation_ends(world) -> None:
    session_id = open_for(world).session_id
    world.resolver.resolve(session_id)
    with prefetch.invocation():
        resolve_naming_a_todo(world, session_id)
    world.rows.put_new(Row(ALICE, "i1", {"text": "written later"}), "todos")
    assert world.rows.get(ALICE, "todos", "i1") is not None


def _remembered(world) -> str:
    """A session this instance has resolved once."""
    session_id = open_for(world).session_id
    world.resolver.resolve(session_id)
    return session_id


def test_a_logout_counts_at_once_for_a_remembered_session(world) -> None:
    session_id = _remembered(world)
    world.login_service.logout(session_id)
    with pytest.raises(SessionNotFound):
        resolve_naming_a_todo(world, session_id)
    assert world.session_items.calls["session_and"] == 1
    with pytest.raises(SessionNotFound):
        resolve_naming_a_todo(world, session_id)  # forgotten: read in turn
    assert world.session_items.calls["session_and"] == 1


def test_an_idle_remembered_session_expires_as_before(world) -> None:
    session_id = _remembered(world)
    world.clock.advance(DAY)
    with pytest.raises(SessionExpired):
        resolve_naming_a_todo(world, session_id)


def test_a_malformed_session_id_is_not_found_without_a_read(world) -> None:
    with pytest.raises(SessionNotFound):
        resolve_naming_a_todo(world, "not a session id")
    assert world.session_items.calls["session_and"] == 0 and world.sessions.calls["get"] == 0

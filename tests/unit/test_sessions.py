"""The session lifecycle: open, resolve, expiry (absolute and idle), refresh, logout, and never
half-created."""
from __future__ import annotations

import hashlib
import os
from types import SimpleNamespace

import pytest

from miniapp import prefetch
from miniapp.crypto import TokenCipher, UserHasher
from miniapp.domain.access import DbFunctionRef
from miniapp.domain.records import FirstRead, Row
from miniapp.errors import (
    InvalidAuthCode,
    RateLimited,
    SessionExpired,
    SessionNotFound,
    UpstreamUnavailable,
)
from miniapp.services.identity import Identities
from miniapp.services.login import Login, LoginLimits
from miniapp.services.sessions import SessionLifetime, Sessions

from .conftest import ALICE, BOB, IP
from .fakes import (
    FakeClock,
    FakeIdentity,
    FakeIssuer,
    InMemoryIdentityLinks,
    InMemoryRateLimiter,
    InMemorySessionItems,
    InMemorySessions,
    InMemoryTallies,
)

DAY = 24 * 3600


@pytest.fixture
def kit() -> SimpleNamespace:
    clock = FakeClock()
    store, tallies = InMemorySessions(), InMemoryTallies()
    reader = InMemorySessionItems(store, tallies)
    sessions = Sessions(store, clock, SessionLifetime(absolute_ms=7 * DAY * 1000,
                                                      idle_ms=DAY * 1000, touch_every_ms=60_000),
                        reader)
    identity, issuer, limiter = FakeIdentity(), FakeIssuer(), InMemoryRateLimiter(clock)
    data_key = os.urandom(32)
    login = Login(identity=identity, identities=Identities(InMemoryIdentityLinks(), "test-app"),
                  issuer=issuer, sessions=sessions, limiter=limiter,
                  cipher=TokenCipher(data_key), hasher=UserHasher(b"hash-key"),
                  db_function=DbFunctionRef("cn-hangzhou", "123", "todo", "db"),
                  limits=LoginLimits(per_ip=5, per_user=3, window_seconds=60))
    return SimpleNamespace(clock=clock, store=store, sessions=sessions, identity=identity,
                           reader=reader, rows=tallies.rows,
                           issuer=issuer, limiter=limiter, login=login, data_key=data_key)


def open_for(kit: SimpleNamespace, user: str = ALICE, ip: str = IP):
    return kit.login.open_session(kit.identity.mint(user), ip)


def test_an_opened_session_resolves_to_its_user(kit) -> None:
    opened = open_for(kit)
    assert kit.sessions.resolve(opened.session_id).user_id == ALICE


def test_the_session_id_is_256_bits_of_base64url(kit) -> None:
    session_id = open_for(kit).session_id
    assert len(session_id) == 43 and set(session_id) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_only_the_sha256_of_the_session_id_is_stored(kit) -> None:
    session_id = open_for(kit).session_id
    assert list(kit.store.rows) == [hashlib.sha256(session_id.encode()).hexdigest()]
    assert session_id not in repr(kit.store.rows)


def test_the_alipay_tokens_are_stored_encrypted_under_the_row_key(kit) -> None:
    session_id = open_for(kit).session_id
    record = next(iter(kit.store.rows.values()))
    assert b"access-token-of" not in record.access_token_enc
    assert b"refresh-token-of" not in record.refresh_token_enc
    cipher = TokenCipher(kit.data_key)
    assert cipher.open(record.access_token_enc, record.key) == f"access-token-of-{ALICE}"
    assert cipher.open(record.refresh_token_enc, record.key) == f"refresh-token-of-{ALICE}"
    assert session_id not in str(record)


def test_the_credentials_allow_invoking_the_db_function_only(kit) -> None:
    open_for(kit)
    (name, policy, duration), = kit.issuer.issued
    assert duration == 900
    assert policy["Statement"] == [{
        "Effect": "Allow", "Action": ["fc:InvokeFunction"],
        "Resource": ["acs:fc:cn-hangzhou:123:services/todo/functions/db",
                     "acs:fc:cn-hangzhou:123:services/todo.*/functions/db"]}]


def test_the_role_session_name_never_contains_the_session_id(kit) -> None:
    opened = open_for(kit)
    name = kit.issuer.issued[0][0]
    assert 2 <= len(name) <= 32
    assert not any(opened.session_id[i:i + 6] in name for i in range(len(opened.session_id) - 5))
    assert ALICE not in name


def test_a_replayed_auth_code_creates_no_session(kit) -> None:
    code = kit.identity.mint(ALICE)
    kit.login.open_session(code, IP)
    with pytest.raises(InvalidAuthCode):
        kit.login.open_session(code, IP)
    assert len(kit.store.rows) == 1


def test_a_failed_exchange_creates_no_session_and_issues_nothing(kit) -> None:
    kit.identity.fail_next("exchange_auth_code", UpstreamUnavailable("alipay down"))
    with pytest.raises(UpstreamUnavailable):
        open_for(kit)
    assert kit.store.rows == {} and kit.issuer.issued == []


def test_a_session_is_never_created_when_sts_fails(kit) -> None:
    kit.issuer.fail_next("issue", UpstreamUnavailable("sts refused"))
    with pytest.raises(UpstreamUnavailable):
        open_for(kit)
    assert kit.store.rows == {}


def test_a_session_write_that_fails_leaves_no_row(kit) -> None:
    kit.store.fail_next("create", UpstreamUnavailable("tablestore busy"))
    with pytest.raises(UpstreamUnavailable):
        open_for(kit)
    assert kit.store.rows == {}


def test_a_session_write_that_landed_but_timed_out_is_deleted(kit) -> None:
    kit.store.fail_after("create", UpstreamUnavailable("timed out"))
    with pytest.raises(UpstreamUnavailable):
        open_for(kit)
    assert kit.store.rows == {}


def test_an_unknown_session_is_not_found(kit) -> None:
    with pytest.raises(SessionNotFound):
        kit.sessions.resolve("A" * 43)


@pytest.mark.parametrize("sid", ["", "short", "A" * 44, "A" * 42 + "!", "ä" * 43])
def test_a_malformed_session_id_is_not_found_without_a_lookup(kit, sid: str) -> None:
    with pytest.raises(SessionNotFound):
        kit.sessions.resolve(sid)
    assert kit.store.calls["get"] == 0


def test_a_session_expires_after_its_absolute_lifetime_even_when_active(kit) -> None:
    session_id = open_for(kit).session_id
    for _ in range(7 * 2 - 1):
        kit.clock.advance(12 * 3600)
        kit.sessions.resolve(session_id)
    kit.clock.advance(12 * 3600)
    with pytest.raises(SessionExpired):
        kit.sessions.resolve(session_id)


def test_a_session_expires_after_a_day_idle(kit) -> None:
    session_id = open_for(kit).session_id
    kit.clock.advance(DAY)
    with pytest.raises(SessionExpired):
        kit.sessions.resolve(session_id)


def test_a_session_used_just_before_the_idle_timeout_lives_on(kit) -> None:
    session_id = open_for(kit).session_id
    kit.clock.advance(DAY - 1)
    kit.sessions.resolve(session_id)
    kit.clock.advance(DAY - 1)
    assert kit.sessions.resolve(session_id).user_id == ALICE


def test_an_expired_session_is_deleted_when_found(kit) -> None:
    session_id = open_for(kit).session_id
    kit.clock.advance(DAY)
    with pytest.raises(SessionExpired):
        kit.sessions.resolve(session_id)
    with pytest.raises(SessionNotFound):
        kit.sessions.resolve(session_id)


def test_activity_is_written_at_most_once_a_minute(kit) -> None:
    session_id = open_for(kit).session_id
    for _ in range(10):
        kit.clock.advance(5)
        kit.sessions.resolve(session_id)
    assert kit.store.calls["touch"] == 0
    kit.clock.advance(11)
    kit.sessions.resolve(session_id)
    assert kit.store.calls["touch"] == 1


def test_refresh_issues_fresh_credentials_for_a_live_session(kit) -> None:
    opened = open_for(kit)
    refreshed = kit.login.refresh(opened.session_id)
    assert refreshed.credentials != opened.credentials and refreshed.user_id == ALICE
    assert kit.issuer.issued[1][0] == kit.issuer.issued[0][0]


def test_refresh_of_an_expired_session_is_refused(kit) -> None:
    session_id = open_for(kit).session_id
    kit.clock.advance(DAY)
    with pytest.raises(SessionExpired):
        kit.login.refresh(session_id)
    assert len(kit.issuer.issued) == 1


def test_logout_deletes_the_session(kit) -> None:
    session_id = open_for(kit).session_id
    assert kit.login.logout(session_id) == ALICE
    with pytest.raises(SessionNotFound):
        kit.sessions.resolve(session_id)


def test_logging_out_twice_is_not_an_error(kit) -> None:
    session_id = open_for(kit).session_id
    kit.login.logout(session_id)
    assert kit.login.logout(session_id) is None


def test_logout_of_one_session_leaves_the_users_other_sessions(kit) -> None:
    first, second = open_for(kit).session_id, open_for(kit).session_id
    kit.login.logout(first)
    assert kit.sessions.resolve(second).user_id == ALICE


def test_the_ip_limit_is_checked_before_alipay_is_called(kit) -> None:
    for _ in range(5):
        open_for(kit, user=f"2088{_}")
    code = kit.identity.mint(BOB)
    with pytest.raises(RateLimited) as caught:
        kit.login.open_session(code, IP)
    assert kit.identity.calls["exchange_auth_code"] == 5
    assert "from this IP address" in str(caught.value.message)


def test_the_user_limit_counts_logins_of_one_user_from_any_ip(kit) -> None:
    for n in range(3):
        open_for(kit, ip=f"198.51.100.{n}")
    with pytest.raises(RateLimited) as caught:
        open_for(kit, ip="198.51.100.9")
    assert caught.value.retry_after >= 1
    assert "for this user" in str(caught.value.message)
    assert len(kit.store.rows) == 3 and len(kit.issuer.issued) == 3


def test_the_rate_limit_buckets_never_hold_the_raw_user_id(kit) -> None:
    open_for(kit)
    assert f"ip:{IP}" in kit.limiter.hits
    assert not any(ALICE in bucket for bucket in kit.limiter.hits)


def test_the_limit_resets_after_its_window(kit) -> None:
    for _ in range(3):
        open_for(kit)
    kit.clock.advance(60)
    assert open_for(kit).user_id == ALICE


def test_a_failed_activity_write_does_not_fail_the_request(kit) -> None:
    session_id = open_for(kit).session_id
    kit.clock.advance(120)
    kit.store.fail_next("touch", UpstreamUnavailable("busy"))
    assert kit.sessions.resolve(session_id).user_id == ALICE


def test_a_session_logged_out_while_being_touched_is_not_found(kit) -> None:
    session_id = open_for(kit).session_id
    kit.clock.advance(120)
    kit.store.fail_next("touch", SessionNotFound())
    with pytest.raises(SessionNotFound):
        kit.sessions.resolve(session_id)


TODO = FirstRead("todos", "i1")


def resolve_naming_a_todo(kit, session_id: str):
    """`Sessions.resolve` naming one todo as its first read, as the db function does."""
    return kit.sessions.resolve(session_id, (TODO,))


def test_a_session_seen_before_is_read_with_its_first_rows_in_one_request(kit) -> None:
    kit.rows.put_new(Row(ALICE, "i1", {"text": "the row"}), "todos")
    session_id = open_for(kit).session_id
    with prefetch.invocation():  # the session's first request on this instance: in turn
        resolve_naming_a_todo(kit, session_id)
        assert kit.reader.calls["session_and"] == 0
    reads_before = kit.store.calls["get"]
    with prefetch.invocation():
        assert resolve_naming_a_todo(kit, session_id).user_id == ALICE
        assert kit.rows.get(ALICE, "todos", "i1") == Row(ALICE, "i1", {"text": "the row"})
        assert kit.rows.get(ALICE, "todos", "i1") is not None  # read again: from the store
    assert kit.reader.calls["session_and"] == 1 and kit.store.calls["get"] == reads_before
    assert kit.rows.calls["get"] == 1


def test_rows_read_ahead_are_gone_when_the_invocation_ends(kit) -> None:
    session_id = open_for(kit).session_id
    kit.sessions.resolve(session_id)
    with prefetch.invocation():
        resolve_naming_a_todo(kit, session_id)
    kit.rows.put_new(Row(ALICE, "i1", {"text": "written later"}), "todos")
    assert kit.rows.get(ALICE, "todos", "i1") is not None


def _remembered(kit) -> str:
    """A session this instance has resolved once."""
    session_id = open_for(kit).session_id
    kit.sessions.resolve(session_id)
    return session_id


def test_a_logout_counts_at_once_for_a_remembered_session(kit) -> None:
    session_id = _remembered(kit)
    kit.login.logout(session_id)
    with pytest.raises(SessionNotFound):
        resolve_naming_a_todo(kit, session_id)
    assert kit.reader.calls["session_and"] == 1
    with pytest.raises(SessionNotFound):
        resolve_naming_a_todo(kit, session_id)  # forgotten: read in turn
    assert kit.reader.calls["session_and"] == 1


def test_an_idle_remembered_session_expires_as_before(kit) -> None:
    session_id = _remembered(kit)
    kit.clock.advance(DAY)
    with pytest.raises(SessionExpired):
        resolve_naming_a_todo(kit, session_id)


def test_a_malformed_session_id_is_not_found_without_a_read(kit) -> None:
    with pytest.raises(SessionNotFound):
        resolve_naming_a_todo(kit, "not a session id")
    assert kit.reader.calls["session_and"] == 0 and kit.store.calls["get"] == 0

"""The session function's behaviour per request: routes, statuses, bodies, records."""

from __future__ import annotations

import json

import pytest

from miniapp.errors import UpstreamUnavailable

from .conftest import ALICE, IP, World


def test_post_root_answers_exactly_the_2020_shape(world: World) -> None:
    answer = world.post(
        "/", {"authCode": world.identity.mint(ALICE), "authSuccessScopes": ["auth_base"]}
    )
    assert answer.status == 200
    assert set(answer.body) == {"sessionId", "sts"}
    assert set(answer.body["sts"]) == {
        "AccessKeyId",
        "AccessKeySecret",
        "SecurityToken",
        "Expiration",
    }


def test_answers_are_json_and_never_cached(world: World) -> None:
    headers = dict(world.post("/", {"authCode": world.identity.mint(ALICE)}).headers)
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Cache-Control"] == "no-store"


def test_the_trigger_root_may_come_without_a_slash(world: World) -> None:
    assert world.post("", {"authCode": world.identity.mint(ALICE)}).status == 200


@pytest.mark.parametrize(
    "raw, status, code",
    [
        (b"", 400, "InvalidRequest"),
        (b"not json", 400, "InvalidRequest"),
        (b"[]", 400, "InvalidRequest"),
        (b'{"authCode": 5}', 400, "InvalidRequest"),
        (b'{"authcode": "abc"}', 400, "InvalidRequest"),
        (b'{"authCode": "' + b"a" * 70000 + b'"}', 413, "PayloadTooLarge"),
        (b'{"authCode": "unknown-code"}', 401, "InvalidAuthCode"),
    ],
)
def test_a_bad_login_answers_its_status_and_code(
    world: World, raw: bytes, status: int, code: str
) -> None:
    answer = world.post("/", raw=raw)
    assert (answer.status, answer.body["error"]["code"]) == (status, code)
    assert world.sessions.rows == {}


def test_a_replayed_auth_code_is_401(world: World) -> None:
    code = world.identity.mint(ALICE)
    assert world.post("/", {"authCode": code}).status == 200
    assert world.post("/", {"authCode": code}).body["error"]["code"] == "InvalidAuthCode"


def test_alipay_down_is_503(world: World) -> None:
    world.identity.fail_next("exchange_auth_code", UpstreamUnavailable())
    answer = world.post("/", {"authCode": world.identity.mint(ALICE)})
    assert (answer.status, answer.body["error"]["code"]) == (503, "UpstreamUnavailable")


def test_rate_limited_is_429_with_retry_after(world: World) -> None:
    answers = [world.post("/", {"authCode": world.identity.mint(f"u{n}")}) for n in range(31)]
    assert [a.status for a in answers[:30]] == [200] * 30
    assert answers[30].status == 429 and answers[30].body["error"]["code"] == "RateLimited"
    assert int(dict(answers[30].headers)["Retry-After"]) >= 1


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD"])
def test_other_methods_are_405_with_allow(world: World, method: str) -> None:
    answer = world.post("/", {}, method=method)
    assert answer.status == 405 and dict(answer.headers)["Allow"] == "POST"


def test_an_unknown_path_is_404(world: World) -> None:
    assert world.post("/admin", {}).status == 404


def test_refresh_answers_fresh_credentials(world: World) -> None:
    sid = world.login()
    answer = world.post("/refresh", {"sessionId": sid})
    assert answer.status == 200 and set(answer.body) == {"sts"}


def test_refresh_of_an_expired_session_is_401_session_expired(world: World) -> None:
    sid = world.login()
    world.clock.advance(24 * 3600)
    answer = world.post("/refresh", {"sessionId": sid})
    assert (answer.status, answer.body["error"]["code"]) == (401, "SessionExpired")


def test_refresh_with_extra_fields_is_400(world: World) -> None:
    answer = world.post("/refresh", {"sessionId": world.login(), "userId": ALICE})
    assert answer.status == 400


def test_logout_ends_the_session_for_the_db_function(world: World) -> None:
    sid = world.login()
    assert world.post("/logout/", {"sessionId": sid}).status == 200
    assert world.db({"sid": sid, "op": "list"})["error"]["code"] == "SessionNotFound"


def test_a_bug_is_500_internal_without_details(world: World, capsys) -> None:
    world.identity.fail_next("exchange_auth_code", KeyError("secret-detail"))
    answer = world.post("/", {"authCode": world.identity.mint(ALICE)})
    assert answer.status == 500
    assert answer.body == {"error": {"code": "Internal", "message": "internal error"}}
    err = capsys.readouterr().err
    assert "req-1" in err and "KeyError" in err


def test_one_invocation_record_per_request(world: World) -> None:
    world.login()
    world.post("/", raw=b"junk")
    records = world.sink.of_kind("invocation")
    assert [(r["function"], r["op"], r["outcome"]) for r in records] == [
        ("session", "open", "ok"),
        ("session", "open", "InvalidRequest"),
    ]
    assert all(isinstance(r["latencyMs"], int) and r["requestId"] == "req-1" for r in records)


def test_audit_records_login_refresh_logout_and_failures(world: World) -> None:
    sid = world.login()
    world.post("/refresh", {"sessionId": sid})
    world.post("/logout", {"sessionId": sid})
    world.post("/", {"authCode": "bogus"})
    audit = [(r["event"], r["outcome"]) for r in world.sink.of_kind("audit")]
    assert audit == [
        ("login", "ok"),
        ("refresh", "ok"),
        ("logout", "ok"),
        ("login_failed", "InvalidAuthCode"),
    ]


def test_a_login_failing_after_alipay_is_audited_against_the_user(world: World) -> None:
    world.issuer.fail_next("issue", UpstreamUnavailable())
    world.post("/", {"authCode": world.identity.mint(ALICE)})
    (failed,) = world.sink.of_kind("audit")
    assert failed["event"] == "login_failed" and failed["userHash"] and failed["clientIp"] == IP


def test_no_record_holds_a_session_id_auth_code_token_or_user_id(world: World) -> None:
    code = world.identity.mint(ALICE)
    answer = world.post("/", {"authCode": code})
    sid, sts = answer.body["sessionId"], answer.body["sts"]
    world.post("/refresh", {"sessionId": sid})
    world.db({"v": 2, "sid": sid, "op": "add", "text": "TOP-SECRET-TODO"})
    world.post("/logout", {"sessionId": sid})
    logged = json.dumps(world.sink.records)
    for secret in (
        sid,
        code,
        sts["AccessKeySecret"],
        sts["SecurityToken"],
        ALICE,
        "access-token-of",
        "refresh-token-of",
        "TOP-SECRET-TODO",
    ):
        assert secret not in logged


def test_a_broken_log_sink_changes_nothing_for_the_client(capsys) -> None:
    from .fakes import BrokenSink

    world = World(sink=BrokenSink())
    assert world.post("/", {"authCode": world.identity.mint(ALICE)}).status == 200
    assert "log sink failed" in capsys.readouterr().err

"""Validation of the session function's bodies."""

from __future__ import annotations

import pytest

from miniapp.entrypoints.session_requests import parse_auth_code_request, parse_session_request
from miniapp.errors import InvalidRequest


def test_the_my_get_auth_code_result_is_accepted_with_its_other_fields() -> None:
    body = {
        "authCode": "4b203fe6c11548bcabd8da5bb087a83b",
        "authSuccessScopes": ["auth_base"],
        "authErrorScopes": {"scope.userInfo": "40006"},
    }
    assert parse_auth_code_request(body).auth_code == "4b203fe6c11548bcabd8da5bb087a83b"


@pytest.mark.parametrize(
    "body, why",
    [
        ({}, "no authCode"),
        ({"authCode": None}, "null"),
        ({"authCode": 123}, "a number"),
        ({"authCode": ""}, "empty"),
        ({"authCode": "a b"}, "a space"),
        ({"authCode": "x" * 257}, "too long"),
        ({"authCode": "código"}, "non-ASCII"),
        ({"authCode": "a\nb"}, "a newline"),
    ],
)
def test_a_bad_auth_code_is_invalid_request(body: dict, why: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_auth_code_request(body)


def test_a_session_request_takes_the_session_id() -> None:
    assert parse_session_request({"sessionId": "abc"}).session_id == "abc"


@pytest.mark.parametrize(
    "body", [{}, {"sessionId": 1}, {"sessionId": None}, {"sessionId": "abc", "userId": "2088"}]
)
def test_a_bad_session_request_is_invalid_request(body: dict) -> None:
    with pytest.raises(InvalidRequest):
        parse_session_request(body)


def test_requests_never_show_their_secret_in_a_repr() -> None:
    assert "4b20" not in repr(parse_auth_code_request({"authCode": "4b203fe6"}))
    assert "abc" not in repr(parse_session_request({"sessionId": "abc"}))

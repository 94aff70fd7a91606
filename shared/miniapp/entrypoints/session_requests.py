"""The session function's request bodies, validated. No I/O.

`POST /` takes the object `my.getAuthCode` resolved with, as the 2020 client sends it:
`{"authCode": "...", "authSuccessScopes": [...], ...}`. Only `authCode` is read; the other fields
of that result (`authSuccessScopes`, `authErrorScopes`, ...) vary between Alipay app versions and
are ignored rather than rejected, so a client upgrade can never break login.
`POST /refresh` and `POST /logout` take exactly `{"sessionId": "..."}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.limits import AUTH_CODE_MAX_CHARS
from .fields import matching, reject_unknown, required_str

# Auth codes are opaque to us; today they are 32 hex digits. Allow any visible ASCII so a format
# change at Alipay does not lock users out, but nothing that could smuggle spaces or controls.
AUTH_CODE = re.compile(rf"[\x21-\x7e]{{1,{AUTH_CODE_MAX_CHARS}}}")


@dataclass(frozen=True)
class AuthCodeRequest:
    """A login: the authCode the mini program got from Alipay."""

    auth_code: str

    def __repr__(self) -> str:  # never let the code reach a log through a repr
        return "AuthCodeRequest(auth_code=<redacted>)"


@dataclass(frozen=True)
class SessionRequest:
    """A refresh or logout: the session it names."""

    session_id: str

    def __repr__(self) -> str:
        return "SessionRequest(session_id=<redacted>)"


def parse_auth_code_request(body: Mapping[str, Any]) -> AuthCodeRequest:
    code = required_str(body, "authCode")
    matching(code, "authCode", AUTH_CODE, f"1 to {AUTH_CODE_MAX_CHARS} visible ASCII characters")
    return AuthCodeRequest(code)


def parse_session_request(body: Mapping[str, Any]) -> SessionRequest:
    reject_unknown(body, {"sessionId"}, "this request")
    return SessionRequest(required_str(body, "sessionId"))

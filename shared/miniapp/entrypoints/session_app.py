"""The session function's behaviour for one HTTP request, independent of WSGI: routes, statuses,
answer bodies, the invocation record and the audit records.

    POST /          open a session from the my.getAuthCode result (2020 and v2)
    POST /refresh   fresh STS credentials for a live session
    POST /logout    end the session
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import MethodNotAllowed, MiniAppError, NotFound, RateLimited
from ..services.failures import report_bug
from ..services.login import Login
from ..services.telemetry import Telemetry
from .json_body import parse_json_object
from .session_requests import parse_auth_code_request, parse_session_request

_ROUTES = {"": "open", "/refresh": "refresh", "/logout": "logout"}
_JSON = ("Content-Type", "application/json; charset=utf-8")
# Credentials must not sit in a shared cache.
_NO_STORE = ("Cache-Control", "no-store")


@dataclass(frozen=True)
class HttpAnswer:
    """The session function's HTTP answer: status, JSON body, headers."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = field(default=(_JSON, _NO_STORE))


def _error_answer(error: MiniAppError) -> HttpAnswer:
    headers: tuple[tuple[str, str], ...] = (_JSON, _NO_STORE)
    if isinstance(error, RateLimited):
        headers += (("Retry-After", str(error.retry_after)),)
    if isinstance(error, MethodNotAllowed):
        headers += (("Allow", "POST"),)
    return HttpAnswer(error.http_status, error.to_body(), headers)


class SessionApp:
    def __init__(
        self,
        login: Login,
        telemetry: Telemetry,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.login = login
        self._telemetry = telemetry
        self._timer = timer

    def handle(
        self, *, method: str, path: str, body: bytes, client_ip: str, request_id: str
    ) -> HttpAnswer:
        started = self._timer()
        op = _ROUTES.get(path.rstrip("/"), "unknown")
        user: list[str] = []  # filled as soon as the user is known, for the records
        try:
            answer = self._route(op, method, body, client_ip, request_id, user)
        except MiniAppError as error:
            answer = _error_answer(error)
            self._audit_failure(op, error.code, request_id, client_ip, user)
        except Exception as exc:  # noqa: BLE001 - a bug: Internal, details to stderr only
            bug = report_bug(exc, request_id)
            answer = _error_answer(bug)
            self._audit_failure(op, bug.code, request_id, client_ip, user)
        outcome = "ok" if answer.status == 200 else str(answer.body["error"]["code"])
        self._telemetry.invocation(
            request_id=request_id,
            function="session",
            protocol="",
            op=op,
            outcome=outcome,
            latency_ms=round((self._timer() - started) * 1000),
            user_id=user[0] if user else None,
        )
        return answer

    def _route(
        self, op: str, method: str, body: bytes, client_ip: str, request_id: str, user: list[str]
    ) -> HttpAnswer:
        if op == "unknown":
            raise NotFound("no such endpoint: POST to /, /refresh or /logout")
        if method.upper() != "POST":
            raise MethodNotAllowed()
        fields = parse_json_object(body)
        if op == "open":
            request = parse_auth_code_request(fields)
            opened = self.login.open_session(
                request.auth_code, client_ip, on_identified=user.append
            )
            self._telemetry.audit(
                request_id=request_id,
                event="login",
                outcome="ok",
                user_id=opened.user_id,
                client_ip=client_ip,
            )
            # Exactly the 2020 answer: existing clients read these two keys.
            return HttpAnswer(
                200, {"sessionId": opened.session_id, "sts": opened.credentials.to_wire()}
            )
        session_id = parse_session_request(fields).session_id
        if op == "refresh":
            refreshed = self.login.refresh(session_id, on_identified=user.append)
            self._telemetry.audit(
                request_id=request_id, event="refresh", outcome="ok", user_id=refreshed.user_id
            )
            return HttpAnswer(200, {"sts": refreshed.credentials.to_wire()})
        ended = self.login.logout(session_id)
        if ended is not None:
            user.append(ended)
        self._telemetry.audit(
            request_id=request_id,
            event="logout",
            outcome="ok" if ended is not None else "SessionNotFound",
            user_id=ended,
        )
        return HttpAnswer(200, {"ok": True})

    def _audit_failure(
        self, op: str, code: str, request_id: str, client_ip: str, user: list[str]
    ) -> None:
        if code == MethodNotAllowed.code:
            return  # a probe or a browser, not a login attempt
        user_id = user[0] if user else None
        if op == "open":
            self._telemetry.audit(
                request_id=request_id,
                event="login_failed",
                outcome=code,
                user_id=user_id,
                client_ip=client_ip,
            )
        elif op in ("refresh", "logout"):
            self._telemetry.audit(request_id=request_id, event=op, outcome=code, user_id=user_id)

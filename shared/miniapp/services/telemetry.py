"""Structured records for the LogSink: one per invocation, plus audit records for logins,
refreshes and logouts. What a record may hold is fixed here, field by field: the user appears only
as a keyed hash, and there is no field for a sessionId, auth code, token or todo content, so none
can leak by accident. A sink that raises (it must not, but adapters have bugs) is ignored: logging
never fails a request.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from ..ports import Clock, LogSink

AUDIT_EVENTS = ("login", "login_failed", "refresh", "logout")


class Telemetry:
    def __init__(self, sink: LogSink, clock: Clock, user_hash: Callable[[str], str]) -> None:
        self._sink = sink
        self._clock = clock
        self._user_hash = user_hash

    def invocation(
        self,
        *,
        request_id: str,
        function: str,
        protocol: str,
        op: str,
        outcome: str,
        latency_ms: int,
        user_id: str | None,
    ) -> None:
        self._emit(
            {
                "kind": "invocation",
                "time": self._clock.now_ms(),
                "requestId": request_id,
                "function": function,
                "protocol": protocol,
                "op": op,
                "outcome": outcome,
                "latencyMs": max(0, int(latency_ms)),
                "userHash": self._hash(user_id),
            }
        )

    def audit(
        self, *, request_id: str, event: str, outcome: str, user_id: str | None, client_ip: str = ""
    ) -> None:
        """`client_ip` is recorded for logins only: it is what an operator needs to see a bot."""
        if event not in AUDIT_EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        self._emit(
            {
                "kind": "audit",
                "time": self._clock.now_ms(),
                "requestId": request_id,
                "event": event,
                "outcome": outcome,
                "userHash": self._hash(user_id),
                "clientIp": client_ip,
            }
        )

    def user_hash(self, user_id: str | None) -> str:
        return self._hash(user_id)

    def _hash(self, user_id: str | None) -> str:
        return "" if user_id is None else self._user_hash(user_id)

    def _emit(self, record: dict[str, object]) -> None:
        try:
            self._sink.emit(record)
        except Exception as exc:  # noqa: BLE001 - a broken sink must not fail the request
            self._complain(exc)

    @staticmethod
    def _complain(exc: Exception) -> None:
        try:
            print(f"log sink failed: {type(exc).__name__}", file=sys.stderr)
        except Exception:  # noqa: BLE001 - not even stderr may fail the request
            pass

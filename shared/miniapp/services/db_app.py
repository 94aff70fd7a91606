"""The db function's behaviour for one event, independent of FC: validate, resolve the caller from
`sid` (and from nothing else), run the operation, answer `{"data": ...}` or `{"error": {...}}`.
Errors are answers, never exceptions: an exception would reach the client as FC's
UnhandledInvocationError with a stack trace."""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ..domain import db_events as ev
from ..domain.json_body import parse_json_object
from ..errors import MiniAppError
from .compat import Compat
from .failures import report_bug
from .sessions import Sessions
from .telemetry import Telemetry
from .todos import Todos


class DbApp:
    def __init__(
        self,
        sessions: Sessions,
        todos: Todos,
        compat: Compat,
        telemetry: Telemetry,
        timer: Callable[[], float] = time.monotonic,
        log_flush_seconds: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._todos = todos
        self._compat = compat
        self._telemetry = telemetry
        self._timer = timer
        self._log_flush_seconds = log_flush_seconds

    def handle(self, event: bytes, request_id: str) -> dict[str, Any]:
        started = self._timer()
        fields: Mapping[str, Any] | None = None
        user_id: str | None = None
        try:
            fields = parse_json_object(event)
            command = ev.parse_db_event(fields)
            user_id = self._sessions.resolve(command.sid).user_id
            answer: dict[str, Any] = {"data": self._run(command, user_id)}
            outcome = "ok"
        except MiniAppError as error:
            answer, outcome = error.to_body(), error.code
        except Exception as exc:  # noqa: BLE001 - a bug: Internal, details to stderr only
            bug = report_bug(exc, request_id)
            answer, outcome = bug.to_body(), bug.code
        protocol, op = ev.op_label(fields)
        self._telemetry.invocation(
            request_id=request_id, function="db", protocol=protocol, op=op, outcome=outcome,
            latency_ms=round((self._timer() - started) * 1000), user_id=user_id)
        self._telemetry.flush(self._log_flush_seconds)
        return answer

    def _run(self, command: ev.DbCommand, user_id: str) -> Any:
        todos, compat = self._todos, self._compat
        if isinstance(command, ev.AddTodo):
            return todos.add(user_id, command.text, command.completed,
                             command.idempotency_key).to_wire()
        if isinstance(command, ev.UpdateTodo):
            return todos.update(user_id, command.id, command.expected_version,
                                text=command.text, completed=command.completed).to_wire()
        if isinstance(command, ev.GetTodo):
            return todos.get(user_id, command.id).to_wire()
        if isinstance(command, ev.ListTodos):
            return todos.list(user_id, command.limit, command.start_after).to_wire()
        if isinstance(command, ev.RemoveTodo):
            todos.remove(user_id, command.id)
            return None
        if isinstance(command, ev.CompatPut):
            compat.put(user_id, command.obj)
            return None
        if isinstance(command, ev.CompatGet):
            return compat.get(user_id, command.id)
        if isinstance(command, ev.CompatList):
            return compat.list(user_id)
        if isinstance(command, ev.CompatRemove):
            compat.remove(user_id, command.id)
            return None
        raise TypeError(f"no handler for {type(command).__name__}")

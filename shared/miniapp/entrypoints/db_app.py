"""The db function's behaviour for one event, independent of FC: find the command in the registry
and validate the event, resolve the caller from `sid` (and from nothing else), reading the
command's first rows with the session row when it can (`prefetch`), run the command, answer
`{"data": ...}` or `{"error": {...}}`. Errors are answers, never exceptions: an exception would
reach the client as FC's UnhandledInvocationError with a stack trace."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import prefetch
from ..errors import MiniAppError
from ..services.collection import CollectionService
from ..services.compat import Compat
from ..services.failures import report_bug
from ..services.sessions import Sessions
from ..services.telemetry import Telemetry
from .json_body import parse_json_object
from .registry import Parsed, Registry


@dataclass(frozen=True)
class DbServices:
    """What the commands run against: the 2020 rows, one service per declared collection, and
    the file operations of each file collection."""

    compat: Compat
    collections: Mapping[str, CollectionService]
    files: Mapping[str, Any] = field(default_factory=dict)  # name -> services.files.FileService


class DbApp:
    def __init__(
        self,
        sessions: Sessions,
        services: DbServices,
        registry: Registry,
        telemetry: Telemetry,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.services = services
        self.registry = registry
        self._telemetry = telemetry
        self._timer = timer

    def handle(self, event: bytes, request_id: str) -> dict[str, Any]:
        started = self._timer()
        fields: Mapping[str, Any] | None = None
        parsed: Parsed | None = None
        user_id: str | None = None
        try:
            fields = parse_json_object(event)
            parsed = self.registry.parse(fields)
            with prefetch.invocation():
                record = self.sessions.resolve(parsed.sid, parsed.command.first_reads(parsed.args))
                user_id = record.user_id
                prefetch.keep_caller(record)
                data = parsed.command.run(self.services, user_id, parsed.args)
            answer: dict[str, Any] = {"data": data}
            outcome = "ok"
        except MiniAppError as error:
            answer, outcome = error.to_body(), error.code
        except Exception as exc:  # noqa: BLE001 - a bug: Internal, details to stderr only
            bug = report_bug(exc, request_id)
            answer, outcome = bug.to_body(), bug.code
        protocol, op = self.registry.label(fields) if parsed is None else parsed.label
        self._telemetry.invocation(
            request_id=request_id,
            function="db",
            protocol=protocol,
            op=op,
            outcome=outcome,
            latency_ms=round((self._timer() - started) * 1000),
            user_id=user_id,
        )
        return answer

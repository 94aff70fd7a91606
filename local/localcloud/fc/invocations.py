"""What the developer watches: one `Invocation` per request a function ran (time, function, op,
outcome, latency, cold or warm), kept in a bounded `InvocationLog` for the console and handed to
listeners as it happens (`make dev` prints one line each).

Reading `op` and the outcome code from the request and reply is a convenience of the local
cloud, not something FC records: `op` is the event's `"op"` (the db protocol), `timer NAME` for
a timer trigger's event or, for an HTTP trigger, the method and path; the outcome is the
project's error code when the reply is `{"error": {"code": ...}}`, else "ok" (and the HTTP status
for triggers).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger("localcloud.fc")

KEEP = 1000  # invocations remembered (all functions together)
_MAX_FIELD = 40


@dataclass(frozen=True)
class Invocation:
    time: float  # wall clock, seconds since the epoch, when the reply was ready
    service: str
    function: str
    request_id: str
    op: str
    outcome: str
    latency_ms: float
    cold: bool
    collection: str = ""  # the db protocol's collection, when the event is a v2 one

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self, stack: str | None = None) -> str:
        """The terminal line `make dev` prints: the function (after its stack's name, for a
        stack other than make dev's own `local`), the collection and op, outcome, latency."""
        clock = time.strftime("%H:%M:%S", time.localtime(self.time))
        who = self.function if stack in (None, "local") else f"{stack}/{self.function}"
        what = f"{self.collection}.{self.op}" if self.collection else self.op
        return (
            f"{clock}  {who:<10} {what:<16} {self.outcome:<22} "
            f"{self.latency_ms:>7.0f} ms  {'cold' if self.cold else 'warm'}"
        )


Listener = Callable[[Invocation], None]


class InvocationLog:
    def __init__(self, keep: int = KEEP) -> None:
        self._items: deque[Invocation] = deque(maxlen=keep)
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def add(self, invocation: Invocation) -> None:
        with self._lock:
            self._items.append(invocation)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(invocation)
            except Exception:  # a broken listener must not fail the invocation
                log.exception("invocation listener failed")

    def recent(self, function: str | None = None, limit: int = 100) -> list[Invocation]:
        """Newest first."""
        with self._lock:
            items = list(self._items)
        picked = [i for i in reversed(items) if function is None or i.function == function]
        return picked[:limit]

    def last(self, function: str) -> Invocation | None:
        found = self.recent(function, limit=1)
        return found[0] if found else None


def op_of(message: dict[str, Any], event: bytes) -> str:
    if message.get("op") == "http":
        environ = message.get("environ") or {}
        return _short(f"{environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO') or '/'}")
    data = _event_object(event)
    if set(data) == {"triggerTime", "triggerName", "payload"}:
        return _short(f"timer {data['triggerName']}")  # FC's timer event
    op = data.get("op")
    return _short(op) if isinstance(op, str) and op else "-"


def collection_of(message: dict[str, Any], event: bytes) -> str:
    """A v2 event's collection: the one it names, else `todos` (the protocol's default,
    docs/api.md); "" for any other event."""
    if message.get("op") == "http":
        return ""
    data = _event_object(event)
    if data.get("v") != 2 or isinstance(data.get("v"), bool):
        return ""
    collection = data.get("collection", "todos")
    return _short(collection) if isinstance(collection, str) and collection else "?"


def _event_object(event: bytes) -> dict[str, Any]:
    try:
        data = json.loads(event)
    except (ValueError, RecursionError):  # any bytes may come: the function judges them, not us
        return {}
    return data if isinstance(data, dict) else {}


def outcome_of(error: dict[str, Any] | None, body: bytes, status: str | None) -> str:
    if error is not None:
        return _short(f"unhandled {error.get('errorType') or 'error'}")
    code = _error_code(body)
    if status is not None:
        number = status.split(" ", 1)[0]
        return _short(f"{number} {code}" if code else number)
    return _short(code or "ok")


def _error_code(body: bytes) -> str | None:
    if not body.startswith(b"{") or len(body) > 65536:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    error = data.get("error") if isinstance(data, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _short(text: str) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= _MAX_FIELD else text[: _MAX_FIELD - 1] + "…"

"""Clocks. Expiry and TTL rules read an injectable clock so tests can move time forward; protocol
date headers (which the SDKs check against their own wall clock) always use real time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ShiftableClock:
    """Real time plus an offset that tests may advance (never rewind). Subscribers are called
    after each advance, in the advancing thread (the scheduler runs what became due)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._subscribers.append(callback)

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._offset += seconds
            subscribers = list(self._subscribers)
        for callback in subscribers:
            callback()

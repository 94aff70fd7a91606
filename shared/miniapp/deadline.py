"""One deadline per invocation, shared by every upstream call the invocation makes.

Why: each adapter's own limit (Alipay 5 s, STS 5 s, each Tablestore call 3 s plus its retries)
could add up past the function's timeout, and FC would then kill the function and answer
`UnhandledInvocationError`, possibly after a session row was written whose id the client never
got. So the handler opens an invocation with FC's timeout (`invocation`), which keeps back
`RESERVE_SECONDS` for answering; every upstream call asks `budget(...)` for its timeout, which is
its own limit or what is left, whichever is less; and a call that would start with less than
`MIN_CALL_SECONDS` left is not started: it raises `UpstreamUnavailable`, which the client gets as a
typed 503 well inside the timeout.

The deadline is ambient (a context variable) rather than a parameter of every port: the SDKs
take no per-call deadline either, and the adapters are where their timeouts are set. Without an
open invocation (unit tests, scripts) there is no deadline and every call keeps its own limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from .errors import UpstreamUnavailable

# Kept back from FC's timeout: `CLEANUP_SECONDS` to undo a write that failed ambiguously, and
# slack for rendering the answer, scheduling and FC's own overhead.
RESERVE_SECONDS = 2.5
# Given back to a cleanup (deleting a session row that must not outlive a failed login) when the
# deadline has passed; always inside the reserve.
CLEANUP_SECONDS = 0.5
# An upstream call is not started with less than this left: it could not finish anyway.
MIN_CALL_SECONDS = 0.2

Clock = Callable[[], float]


@dataclass(frozen=True)
class Deadline:
    """The moment, on `clock`, by which the invocation must have answered."""

    at: float  # on `clock`
    clock: Clock = time.monotonic

    def remaining(self) -> float:
        return self.at - self.clock()

    def shifted(self, seconds: float) -> Deadline:
        return Deadline(self.at + seconds, self.clock)


_current: ContextVar[Deadline | None] = ContextVar("miniapp_deadline", default=None)


def current() -> Deadline | None:
    return _current.get()


@contextmanager
def invocation(
    timeout_seconds: float, *, reserve: float = RESERVE_SECONDS, clock: Clock = time.monotonic
) -> Iterator[Deadline | None]:
    """The deadline of one invocation whose function times out after `timeout_seconds` (FC's
    context `function.timeout`), counted from now. A timeout of 0 (unknown) sets none."""
    deadline = Deadline(clock() + timeout_seconds - reserve, clock) if timeout_seconds > 0 else None
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


@contextmanager
def _replaced(deadline: Deadline | None) -> Iterator[None]:
    token = _current.set(deadline)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def keeping_back(seconds: float) -> Iterator[None]:
    """Run a step with `seconds` less than what remains, so they are still there after it (for
    the cleanup of a write that failed)."""
    deadline = current()
    with _replaced(None if deadline is None else deadline.shifted(-seconds)):
        yield


@contextmanager
def cleanup() -> Iterator[None]:
    """Run a cleanup with at least `CLEANUP_SECONDS` taken from the reserve, even if the deadline
    has passed: leaving a half-done write behind is worse than answering a little later."""
    deadline = current()
    if deadline is None or deadline.remaining() >= CLEANUP_SECONDS:
        yield
        return
    with _replaced(Deadline(deadline.clock() + CLEANUP_SECONDS, deadline.clock)):
        yield


def remaining() -> float | None:
    """Seconds left in this invocation; None when there is no deadline."""
    deadline = current()
    return None if deadline is None else deadline.remaining()


def require(what: str) -> None:
    """UpstreamUnavailable when too little is left to start a call to `what`."""
    left = remaining()
    if left is not None and left < MIN_CALL_SECONDS:
        raise UpstreamUnavailable(f"{what}: no time left in the function's timeout")


def budget(what: str, limit: float) -> float:
    """The timeout for the next call to `what`: `limit`, or what is left if that is less.
    UpstreamUnavailable when too little is left to start it."""
    require(what)
    left = remaining()
    return limit if left is None else min(limit, left)


def expired() -> bool:
    left = remaining()
    return left is not None and left <= 0

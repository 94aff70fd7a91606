"""One Tablestore call, with its errors translated: the only place the adapters meet SDK exceptions.

OTSConditionCheckFail                        -> ConditionFailed (the adapter decides what it means)
throttling, 5xx, network (after the retries) -> UpstreamUnavailable (code in the message)
too little left of the invocation's deadline -> UpstreamUnavailable (see `miniapp.deadline`)
a 2xx answer that fails the SDK's checks     -> UpstreamUnavailable
anything else (bad parameters, auth, a table that does not exist, our bugs) -> Internal
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from tablestore.error import OTSClientError, OTSServiceError

from ... import deadline
from ...errors import Internal, MiniAppError, UpstreamUnavailable
from .client import attempt, is_transient

log = logging.getLogger("miniapp.adapters.tablestore")
T = TypeVar("T")

CONDITION_CHECK_FAIL = "OTSConditionCheckFail"


class ConditionFailed(Exception):
    """The row did not meet the request's condition. Never leaves the adapter package.

    `maybe_ours` is True when the request was re-sent after an unknown outcome: then the first
    send may have been applied, and the condition failed on our own write."""

    def __init__(self, maybe_ours: bool) -> None:
        super().__init__("condition check failed")
        self.maybe_ours = maybe_ours


def run(what: str, call: Callable[[], T], *, idempotent: bool = False) -> T:
    """Run `call` (one SDK request). `idempotent` lets the retry policy re-send a write whose
    outcome is unknown; reads are always re-sent."""
    deadline.require(f"Tablestore {what}")
    with attempt(idempotent) as state:
        try:
            return call()
        except OTSServiceError as exc:
            if exc.code == CONDITION_CHECK_FAIL:
                raise ConditionFailed(state.retried_after_unknown) from None
            raise translate(what, exc) from exc
        except OTSClientError as exc:
            raise translate(what, exc) from exc
        except MiniAppError:
            raise
        except Exception as exc:  # our bug in building the request; never an SDK error escaping
            log.error("tablestore %s: unexpected %s", what, type(exc).__name__)
            raise Internal() from exc


def translate(what: str, exc: OTSServiceError | OTSClientError) -> MiniAppError:
    if isinstance(exc, OTSServiceError):
        if is_transient(exc.code, exc.http_status):
            log.warning("tablestore %s failed after retries: %s", what, exc.code)
            return UpstreamUnavailable(f"Tablestore {what} failed: {exc.code}")
        log.error("tablestore %s refused: %s %s", what, exc.code, exc.message)
        return Internal()
    if exc.http_status is not None:
        # The service answered, but without the headers, checksum or signature the SDK requires.
        log.warning("tablestore %s: unverifiable answer (HTTP %s)", what, exc.http_status)
        return UpstreamUnavailable(f"Tablestore {what} failed: unverifiable answer")
    log.error("tablestore %s: client error %s", what, exc.message)
    return Internal()

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
from typing import Any, TypeVar

from tablestore import BatchWriteRowRequest, TableInBatchWriteRowItem
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
    return _run(what, call, idempotent)[0]


def _run(what: str, call: Callable[[], T], idempotent: bool) -> tuple[T, bool]:
    """`run`, and whether the request was re-sent after an unknown outcome."""
    deadline.require(f"Tablestore {what}")
    with attempt(idempotent) as state:
        try:
            return call(), state.retried_after_unknown
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


RowOutcome = ConditionFailed | MiniAppError | None


def write_batch(
    what: str, client: Any, rows: list[tuple[str, Any]], *, idempotent: bool = False
) -> list[RowOutcome]:
    """Send `rows` ((table, SDK PutRowItem / UpdateRowItem / DeleteRowItem)) in one
    BatchWriteRow and answer each row's outcome, in order: None (applied), ConditionFailed (its
    condition did not hold; `maybe_ours` after a re-send), or the error it failed with.

    Tablestore applies the rows of a batch one by one, not atomically: each has its own outcome,
    and the caller must decide what a mixed answer means. A failure of the whole request (after
    the retries) raises as `run` does: then no row's outcome is known."""
    by_table: dict[str, list[Any]] = {}
    places = []
    for table, item in rows:
        places.append((table, len(by_table.setdefault(table, []))))
        by_table[table].append(item)
    request = BatchWriteRowRequest()
    for table, items in by_table.items():
        request.add(TableInBatchWriteRowItem(table, items))
    response, resent = _run(what, lambda: client.batch_write_row(request), idempotent)
    answered: dict[tuple[str, int], Any] = {}
    for kind in (response.table_of_put, response.table_of_update, response.table_of_delete):
        for table, results in kind.items():
            for result in results:
                answered[(table, result.index)] = result
    outcomes: list[RowOutcome] = []
    for place in places:
        result = answered.get(place)
        if result is None:
            outcomes.append(UpstreamUnavailable(f"Tablestore {what} failed: incomplete answer"))
        elif result.is_ok:
            outcomes.append(None)
        elif result.error_code == CONDITION_CHECK_FAIL:
            outcomes.append(ConditionFailed(resent))
        elif is_transient(result.error_code, None):
            log.warning("tablestore %s: a row failed: %s", what, result.error_code)
            outcomes.append(UpstreamUnavailable(f"Tablestore {what} failed: {result.error_code}"))
        else:
            log.error(
                "tablestore %s: a row was refused: %s %s",
                what,
                result.error_code,
                result.error_message,
            )
            outcomes.append(Internal())
    return outcomes


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


def deleted(outcome: RowOutcome) -> bool | None | MiniAppError:
    """A conditional (EXPECT_EXIST) delete's row outcome as the ports answer a delete: True (it
    deleted the row), False (there was none), None (gone, but a re-send cannot say by whom), or
    the error it failed with."""
    if isinstance(outcome, ConditionFailed):
        return None if outcome.maybe_ours else False
    return True if outcome is None else outcome

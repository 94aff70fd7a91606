"""Counters and claims that keep the service honest under concurrency: the key of the 2020 rows'
tally (tally.py, scopes.py), idempotency keys (IdempotencyStore) and fixed-window rate limits
(RateLimiter).

All three use tables with primary key (`key` STRING) and one row per guarded thing:

    usage table (no TTL: the count must outlive any idle period)
        usage#<uid>                   count, rev, m<marker> INTEGER (the 2020 tally, tally.py)
    guard table (TTL, e.g. 1 day: claims and windows are only needed briefly)
        idem#<uid>#<idempotency key>  item_id STRING
        rl#<bucket>#<window start>    count INTEGER

Each part is written length-prefixed (`5:alice`), so no value, whatever characters it holds, can
produce another user's key. Atomicity comes from Tablestore's conditional writes, never from a
read-then-write: an INCREMENT guarded by `count < limit` cannot pass the limit however many
requests race. (The Python SDK cannot ask UpdateRow for the row after the change, so the limit
goes into the condition instead of being checked on a returned count.)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

from tablestore import (
    ComparatorType,
    Condition,
    Row,
    RowExistenceExpectation,
    SingleColumnCondition,
    UpdateRowItem,
)

from ...domain.records import RateLimit
from ...errors import Conflict, MiniAppError, RateLimited
from ...ports import Clock
from ..clock import SystemClock
from .calls import ConditionFailed, run, write_batch

MAX_KEY_BYTES = 1024  # Tablestore's limit for a STRING primary key column
COUNT = "count"


def guard_key(kind: str, *parts: str) -> str:
    body = "#".join(f"{len(part)}:{part}" for part in parts)
    key = f"{kind}#{body}"
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        key = f"{kind}#sha256:{hashlib.sha256(body.encode('utf-8')).hexdigest()}"
    return key


def _pk(key: str) -> list[tuple[str, str]]:
    return [("key", key)]


def usage_pk(user_id: str) -> list[tuple[str, str]]:
    """The key of a user's 2020 tally in the usage table."""
    return _pk(guard_key("usage", user_id))


def _increment_below(key: str, limit: int) -> tuple[Row, Condition]:
    """count += 1 if count < limit (a missing row or column counts as 0), as a row and its
    condition. Not idempotent: a re-sent increment counts twice, so only refused requests are
    retried."""
    row = Row(_pk(key), {"increment": [(COUNT, 1)]})
    condition = Condition(
        RowExistenceExpectation.IGNORE,
        SingleColumnCondition(COUNT, int(limit), ComparatorType.LESS_THAN, pass_if_missing=True),
    )
    return row, condition


def _bounded_increment(client: Any, table: str, key: str, limit: int, what: str) -> None:
    """`_increment_below` in one UpdateRow; ConditionFailed if the count was at the limit."""
    row, condition = _increment_below(key, limit)
    run(what, lambda: client.update_row(table, row, condition))


class TablestoreIdempotency:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def claim(self, user_id: str, key: str, item_id: str) -> str:
        pk = _pk(guard_key("idem", user_id, key))
        row = Row(pk, [("item_id", item_id)])
        condition = Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)
        for _ in range(3):
            try:
                # Safe to re-send: a replay fails the condition and reads back our own id.
                run(
                    "idempotency claim",
                    lambda: self._client.put_row(self._table, row, condition),
                    idempotent=True,
                )
                return item_id
            except ConditionFailed:
                bound = self._bound(pk)
                if bound is not None:
                    return bound
                # The claim expired between our put and our read: claim again.
        raise Conflict("idempotency key is being claimed concurrently")

    def _bound(self, pk: list[tuple[str, str]]) -> str | None:
        _, row, _ = run(
            "idempotency read",
            lambda: self._client.get_row(
                self._table, pk, columns_to_get=["item_id"], max_version=1
            ),
        )
        if row is None:
            return None
        for cell in row.attribute_columns or ():
            if cell[0] == "item_id" and isinstance(cell[1], str):
                return cell[1]
        return None


class TablestoreRateLimiter:
    """A token bucket per key, refilled in one step at each window boundary: at most `capacity`
    hits between window_start and window_start + window_seconds (windows aligned to the epoch).
    Each window is its own row, so taking a token is one atomic conditional INCREMENT (`hit_all`
    sends several in one BatchWriteRow, each row with its own outcome). Like any
    token bucket of that capacity and rate, a burst spanning a boundary can see up to twice the
    capacity within one window's length."""

    def __init__(self, client: Any, table: str, clock: Clock | None = None) -> None:
        self._client = client
        self._table = table
        self._clock = clock or SystemClock()

    def hit(self, bucket: str, capacity: int, window_seconds: int) -> None:
        key, retry_after = self._window(bucket, window_seconds)
        if capacity <= 0:
            raise RateLimited(retry_after)
        try:
            _bounded_increment(self._client, self._table, key, capacity, "rate limit")
        except ConditionFailed:
            raise RateLimited(retry_after) from None

    def hit_all(self, limits: Sequence[RateLimit]) -> list[int | None]:
        """The limits' windows in one BatchWriteRow (each row its own conditional INCREMENT)."""
        windows = [(limit, *self._window(limit.bucket, limit.window_seconds)) for limit in limits]
        rows = [
            (self._table, UpdateRowItem(*_increment_below(key, limit.capacity)))
            for limit, key, _ in windows
            if limit.capacity > 0
        ]
        outcomes = iter(write_batch("rate limits", self._client, rows) if rows else [])
        answer: list[int | None] = []
        for limit, _, retry_after in windows:
            if limit.capacity <= 0:  # never counted: refused without a row
                answer.append(retry_after)
                continue
            outcome = next(outcomes)
            if isinstance(outcome, MiniAppError):
                raise outcome
            answer.append(None if outcome is None else retry_after)
        return answer

    def _window(self, bucket: str, window_seconds: int) -> tuple[str, int]:
        """The key of the bucket's current window, and the seconds until that window ends."""
        now = self._clock.now_ms() / 1000.0
        window = max(1, int(window_seconds))
        window_start = int(now // window) * window
        return guard_key("rl", bucket, str(window_start)), math.ceil(window_start + window - now)

"""In-memory fakes of every port in `miniapp.ports`, for unit tests (ours and a developer's).

Each fake keeps the port's contract (conditional writes, single-use auth codes, atomic counters)
under one lock, so services can be driven from several threads. Faults: `fail_next(method, error)`
makes the next call of `method` raise `error` without doing anything; `fail_after(method, error)`
makes it do its work and *then* raise (a write that landed but whose answer was lost).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from .. import prefetch
from ..domain.compat import row_to_compat
from ..domain.orders import TRADE_CLOSED, TRADE_SUCCESS, WAIT_BUYER_PAY, TradeState
from ..domain.records import (
    COMPAT_SCOPE,
    AlipayGrant,
    Buyer,
    FirstRead,
    Page,
    Paired,
    RateLimit,
    ReadAhead,
    Refunded,
    Row,
    SessionRecord,
    StsCredentials,
    Tally,
)
from ..errors import (
    Conflict,
    InvalidAuthCode,
    NotFound,
    QuotaExceeded,
    RateLimited,
    SessionNotFound,
)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._before: dict[str, list[BaseException]] = defaultdict(list)
        self._after: dict[str, list[BaseException]] = defaultdict(list)
        self.calls: dict[str, int] = defaultdict(int)

    def fail_next(self, method: str, error: BaseException, times: int = 1) -> None:
        self._before[method].extend([error] * times)

    def fail_after(self, method: str, error: BaseException) -> None:
        self._after[method].append(error)

    def clear_faults(self) -> None:
        """Drop the faults not yet injected (the outage is over)."""
        with self._lock:
            self._before.clear()
            self._after.clear()

    def _enter(self, method: str) -> None:
        self.calls[method] += 1
        if self._before[method]:
            raise self._before[method].pop(0)

    def _leave(self, method: str) -> None:
        if self._after[method]:
            raise self._after[method].pop(0)


class FakeClock:
    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.ms = start_ms

    def now_ms(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


class FakeIdentity(Faults):
    """Alipay: auth codes minted for users, each usable once."""

    def __init__(self) -> None:
        super().__init__()
        self._codes: dict[str, tuple[str, str]] = {}
        self._minted = 0

    def mint(self, user_id: str, open_id: str = "") -> str:
        """A code for the user named by user_id, open_id or both ("" = not in the reply)."""
        with self._lock:
            self._minted += 1
            code = f"code{self._minted:028x}"
            self._codes[code] = (user_id, open_id)
            return code

    def exchange_auth_code(self, auth_code: str) -> AlipayGrant:
        with self._lock:
            self._enter("exchange_auth_code")
            named = self._codes.pop(auth_code, None)
            if named is None:
                raise InvalidAuthCode()
            user_id, open_id = named
            return AlipayGrant(
                user_id=user_id,
                open_id=open_id,
                access_token=f"access-token-of-{user_id or open_id}",
                refresh_token=f"refresh-token-of-{user_id or open_id}",
                expires_in=1296000,
                re_expires_in=2592000,
            )


class InMemoryIdentityLinks(Faults):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        with self._lock:
            self._enter("get")
            return self.rows.get(key)

    def claim(self, key: str, internal_id: str) -> str:
        with self._lock:
            self._enter("claim")
            bound = self.rows.setdefault(key, internal_id)
            self._leave("claim")
            return bound


class FakeIssuer(Faults):
    def __init__(self) -> None:
        super().__init__()
        self.issued: list[tuple[str, Mapping[str, object], int]] = []

    def issue(
        self, session_name: str, policy: Mapping[str, object], duration_seconds: int
    ) -> StsCredentials:
        with self._lock:
            self._enter("issue")
            self.issued.append((session_name, policy, duration_seconds))
            n = len(self.issued)
            return StsCredentials(f"STS.key{n}", f"secret{n}", f"token{n}", "2030-01-01T00:15:00Z")


class InMemorySessions(Faults):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, SessionRecord] = {}

    def create(self, record: SessionRecord) -> None:
        with self._lock:
            self._enter("create")
            if record.key in self.rows:
                raise Conflict("session exists")
            self.rows[record.key] = record
            self._leave("create")

    def get(self, key: str) -> SessionRecord | None:
        with self._lock:
            self._enter("get")
            return self.rows.get(key)

    def touch(self, key: str, last_seen_ms: int) -> None:
        with self._lock:
            self._enter("touch")
            record = self.rows.get(key)
            if record is None:
                raise SessionNotFound()
            self.rows[key] = replace(record, last_seen_ms=last_seen_ms)

    def delete(self, key: str) -> bool:
        with self._lock:
            self._enter("delete")
            return self.rows.pop(key, None) is not None


class InMemoryItems(Faults):
    PAGE_ROWS = 5000  # what one GetRange answers at most

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], Row] = {}
        self.writes = 0

    def get(self, user_id: str, item_id: str) -> Row | None:
        return prefetch.row(user_id, COMPAT_SCOPE, item_id, lambda: self._get(user_id, item_id))

    def _get(self, user_id: str, item_id: str) -> Row | None:
        with self._lock:
            self._enter("get")
            return self.rows.get((user_id, item_id))

    def put(self, row: Row, *, must_not_exist: bool = False, must_exist: bool = False) -> None:
        assert not (must_exist and must_not_exist)
        with self._lock:
            self._enter("put")
            exists = (row.user_id, row.item_id) in self.rows
            if must_not_exist and exists:
                raise Conflict("row exists")
            if must_exist and not exists:
                raise NotFound("no row")
            self.rows[(row.user_id, row.item_id)] = Row(row.user_id, row.item_id, dict(row.columns))
            self.writes += 1
            self._leave("put")

    def replace_if_version(self, row: Row, expected_version: int) -> None:
        with self._lock:
            self._enter("replace_if_version")
            current = self.rows.get((row.user_id, row.item_id))
            if current is None:
                raise NotFound("no row")
            if current.columns.get("version") != expected_version:
                raise Conflict("version differs")
            self.rows[(row.user_id, row.item_id)] = Row(row.user_id, row.item_id, dict(row.columns))
            self.writes += 1

    def delete(self, user_id: str, item_id: str) -> bool | None:
        with self._lock:
            self._enter("delete")
            self.writes += 1
            found = self.rows.pop((user_id, item_id), None) is not None
            self._leave("delete")
            return found

    def page(self, user_id: str, start_after: str | None, limit: int) -> Page:
        with self._lock:
            self._enter("page")
            ids = sorted(
                i
                for (u, i) in self.rows
                if u == user_id and (start_after is None or i > start_after)
            )
            chosen = ids[:limit]
            more = len(ids) > limit
            return Page(
                tuple(self.rows[(user_id, i)] for i in chosen), chosen[-1] if more else None
            )

    def pages(self, user_id: str) -> Iterator[tuple[Row, ...]]:
        """Pages of PAGE_ROWS, as Tablestore's GetRange answers them; each counts as a call."""
        at: str | None = None
        while True:
            with self._lock:
                self._enter("pages")
                ids = sorted(i for (u, i) in self.rows if u == user_id and (at is None or i > at))[
                    : self.PAGE_ROWS + 1
                ]
                page = tuple(self.rows[(user_id, i)] for i in ids[: self.PAGE_ROWS])
            yield page
            if len(ids) <= self.PAGE_ROWS:
                return
            at = page[-1].item_id

    def compat_pages(self, user_id: str) -> Iterator[list[dict[str, Any]]]:
        for page in self.pages(user_id):
            yield [row_to_compat(row) for row in page]

    def of(self, user_id: str) -> dict[str, Row]:
        return {i: r for (u, i), r in self.rows.items() if u == user_id}


class InMemoryRows(Faults):
    """CollectionRows: items keyed (user, collection, id)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str, str], Row] = {}
        self.writes = 0

    def get(self, user_id: str, collection: str, item_id: str) -> Row | None:
        return prefetch.row(
            user_id, collection, item_id, lambda: self._get(user_id, collection, item_id)
        )

    def _get(self, user_id: str, collection: str, item_id: str) -> Row | None:
        with self._lock:
            self._enter("get")
            return self.rows.get((user_id, collection, item_id))

    def put_new(self, row: Row, collection: str) -> None:
        with self._lock:
            self._enter("put_new")
            key = (row.user_id, collection, row.item_id)
            if key in self.rows:
                raise Conflict("row exists")
            self.rows[key] = Row(row.user_id, row.item_id, dict(row.columns))
            self.writes += 1
            self._leave("put_new")

    def replace_if_version(self, row: Row, collection: str, expected_version: int) -> None:
        with self._lock:
            self._enter("replace_if_version")
            key = (row.user_id, collection, row.item_id)
            current = self.rows.get(key)
            if current is None:
                raise NotFound("no row")
            if current.columns.get("version") != expected_version:
                raise Conflict("version differs")
            self.rows[key] = Row(row.user_id, row.item_id, dict(row.columns))
            self.writes += 1
            self._leave("replace_if_version")

    def delete(self, user_id: str, collection: str, item_id: str) -> bool | None:
        with self._lock:
            self._enter("delete")
            self.writes += 1
            found = self.rows.pop((user_id, collection, item_id), None) is not None
            self._leave("delete")
            return found

    def page(
        self,
        user_id: str,
        collection: str,
        start_after: str | None,
        limit: int,
        newest_first: bool = False,
    ) -> Page:
        with self._lock:
            self._enter("page")
            ids = sorted(
                (i for (u, c, i) in self.rows if u == user_id and c == collection),
                reverse=newest_first,
            )
            if start_after is not None:
                ids = [i for i in ids if (i < start_after if newest_first else i > start_after)]
            chosen = ids[:limit]
            return Page(
                tuple(self.rows[(user_id, collection, i)] for i in chosen),
                chosen[-1] if len(ids) > limit else None,
            )

    def of(self, user_id: str, collection: str = "todos") -> dict[str, Row]:
        return {i: r for (u, c, i), r in self.rows.items() if (u, c) == (user_id, collection)}


class InMemoryTallies(Faults):
    """CountedRows of every scope: one tally per (user, scope) over the rows of `items` (the
    2020 rows, `COMPAT_SCOPE`) and `rows` (a collection's, the scope being its name). A
    two-row request (`put_new_settling`, `delete_marking`) is hit by the faults set for either
    of its writes: `settle` or `mark` here, `put_new` / `put` or `delete` on the rows' fake."""

    def __init__(
        self, items: InMemoryItems | None = None, rows: InMemoryRows | None = None
    ) -> None:
        super().__init__()
        self.items = InMemoryItems() if items is None else items
        self.rows = InMemoryRows() if rows is None else rows
        self.tallies: dict[tuple[str, str], Tally] = {}

    def counted(self, user_id: str, scope: str = "todos") -> int:
        """The count the user's tally holds (0 without one)."""
        tally = self.tallies.get((user_id, scope))
        return 0 if tally is None else tally.count

    def _store(
        self, user_id: str, scope: str, item_id: str
    ) -> tuple[InMemoryItems | InMemoryRows, dict[Any, Row], tuple[str, ...]]:
        """The fake holding the scope's rows, its rows, and the key of `item_id` there."""
        if scope == COMPAT_SCOPE:
            return self.items, self.items.rows, (user_id, item_id)
        return self.rows, self.rows.rows, (user_id, scope, item_id)

    def count(self, user_id: str, scope: str) -> int:
        with self._lock:
            self._enter("count")
            if scope == COMPAT_SCOPE:
                return len(self.items.of(user_id))
            return len(self.rows.of(user_id, scope))

    def tally(self, user_id: str, scope: str) -> Tally | None:
        return prefetch.tally(user_id, scope, lambda: self._tally(user_id, scope))

    def _tally(self, user_id: str, scope: str) -> Tally | None:
        with self._lock:
            self._enter("tally")
            return self.tallies.get((user_id, scope))

    def create_tally(self, user_id: str, scope: str, count: int) -> None:
        with self._lock:
            self._enter("create_tally")
            if (user_id, scope) in self.tallies:
                raise Conflict("tally exists")
            self.tallies[(user_id, scope)] = Tally(user_id, scope, count, 0, {})

    def grant(self, user_id: str, scope: str, key: str, items: int) -> None:
        with self._lock:
            self._enter("grant")
            t = self.tallies.get((user_id, scope)) or Tally(user_id, scope, -1, 0, counted=False)
            self.tallies[(user_id, scope)] = replace(t, grants={**t.grants, key: items})
            self._leave("grant")

    def revoke(self, user_id: str, scope: str, key: str) -> None:
        with self._lock:
            self._enter("revoke")
            t = self.tallies.get((user_id, scope))
            if t is not None:
                grants = {k: v for k, v in t.grants.items() if k != key}
                self.tallies[(user_id, scope)] = replace(t, grants=grants)
            self._leave("revoke")

    def _change(
        self,
        user_id: str,
        scope: str,
        delta: int,
        revision: int,
        put: dict[str, int],
        drop: tuple[str, ...] = (),
    ) -> None:
        t = self.tallies[(user_id, scope)]
        markers = {k: v for k, v in {**t.markers, **put}.items() if k not in drop}
        self.tallies[(user_id, scope)] = replace(
            t, count=t.count + delta, revision=t.revision + revision, markers=markers
        )

    def reserve(self, user_id: str, scope: str, limit: int, marker: str, now_ms: int) -> None:
        with self._lock:
            self._enter("reserve")
            tally = self.tallies.get((user_id, scope))
            if tally is None:
                raise NotFound("no tally")
            if tally.count >= limit:
                raise QuotaExceeded()
            self._change(user_id, scope, 1, 1, {marker: now_ms})
            self._leave("reserve")

    def mark(self, user_id: str, scope: str, marker: str, now_ms: int) -> None:
        with self._lock:
            self._enter("mark")
            if (user_id, scope) not in self.tallies:
                raise NotFound("no tally")
            self._change(user_id, scope, 0, 1, {marker: now_ms})
            self._leave("mark")

    def settle(self, user_id: str, scope: str, marker: str, delta: int) -> None:
        with self._lock:
            self._enter("settle")
            if (user_id, scope) in self.tallies:
                self._change(user_id, scope, delta, 1 if delta else 0, {}, (marker,))
            self._leave("settle")

    def reset(self, seen: Tally, count: int) -> bool:
        with self._lock:
            self._enter("reset")
            current = self.tallies.get((seen.user_id, seen.scope))
            if current is None or current.revision != seen.revision:
                return False
            self._change(
                seen.user_id, seen.scope, count - current.count, 1, {}, tuple(seen.markers)
            )
            key = (seen.user_id, seen.scope)
            self.tallies[key] = replace(self.tallies[key], counted=True)
            return True

    def put_new_settling(self, row: Row, scope: str, marker: str) -> Paired:
        store, rows, key = self._store(row.user_id, scope, row.item_id)
        put = "put" if store is self.items else "put_new"
        with self._lock, store._lock:
            store._enter(put)
            self._enter("settle")
            item: bool | Conflict = Conflict("row exists")
            if key not in rows:
                rows[key] = Row(row.user_id, row.item_id, dict(row.columns))
                store.writes += 1
                item = True
            settled = (row.user_id, scope) in self.tallies
            if settled:
                self._change(row.user_id, scope, 0, 0, {}, (marker,))
            store._leave(put)
            self._leave("settle")
            return Paired(item, settled)

    def delete_marking(
        self, user_id: str, scope: str, item_id: str, marker: str, now_ms: int
    ) -> Paired:
        store, rows, key = self._store(user_id, scope, item_id)
        with self._lock, store._lock:
            self._enter("mark")
            store._enter("delete")
            marked = (user_id, scope) in self.tallies
            if marked:
                self._change(user_id, scope, 0, 1, {marker: now_ms})
            store.writes += 1
            found = rows.pop(key, None) is not None
            self._leave("mark")
            store._leave("delete")
            return Paired(found, marked)


class InMemorySessionItems(Faults):
    """SessionItemReader over the fakes: the session row and the first reads in one call
    (`calls["session_and"]`), as one BatchGetRow."""

    def __init__(self, sessions: InMemorySessions, tallies: InMemoryTallies) -> None:
        super().__init__()
        self._sessions = sessions
        self._tallies = tallies

    def session_and(
        self, key: str, user_id: str, reads: tuple[FirstRead, ...]
    ) -> tuple[SessionRecord | None, ReadAhead]:
        tallies, items, rows = self._tallies, self._tallies.items, self._tallies.rows
        with self._lock, self._sessions._lock, tallies._lock, items._lock, rows._lock:
            self._enter("session_and")
            found: dict[tuple[str, str], Row | None] = {}
            for read in reads:
                if read.item_id is not None:
                    found[(read.scope, read.item_id)] = (
                        items.rows.get((user_id, read.item_id))
                        if read.scope == COMPAT_SCOPE
                        else rows.rows.get((user_id, read.scope, read.item_id))
                    )
            return self._sessions.rows.get(key), ReadAhead(
                {
                    r.scope: tallies.tallies.get((user_id, r.scope))
                    for r in reads
                    if r.item_id is None
                },
                found,
            )


class InMemoryIdempotency(Faults):
    def __init__(self) -> None:
        super().__init__()
        self.claims: dict[tuple[str, str], str] = {}

    def claim(self, user_id: str, key: str, item_id: str) -> str:
        with self._lock:
            self._enter("claim")
            return self.claims.setdefault((user_id, key), item_id)


class InMemoryRateLimiter(Faults):
    """Fixed windows on the fake clock: enough to test that the services consult the limiter."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self._clock = clock
        self.hits: list[str] = []
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, bucket: str, capacity: int, window_seconds: int) -> None:
        with self._lock:
            self._enter("hit")
            retry = self._take(RateLimit(bucket, capacity, window_seconds))
        if retry is not None:
            raise RateLimited(retry_after=retry)

    def hit_all(self, limits: Sequence[RateLimit]) -> list[int | None]:
        with self._lock:
            self._enter("hit_all")
            return [self._take(limit) for limit in limits]

    def _take(self, limit: RateLimit) -> int | None:
        """Count one event; None, or the seconds left of the window if it was full."""
        self.hits.append(limit.bucket)
        window = self._clock.now_ms() // (limit.window_seconds * 1000)
        start, count = self._windows.get(limit.bucket, (window, 0))
        if start != window:
            start, count = window, 0
        if count >= limit.capacity:
            return (start + 1) * limit.window_seconds - self._clock.now_ms() // 1000
        self._windows[limit.bucket] = (start, count + 1)
        return None


class ListSink:
    def __init__(self) -> None:
        self.records: list[dict[str, object]] = []

    def emit(self, record: Mapping[str, object]) -> None:
        self.records.append(dict(record))

    def of_kind(self, kind: str) -> list[dict[str, object]]:
        return [r for r in self.records if r.get("kind") == kind]


class BrokenSink:
    """A sink that breaks the port's promise never to raise."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error or ConnectionError("log service unreachable")
        self.calls = 0

    def emit(self, record: Mapping[str, object]) -> None:
        self.calls += 1
        raise self.error


class FakeTrades(Faults):
    """Alipay's trade API for one app, in memory: trades by out_trade_no, paid (`pay`) or not,
    closed, refunded by out_request_no (as the local gateway does, without HTTP)."""

    def __init__(self) -> None:
        super().__init__()
        self.trades: dict[str, dict[str, Any]] = {}
        self.created: list[str] = []  # out_trade_no per successful create, repeats included

    def create(
        self,
        out_trade_no: str,
        amount_fen: int,
        subject: str,
        buyer: Buyer,
        notify_url: str,
        timeout_minutes: int,
    ) -> str:
        with self._lock:
            self._enter("create")
            trade = self.trades.setdefault(
                out_trade_no,
                {
                    "trade_no": f"2026{len(self.trades) + 1:024d}",
                    "total": amount_fen,
                    "status": WAIT_BUYER_PAY,
                    "paid": False,
                    "refunds": {},
                    "buyer": buyer,
                    "notify_url": notify_url,
                },
            )
            self.created.append(out_trade_no)
            self._leave("create")
            return str(trade["trade_no"])

    def pay(self, out_trade_no: str) -> TradeState:
        trade = self.trades[out_trade_no]
        trade.update(status=TRADE_SUCCESS, paid=True)
        return self._state(out_trade_no)

    def _state(self, out_trade_no: str) -> TradeState:
        t = self.trades[out_trade_no]
        refunded = sum(t["refunds"].values())
        return TradeState(t["trade_no"], out_trade_no, t["total"], t["status"], t["paid"], refunded)

    def query(self, out_trade_no: str) -> TradeState | None:
        with self._lock:
            self._enter("query")
            return self._state(out_trade_no) if out_trade_no in self.trades else None

    def close(self, out_trade_no: str) -> bool:
        with self._lock:
            self._enter("close")
            trade = self.trades.get(out_trade_no)
            if trade is None or trade["status"] != WAIT_BUYER_PAY:
                return False
            trade["status"] = TRADE_CLOSED
            return True

    def refund(self, out_trade_no: str, amount_fen: int, out_request_no: str) -> Refunded:
        with self._lock:
            self._enter("refund")
            trade = self.trades.get(out_trade_no)
            if trade is None or not trade["paid"]:
                raise Conflict("Alipay refused: ACQ.TRADE_STATUS_ERROR")
            refunds = trade["refunds"]
            if out_request_no in refunds:
                if refunds[out_request_no] != amount_fen:
                    raise Conflict("Alipay refused: ACQ.DISCORDANT_REPEAT_REQUEST")
                return Refunded(sum(refunds.values()), False)
            if sum(refunds.values()) + amount_fen > trade["total"]:
                raise Conflict("Alipay refused: ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
            refunds[out_request_no] = amount_fen
            if sum(refunds.values()) == trade["total"]:
                trade["status"] = TRADE_CLOSED
            return Refunded(sum(refunds.values()), True)


class InMemoryOrderIndex(Faults):
    def __init__(self) -> None:
        super().__init__()
        self.owners: dict[str, str] = {}
        self.open: dict[str, str] = {}

    def add(self, order_id: str, user_id: str) -> None:
        with self._lock:
            self._enter("add")
            self.owners[order_id] = user_id
            self.open[order_id] = user_id
            self._leave("add")

    def owner(self, order_id: str) -> str | None:
        with self._lock:
            self._enter("owner")
            return self.owners.get(order_id)

    def open_orders(self, before: str, limit: int) -> list[tuple[str, str]]:
        with self._lock:
            self._enter("open_orders")
            return sorted((o, u) for o, u in self.open.items() if o < before)[:limit]

    def settle(self, order_id: str) -> None:
        with self._lock:
            self._enter("settle")
            self.open.pop(order_id, None)

    def recent(self, limit: int, before: str | None = None) -> list[tuple[str, str]]:
        with self._lock:
            self._enter("recent")
            found = sorted(
                ((o, u) for o, u in self.owners.items() if before is None or o < before),
                reverse=True,
            )
            return found[:limit]

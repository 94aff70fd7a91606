"""The per-user row count a quota is checked against, kept exact under lost replies, busy
answers and timeouts. One mechanism for every counted set of rows: each declared collection
(services/collection.py) and the 2020 rows (services/compat.py).

Why it is exact. Each add or remove writes a marker into the user's tally row in the same
request that changes the count (`reserve`, for an add) or no later than the request that deletes
(`remove`: the mark and the delete in one request), and drops it once the row write is settled
(`settle`, which also applies the remove's -1, or gives back an add that did not write). A
request whose reply is lost therefore leaves either nothing (not applied) or a marker: the count
can only be wrong while a marker stands. A marker older than any request can live
(`STALE_MARKER_MS`, above the function's timeout) belongs to a write that will never settle it:
the next operation of that user that checks the tally (`check`) counts the rows in storage and
sets the count, conditional on the tally's revision, so a write racing the recount makes the
recount give up rather than set a stale number (and its own marker makes the next one try
again). A failing call tries that repair at once for its own marker (`repair_now`). So once
faults clear, the count equals the rows, or the user's next operation makes it so.

Requests (issue 10). The tally is read with the session row (one BatchGetRow; with the item for
a remove, the row for a 2020 put or remove). Then an add reserves (UpdateRow) and sends its put
with the settle (one BatchWriteRow); a remove sends its mark with the delete (one BatchWriteRow)
and settles (UpdateRow). So 3 each on a warm instance, against 2 in issue 10's goal:

- Tablestore applies the rows of a BatchWriteRow one by one, never atomically (the Python SDK's
  protocol has no atomic batch; a local transaction costs a start and a commit request more).
- The quota must hold under concurrent adds: the conditional reservation has to succeed before
  the item is written. In one batch, a reservation refused by a concurrent add would not stop
  the put beside it, and a crash before the undo would leave a row over the quota and uncounted.
- The marker must be in place when the row write may land, and may go only once its outcome is
  known: covering the write needs the reservation (or mark) no later than the write, dropping it
  needs one more write after the write's answer. An add's settle can ride with its put because a
  put of a new id fails only on a re-send of itself; a remove's cannot ride with its delete,
  because a delete fails whenever a concurrent remove took the row first. For the same reason a
  keyed add (which may race a retry of itself; 5 with its claim) and a 2020 put of a new id (two
  clients may create one id at once; 4) settle apart.
- Leaving markers in place for the user's next write to drop (the settle deferred) would make 2,
  but every marker left when a user goes idle, or moves to another instance, costs a full
  recount (one GetRange per 1,000 rows) on the next operation: more requests, not fewer.

When the two rows of one request disagree anyway (a row-level failure in the cloud), the side
that could leave the count off without a marker is repaired under a new marker (`unwritten`,
`_unmarked`); only a failure of that repair too leaves the count off, and it is logged. One
case is not seen: rows that disagreed with no marker left (a remove's mark failed while its
delete landed, or an add's settle landed while its put failed) in a request whose answer was
then lost, every re-send failing as a whole and the recount tried at once (`repair_now`)
failing too. The count then stays one too high, unlogged, until a later fault's marker makes
the user's rows be counted again. It takes three faults in one call.

We chose this over Tablestore local transactions: a commit whose reply is lost is just as
uncertain, so a recount is needed either way, and it costs no new emulator API.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from ..domain.records import Paired, Tally
from ..errors import Conflict, MiniAppError, NotFound, QuotaExceeded, UpstreamUnavailable
from ..ports import Clock, CountedRows

log = logging.getLogger("miniapp.count")

STALE_MARKER_MS = 15_000  # the db function's Timeout is 10 s (template.yml)


def new_marker() -> str:
    return secrets.token_hex(8)


class ExactCount:
    """The count of one scope's rows in `store`. `what` names them in logs.
    `before_first_count(user)` runs before a user's tally is first created from a count
    (collections move legacy rows in then)."""

    def __init__(self, store: CountedRows, scope: str, clock: Clock, what: str,
                 before_first_count: Callable[[str], object] | None = None) -> None:
        self._store = store
        self.scope = scope
        self._clock = clock
        self._what = what
        self._before_first_count = before_first_count

    def check(self, user_id: str, *, create: bool = True) -> bool:
        """Before an operation: recount when a write left a stale marker (or the count cannot be
        trusted). With no tally, create it from a count if `create` (a write), else leave it
        (a read writes nothing) and answer False."""
        tally = self._store.tally(user_id, self.scope)
        if tally is None:
            if create:
                self.establish(user_id)
            return create
        if tally.markers or tally.count < 0:
            self._repair(tally, mine=None)
        return True

    def establish(self, user_id: str) -> None:
        """The user's first counted write: the tally, created from a count."""
        if self._before_first_count is not None:
            self._before_first_count(user_id)
        try:
            self._store.create_tally(user_id, self.scope,
                                     self._store.count(user_id, self.scope))
        except Conflict:
            pass  # a concurrent first use created it

    def reserve(self, user_id: str, limit: int, marker: str) -> None:
        """Take one slot under `marker` (QuotaExceeded if none is left). On an unknown outcome
        the increment may have landed: the marker says so, and a repair is tried at once."""
        established = False
        while True:
            try:
                self._store.reserve(user_id, self.scope, limit, marker, self._clock.now_ms())
                return
            except NotFound:
                if established:  # created a moment ago, and gone: the store is not keeping it
                    raise UpstreamUnavailable("the item count could not be kept") from None
                self.establish(user_id)
                established = True
            except QuotaExceeded:
                raise  # refused: nothing was written
            except BaseException:
                self.repair_now(user_id, marker)
                raise

    def remove(self, user_id: str, item_id: str) -> bool | None:
        """Delete the row `item_id` under a marker written in the same request
        (`CountedRows.delete_marking`), and count what it did: True (it deleted the row), False
        (none was there), None (gone, but a re-sent request cannot say by whom). The caller ran
        `check` first, so the tally exists."""
        marker = new_marker()
        try:
            done = self._store.delete_marking(user_id, self.scope, item_id, marker,
                                              self._clock.now_ms())
        except BaseException:
            self.repair_now(user_id, marker)  # the marker stands if the delete may have landed
            raise
        removed = done.item
        if not done.tally:  # only the delete's row may have been applied: no marker says so
            if isinstance(removed, MiniAppError):
                self._unmarked(user_id, None)
                raise removed
            if removed is not False:
                self._unmarked(user_id, -1 if removed else None)
            return removed
        if isinstance(removed, MiniAppError):
            self.repair_now(user_id, marker)
            raise removed
        if removed is None:  # the row is gone, but maybe not by us: count, don't guess
            self.repair_now(user_id, marker)
        else:
            self.settle(user_id, marker, -1 if removed else 0)
        return removed

    def unwritten(self, user_id: str, marker: str, done: Paired) -> None:
        """An add's row write failed (`done.item`, Conflict: it was never written) in the request
        that also settled its reservation `marker` with no change: give the slot back. If that
        settle was applied, the marker is gone and nothing says the count is one too high, so a
        new marker covers the give-back."""
        conflict = isinstance(done.item, Conflict)
        if not done.tally:
            if conflict:
                self.settle(user_id, marker, -1)
            else:
                self.repair_now(user_id, marker)  # the write may have landed: count
            return
        self._unmarked(user_id, -1 if conflict else None)

    def settle(self, user_id: str, marker: str, delta: int) -> None:
        # Best effort: if this fails, the marker stays and a later operation recounts.
        try:
            self._store.settle(user_id, self.scope, marker, delta)
        except MiniAppError:
            pass

    def _unmarked(self, user_id: str, delta: int | None) -> None:
        """The count is off by `delta` (None: by what is unknown) and no marker says so (a
        request's rows were applied one without the other): mark, then settle or recount. Only
        if this mark fails too does the count stay off, logged, until a recount."""
        marker = new_marker()
        try:
            self._store.mark(user_id, self.scope, marker, self._clock.now_ms())
        except MiniAppError:
            log.error("%s count of a user may be off by %s and no marker says so", self._what,
                      "one" if delta is not None else "an unknown number")
            return
        if delta is None:
            self.repair_now(user_id, marker)
        else:
            self.settle(user_id, marker, delta)

    def repair_now(self, user_id: str, marker: str) -> None:
        """After a write with an unknown outcome under `marker`: recount now if no other write is
        in flight; otherwise (or if this fails too) the marker stays for a later operation."""
        try:
            tally = self._store.tally(user_id, self.scope)
            if tally is not None:
                self._repair(tally, mine=marker)
        except MiniAppError:
            pass

    def _repair(self, tally: Tally, mine: str | None) -> None:
        """Recount if every marker but `mine` is stale (its write cannot still be running)."""
        now = self._clock.now_ms()
        if any(name != mine and now - written < STALE_MARKER_MS
               for name, written in tally.markers.items()):
            return
        count = self._store.count(tally.user_id, self.scope)
        if self._store.reset(tally, count) and count != tally.count:
            log.warning("%s count of a user repaired: %d -> %d", self._what, tally.count, count)

"""The per-user row count a quota is checked against, kept exact under lost replies, busy
answers and timeouts, for every counted scope: each declared collection (services/collection.py)
and the 2020 rows (services/compat.py). Each write leaves a marker in the scope's tally until it
is settled, so the count can only be off while a marker stands, and a stale marker makes the
user's next operation recount. docs/design/exact-counts.md says why this is exact, what it
costs in requests, and what was weighed against it.
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

    def __init__(
        self,
        store: CountedRows,
        scope: str,
        clock: Clock,
        what: str,
        before_first_count: Callable[[str], object] | None = None,
    ) -> None:
        self._store = store
        self.scope = scope
        self._clock = clock
        self._what = what
        self._before_first_count = before_first_count

    def check(self, user_id: str, *, create: bool = True) -> Tally | None:
        """Before an operation: recount when a write left a stale marker (or the count cannot be
        trusted). With no tally, create it from a count if `create` (a write), else leave it
        (a read writes nothing). Answers the tally as read (with its grants), or None when there
        was none; a row a grant made before the user's first count (no count yet) is a first
        count for a scope that moves rows in first (`before_first_count`), answered None on a
        read."""
        tally = self._store.tally(user_id, self.scope)
        first = tally is None or (not tally.counted and self._before_first_count is not None)
        if first:
            if create:
                self.establish(user_id, tally)
                return tally
            return None
        assert tally is not None
        if tally.markers or tally.count < 0:
            self._repair(tally, mine=None)
        return tally

    def establish(self, user_id: str, seen: Tally | None = None) -> None:
        """The user's first counted write: the tally, created from a count (or, over a row that
        a grant made, set to the count)."""
        if self._before_first_count is not None:
            self._before_first_count(user_id)
        count = self._store.count(user_id, self.scope)
        if seen is None:
            try:
                self._store.create_tally(user_id, self.scope, count)
                return
            except Conflict:
                seen = self._store.tally(user_id, self.scope)  # a concurrent first use, or a grant
            if seen is None or seen.counted:
                return
        self._store.reset(seen, count)

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
            done = self._store.delete_marking(
                user_id, self.scope, item_id, marker, self._clock.now_ms()
            )
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
            log.error(
                "%s count of a user may be off by %s and no marker says so",
                self._what,
                "one" if delta is not None else "an unknown number",
            )
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
        if any(
            name != mine and now - written < STALE_MARKER_MS
            for name, written in tally.markers.items()
        ):
            return
        count = self._store.count(tally.user_id, self.scope)
        if self._store.reset(tally, count) and count != tally.count:
            log.warning("%s count of a user repaired: %d -> %d", self._what, tally.count, count)

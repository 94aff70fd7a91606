"""The 2020 protocol's data operations, with the 2020 answers: `put` and `remove` answer null,
`get` the row object (or null), `list` every one of the user's rows (the 2020 function returned
only the first 10). 2020 rows live apart from the v2 collections, with a quota of their own,
counted exactly by the same mechanism as the collections' (services/exact_count.py): a
reservation or removal marks the user's 2020 tally in the same request, so a lost reply leaves a
marker, and a stale marker makes the user's next put, remove or list recount the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import gc_pause, prefetch
from ..domain.compat import CompatObject, row_to_compat
from ..domain.json_text import ENCODER, EncodedList
from ..domain.limits import COMPAT_LIST_MAX_RESPONSE_BYTES, DEFAULT_ITEM_QUOTA
from ..domain.records import COMPAT_SCOPE
from ..errors import Conflict, NotFound, PayloadTooLarge
from ..ports import Clock, CountedRows, ItemStore
from .collection import looks_like_legacy_todo
from .exact_count import ExactCount, new_marker

_PUT_ATTEMPTS = 3


class Compat:
    def __init__(
        self,
        *,
        items: ItemStore,
        counted: CountedRows,
        clock: Clock,
        quota: int = DEFAULT_ITEM_QUOTA,
        before_todo_shaped_put: Callable[[str], None] | None = None,
    ) -> None:
        """`counted`: the count of `items` per user (the scope `COMPAT_SCOPE`)."""
        self._items = items
        self._count = ExactCount(counted, COMPAT_SCOPE, clock, "2020 rows")
        self._quota = quota
        # v2 todos from before collections still sit in this table until their user's first v2
        # use moves them; a todo-shaped 2020 row must not join them (see services/collection.py).
        self._before_todo_shaped_put = before_todo_shaped_put

    def put(self, user_id: str, obj: CompatObject) -> None:
        """Create or replace. Replacing costs no quota; creating reserves one slot first. Each
        write is conditional, so a row created or removed concurrently is noticed and the loop
        takes the other branch. The first turn starts on the branch the row's presence says when
        it was read with the session (`prefetch`), else on a replace."""
        row = obj.to_row(user_id)
        if self._before_todo_shaped_put is not None and looks_like_legacy_todo(
            row.item_id, row.columns
        ):
            self._before_todo_shaped_put(user_id)
        self._count.check(user_id)
        exists = prefetch.row_was_there(user_id, COMPAT_SCOPE, row.item_id) is not False
        for _ in range(_PUT_ATTEMPTS):
            if exists:
                try:
                    self._items.put(row, must_exist=True)
                    return
                except NotFound:
                    pass
            exists = True
            marker = new_marker()
            self._count.reserve(user_id, self._quota, marker)
            try:
                self._items.put(row, must_not_exist=True)
            except Conflict:
                # Created meanwhile: replace it on the next turn. Count rather than give the
                # slot back: a re-sent create of ours may have landed before a concurrent
                # replace changed the row, and then this Conflict hides our own row.
                self._count.repair_now(user_id, marker)
                continue
            except BaseException:
                self._count.repair_now(user_id, marker)  # the create may have landed
                raise
            self._count.settle(user_id, marker, 0)
            return
        raise Conflict("the row kept changing while it was written; retry")

    def get(self, user_id: str, item_id: str) -> dict[str, Any] | None:
        row = self._items.get(user_id, item_id)
        return None if row is None else row_to_compat(row)

    def list(self, user_id: str) -> list[dict[str, Any]]:
        """Every row, or PayloadTooLarge as soon as the rows read so far no longer fit in one
        answer. Rows come in the store's own pages (5,000 rows a request); each page is encoded
        in one call, once, and its exact size added to a running budget, so an over-limit user
        costs at most one page more than the limit and the answer is never encoded again."""
        self._count.check(user_id, create=False)  # repairs a count a lost reply left behind
        rows: list[dict[str, Any]] = []
        texts: list[str] = []  # each page's objects, comma-separated, without the brackets
        size = 2  # the brackets
        with gc_pause.paused():  # plain data only, and much of it: see gc_pause
            for objects in self._items.compat_pages(user_id):
                if not objects:
                    continue
                text = ENCODER.encode(objects)[1:-1]
                size += len(text.encode("utf-8")) + (1 if texts else 0)  # a comma between pages
                if size > COMPAT_LIST_MAX_RESPONSE_BYTES:
                    raise PayloadTooLarge(
                        "the rows do not fit in one answer; use the v2 list with a cursor"
                    )
                rows.extend(objects)
                texts.append(text)
            return EncodedList(rows, texts)

    def remove(self, user_id: str, item_id: str) -> None:
        if self._items.get(user_id, item_id) is None:
            return  # nothing to remove, and nothing written (a miss creates no tally)
        self._count.check(user_id)
        self._count.remove(user_id, item_id)

"""The per-user count stays exact when replies are lost: a write whose outcome the service cannot
know leaves a marker, and a stale marker makes the next operation recount."""
from __future__ import annotations

import contextlib
import random

import pytest

from miniapp.collections.todos import COLLECTION as TODOS
from miniapp.domain.records import Paired
from miniapp.errors import Conflict, MiniAppError, UpstreamUnavailable
from miniapp.services.collection import CollectionService
from miniapp.services.exact_count import STALE_MARKER_MS

from .conftest import ALICE
from .fakes import FakeClock, InMemoryIdempotency, InMemoryRows


def service(rows: InMemoryRows, clock: FakeClock) -> CollectionService:
    return CollectionService(TODOS, rows=rows, idempotency=InMemoryIdempotency(), clock=clock,
                             quota=100, cursor_key=b"k" * 32, pause=lambda s: None)


@pytest.mark.parametrize("method", ["reserve", "put_new", "delete", "settle", "mark"])
def test_a_lost_reply_is_repaired_by_the_next_operation(method: str) -> None:
    rows, clock = InMemoryRows(), FakeClock()
    todos = service(rows, clock)
    kept = [todos.add(ALICE, {"text": f"t{n}"}).id for n in range(3)]
    # The store did the work; the answer was lost, and the repair the failing call tries at once
    # fails too (the fault goes on).
    rows.fail_after(method, UpstreamUnavailable("reply lost"))
    rows.fail_next("count", UpstreamUnavailable("still failing"))
    try:
        if method in ("delete", "mark"):
            todos.remove(ALICE, kept[0])
        else:
            todos.add(ALICE, {"text": "new"})
    except MiniAppError:
        pass
    rows.clear_faults()
    clock.advance(STALE_MARKER_MS / 1000 + 1)
    todos.list(ALICE, 10)
    assert rows.counted(ALICE) == len(rows.of(ALICE))


def test_the_count_equals_the_items_after_random_lost_replies() -> None:
    rng = random.Random(9)
    rows, clock = InMemoryRows(), FakeClock()
    todos = service(rows, clock)
    added: list[str] = []
    for n in range(200):
        method = rng.choice(["reserve", "put_new", "delete", "settle", "mark", "tally", "get"])
        if rng.random() < 0.3:
            (rows.fail_after if method not in ("tally", "get") else rows.fail_next)(
                method, UpstreamUnavailable("fault"))
        try:
            if added and rng.random() < 0.4:
                todos.remove(ALICE, added.pop(rng.randrange(len(added))))
            else:
                added.append(todos.add(ALICE, {"text": f"t{n}"}).id)
        except MiniAppError:
            pass
        clock.advance(0.01)
    rows.clear_faults()
    clock.advance(STALE_MARKER_MS / 1000 + 1)
    todos.list(ALICE, 10)
    assert rows.counted(ALICE) == len(rows.of(ALICE))


def test_a_marker_of_a_write_still_running_holds_the_recount_back() -> None:
    rows, clock = InMemoryRows(), FakeClock()
    todos = service(rows, clock)
    todos.add(ALICE, {"text": "a"})
    rows.reserve(ALICE, "todos", 100, "inflight", clock.now_ms())  # another add, mid-way
    todos.list(ALICE, 10)
    assert rows.counted(ALICE) == 2  # not recounted to 1 while that add may still write
    clock.advance(STALE_MARKER_MS / 1000 + 1)
    todos.list(ALICE, 10)
    assert rows.counted(ALICE) == 1 and rows.tallies[(ALICE, "todos")].markers == {}


class RowsApplyingOneOfTwo(InMemoryRows):
    """A store whose two-row requests apply only the item's row (the tally's row fails, as a
    row of a Tablestore BatchWriteRow can on its own) or only the tally's row."""

    def __init__(self, only: str) -> None:
        super().__init__()
        self.only = only
        self.split = False

    def put_new_settling(self, row, collection, marker):
        if not self.split:
            return super().put_new_settling(row, collection, marker)
        if self.only == "item":
            self.put_new(row, collection)
            return Paired(True, False)
        self.settle(row.user_id, collection, marker, 0)
        return Paired(Conflict("row exists"), True)

    def delete_marking(self, user_id, collection, item_id, marker, now_ms):
        if not self.split:
            return super().delete_marking(user_id, collection, item_id, marker, now_ms)
        if self.only == "item":
            return Paired(self.delete(user_id, collection, item_id), False)
        self.mark(user_id, collection, marker, now_ms)
        return Paired(UpstreamUnavailable("the delete's row failed"), True)


@pytest.mark.parametrize("only", ["item", "tally"])
def test_a_request_that_applied_one_of_its_two_rows_leaves_the_count_exact(only: str) -> None:
    rows, clock = RowsApplyingOneOfTwo(only), FakeClock()
    todos = service(rows, clock)
    kept = [todos.add(ALICE, {"text": f"t{n}"}).id for n in range(2)]
    rows.split = True
    with contextlib.suppress(MiniAppError):
        todos.add(ALICE, {"text": "more"})
    with contextlib.suppress(MiniAppError):
        todos.remove(ALICE, kept[0])
    assert len(rows.of(ALICE)) == 2  # item: one added, one removed; tally: neither
    tally = rows.tallies[(ALICE, "todos")]
    assert (tally.count, tally.markers) == (len(rows.of(ALICE)), {})

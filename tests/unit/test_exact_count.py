"""A user's row count stays exact when replies are lost, in every counted scope (a collection,
the 2020 rows): a write whose outcome the service cannot know leaves a marker in the scope's
tally, and a stale marker makes the user's next operation recount (services/exact_count.py)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from miniapp.collections.todos import COLLECTION as TODOS
from miniapp.domain.records import COMPAT_SCOPE, Paired
from miniapp.entrypoints.compat_object import parse_compat_object
from miniapp.errors import Conflict, MiniAppError, UpstreamUnavailable
from miniapp.services.exact_count import STALE_MARKER_MS
from miniapp.testing.fakes import Faults

from .conftest import ALICE, World
from .fakes import FakeClock, InMemoryTallies

SCOPES = ("todos", COMPAT_SCOPE)
# The count's own writes, on the tallies; "write" and "delete" are the rows' (Counted.rows).
TALLY_METHODS = ("reserve", "settle", "mark")


@dataclass
class Counted:
    """One scope driven through its service: `add(n)` writes a row and answers its id, `remove`
    deletes one, `look` is the user's next operation (which checks the tally)."""

    scope: str
    tallies: InMemoryTallies
    clock: FakeClock
    add: Callable[[int], str]
    remove: Callable[[str], None]
    look: Callable[[], object]
    write: str  # the rows' fake's name of the row write

    @property
    def rows(self) -> Faults:
        return self.tallies.items if self.scope == COMPAT_SCOPE else self.tallies.rows

    def lose_reply(self, method: str) -> None:
        """The store does the work of the next `method` call; its answer is lost."""
        target = self.tallies if method in TALLY_METHODS else self.rows
        target.fail_after(
            self.write if method == "write" else method, UpstreamUnavailable("reply lost")
        )

    def stored(self) -> int:
        if self.scope == COMPAT_SCOPE:
            return len(self.tallies.items.of(ALICE))
        return len(self.tallies.rows.of(ALICE, self.scope))

    def exact(self) -> bool:
        tally = self.tallies.tallies[(ALICE, self.scope)]
        return tally.count == self.stored()

    def heal(self) -> None:
        """The faults end and every marker left is stale."""
        self.tallies.clear_faults()
        self.rows.clear_faults()
        self.clock.advance(STALE_MARKER_MS / 1000 + 1)


def counted(scope: str, tallies: InMemoryTallies | None = None) -> Counted:
    """The scope's service as a `World` over `tallies` composes it."""
    world = World(item_quota=1000, tallies=tallies)
    if scope == COMPAT_SCOPE:
        compat = world.compat

        def put(n: int) -> str:
            compat.put(ALICE, parse_compat_object({"id": f"r{n}", "n": n}))
            return f"r{n}"

        return Counted(
            scope,
            world.tallies,
            world.clock,
            put,
            lambda i: compat.remove(ALICE, i),
            lambda: compat.list(ALICE),
            "put",
        )
    todos = world.collection(TODOS.name)
    return Counted(
        scope,
        world.tallies,
        world.clock,
        lambda n: todos.add(ALICE, {"text": f"t{n}"}).id,
        lambda i: todos.remove(ALICE, i),
        lambda: todos.list(ALICE, 10),
        "put_new",
    )


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("method", ("write", "delete") + TALLY_METHODS)
def test_a_lost_reply_is_repaired_by_the_next_operation(scope: str, method: str) -> None:
    kit = counted(scope)
    kept = [kit.add(n) for n in range(3)]
    kit.lose_reply(method)
    # The repair the failing call tries at once fails too (the fault goes on).
    kit.tallies.fail_next("count", UpstreamUnavailable("still failing"))
    with contextlib.suppress(MiniAppError):
        if method in ("delete", "mark"):
            kit.remove(kept[0])
        else:
            kit.add(3)
    kit.heal()
    kit.look()
    assert kit.exact()


@pytest.mark.parametrize("scope", SCOPES)
def test_the_count_equals_the_rows_after_random_lost_replies_and_busy_reads(scope: str) -> None:
    rng = random.Random(2020)
    kit = counted(scope)
    added: list[str] = []
    lost = 0
    for n in range(300):
        if rng.random() < 0.3:
            lost += 1
            kit.lose_reply(rng.choice(("write", "delete") + TALLY_METHODS))
        if rng.random() < 0.1:
            kit.tallies.fail_next(
                rng.choice(["tally", "count", "reset"]), UpstreamUnavailable("busy")
            )
        try:
            if added and rng.random() < 0.4:
                kit.remove(added.pop(rng.randrange(len(added))))
            else:
                added.append(kit.add(n % 40))  # a 2020 put of an id seen before replaces it
        except MiniAppError:
            pass
        kit.clock.advance(0.01)
    kit.heal()
    kit.look()
    assert lost > 50
    assert kit.exact()


@pytest.mark.parametrize("scope", SCOPES)
def test_a_marker_of_a_write_still_running_holds_the_recount_back(scope: str) -> None:
    kit = counted(scope)
    kit.add(0)
    kit.tallies.reserve(ALICE, scope, 100, "inflight", kit.clock.now_ms())  # another add, mid-way
    kit.look()
    assert kit.tallies.counted(ALICE, scope) == 2  # not recounted while that add may still write
    kit.clock.advance(STALE_MARKER_MS / 1000 + 1)
    kit.look()
    assert kit.tallies.counted(ALICE, scope) == 1
    assert kit.tallies.tallies[(ALICE, scope)].markers == {}


class ApplyingOneOfTwo(InMemoryTallies):
    """A store whose two-row requests apply only the row's write (the tally's row fails, as a
    row of a Tablestore BatchWriteRow can on its own) or only the tally's."""

    def __init__(self, only: str) -> None:
        super().__init__()
        self.only = only
        self.split = False

    def put_new_settling(self, row, scope, marker):
        if not self.split:
            return super().put_new_settling(row, scope, marker)
        if self.only == "item":
            self.rows.put_new(row, scope)
            return Paired(True, False)
        self.settle(row.user_id, scope, marker, 0)
        return Paired(Conflict("row exists"), True)

    def delete_marking(self, user_id, scope, item_id, marker, now_ms):
        if not self.split:
            return super().delete_marking(user_id, scope, item_id, marker, now_ms)
        if self.only == "item":
            store = self.items if scope == COMPAT_SCOPE else self.rows
            deleted = (
                store.delete(user_id, item_id)
                if scope == COMPAT_SCOPE
                else store.delete(user_id, scope, item_id)
            )
            return Paired(deleted, False)
        self.mark(user_id, scope, marker, now_ms)
        return Paired(UpstreamUnavailable("the delete's row failed"), True)


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("only", ["item", "tally"])
def test_a_request_that_applied_one_of_its_two_rows_leaves_the_count_exact(
    scope: str, only: str
) -> None:
    tallies = ApplyingOneOfTwo(only)
    kit = counted(scope, tallies)
    kept = [kit.add(n) for n in range(2)]
    tallies.split = True
    with contextlib.suppress(MiniAppError):
        kit.add(2)
    with contextlib.suppress(MiniAppError):
        kit.remove(kept[0])
    assert kit.exact() and tallies.tallies[(ALICE, scope)].markers == {}

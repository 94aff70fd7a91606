"""The 2020 rows' count stays exact when replies are lost, by the collections' mechanism
(services/exact_count.py): a write whose outcome the service cannot know leaves a marker in the
user's 2020 tally, and a stale marker makes the next operation recount."""
from __future__ import annotations

import random

import pytest

from miniapp.entrypoints.compat_object import parse_compat_object
from miniapp.errors import MiniAppError, UpstreamUnavailable
from miniapp.services.compat import Compat
from miniapp.services.exact_count import STALE_MARKER_MS

from .conftest import ALICE
from .fakes import FakeClock, InMemoryItems, InMemoryRowCount

ITEM_METHODS = ("put", "delete")
COUNT_METHODS = ("reserve", "settle", "mark")


def kit(quota: int = 100) -> tuple[Compat, InMemoryItems, InMemoryRowCount, FakeClock]:
    items, clock = InMemoryItems(), FakeClock()
    usage = InMemoryRowCount(items)
    return Compat(items=items, usage=usage, clock=clock, quota=quota), items, usage, clock


def lose_reply(items: InMemoryItems, usage: InMemoryRowCount, method: str) -> None:
    """The store does the work of the next `method` call; its answer is lost."""
    target = items if method in ITEM_METHODS else usage
    target.fail_after(method, UpstreamUnavailable("reply lost"))


@pytest.mark.parametrize("method", ITEM_METHODS + COUNT_METHODS)
def test_a_lost_reply_is_repaired_by_the_next_operation(method: str) -> None:
    compat, items, usage, clock = kit()
    for n in range(3):
        compat.put(ALICE, parse_compat_object({"id": f"r{n}"}))
    lose_reply(items, usage, method)
    usage.fail_next("count", UpstreamUnavailable("still failing"))  # so is the repair at once
    try:
        if method in ("delete", "mark"):
            compat.remove(ALICE, "r0")
        else:
            compat.put(ALICE, parse_compat_object({"id": "new"}))
    except MiniAppError:
        pass
    items.clear_faults()
    usage.clear_faults()
    clock.advance(STALE_MARKER_MS / 1000 + 1)
    compat.list(ALICE)
    assert usage.counts[ALICE] == len(items.of(ALICE))


def test_the_count_equals_the_rows_after_random_lost_replies() -> None:
    """Seeded lost replies and busy answers during puts of new ids and overwrites, and removes."""
    rng = random.Random(2020)
    compat, items, usage, clock = kit(quota=1000)
    ids = [f"row-{n}" for n in range(12)]
    lost = 0
    for n in range(300):
        if rng.random() < 0.3:
            lost += 1
            lose_reply(items, usage, rng.choice(ITEM_METHODS + COUNT_METHODS))
        if rng.random() < 0.1:
            usage.fail_next(rng.choice(["tally", "count", "reset"]), UpstreamUnavailable("busy"))
        try:
            if rng.random() < 0.35:
                compat.remove(ALICE, rng.choice(ids))
            else:
                compat.put(ALICE, parse_compat_object({"id": rng.choice(ids), "n": n}))
        except MiniAppError:
            pass
        clock.advance(0.01)
    items.clear_faults()
    usage.clear_faults()
    clock.advance(STALE_MARKER_MS / 1000 + 1)
    compat.put(ALICE, parse_compat_object({"id": "after"}))  # the user's next operation
    assert lost > 50
    assert usage.counts[ALICE] == len(items.of(ALICE))

"""The GetRange page loops (adapters/tablestore/ranges.py) against a store that answers a page
without moving on: they answer UpstreamUnavailable at once instead of asking the same page
until the invocation's deadline, or ending early with rows missing."""

from __future__ import annotations

from typing import Any

import pytest

from miniapp.adapters.tablestore.ranges import count_range, range_pages
from miniapp.domain.records import Row as Item
from miniapp.errors import UpstreamUnavailable

START = [("uid", "u1"), ("id", "a")]
END = [("uid", "u1"), ("id", "z")]


class StuckStore:
    """Answers one row and, as the next start, the start it was asked for."""

    def __init__(self) -> None:
        self.calls = 0

    def get_range(
        self, table: str, direction: Any, start: Any, end: Any, **_: Any
    ) -> tuple[Any, Any, list[Any], Any]:
        self.calls += 1
        return None, list(start), [object()], None


class MovingStore(StuckStore):
    """Two pages: the first ends at a next start further on, the second ends the range."""

    def get_range(
        self, table: str, direction: Any, start: Any, end: Any, **_: Any
    ) -> tuple[Any, Any, list[Any], Any]:
        self.calls += 1
        next_start = [("uid", "u1"), ("id", "m")] if self.calls == 1 else None
        return None, next_start, [object()], None


def _page(rows: list[Any]) -> tuple[Item, ...]:
    return tuple(Item("u1", "x", {}) for _ in rows)


def test_a_count_that_makes_no_progress_is_refused_after_one_request():
    store = StuckStore()
    with pytest.raises(UpstreamUnavailable):
        count_range(store, "t", START, END)
    assert store.calls == 1


def test_pages_that_make_no_progress_are_refused_after_one_request():
    store = StuckStore()
    with pytest.raises(UpstreamUnavailable):
        list(range_pages(store, "t", START, END, _page))
    assert store.calls == 1


def test_ranges_that_move_on_are_read_to_the_end():
    assert count_range(MovingStore(), "t", START, END) == 2
    assert [len(page) for page in range_pages(MovingStore(), "t", START, END, _page)] == [1, 1]

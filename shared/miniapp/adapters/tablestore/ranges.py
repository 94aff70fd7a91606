"""Reading a key range of one table in GetRange pages: counting its rows, one page of items
after a cursor, and every item in the service's own pages, for the 2020 rows (items.py) and the
collections (user_data.py) alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar

from tablestore import Direction

from ...domain.records import Page
from ...domain.records import Row as Item
from ...errors import UpstreamUnavailable
from .calls import run

PrimaryKey = list[tuple[str, Any]]
T = TypeVar("T")
_COUNT_PAGE = 1000


def count_range(client: Any, table: str, start: PrimaryKey, end: PrimaryKey) -> int:
    """How many rows lie in [start, end), read in pages."""
    at: PrimaryKey | None = start
    total = 0
    while at is not None:
        asked = at
        _, at, rows, _ = run(
            "item count",
            partial(
                # Bound now: run() calls it (and its retries) with this page's key.
                client.get_range,
                table,
                Direction.FORWARD,
                at,
                end,
                limit=_COUNT_PAGE,
                max_version=1,
            ),
        )
        _must_move_on(asked, at)
        total += len(rows)
    return total


def range_pages(
    client: Any, table: str, start: PrimaryKey, end: PrimaryKey, page: Callable[[list[Any]], T]
) -> Iterator[T]:
    """Every row in [start, end), forward, one GetRange per page as large as the service
    answers (5,000 rows or 4 MB), the next one read only when the caller asks for it, each page
    of SDK rows handed to `page` whole (one call a page: a 2020 list builds 10,000 rows in a
    loop of its own). With no limit to ask one row more for, a page ends where the service says
    the range goes on, so N rows cost ceil(N / 5,000) requests, not twice as many."""
    at: PrimaryKey | None = start
    while at is not None:
        asked = at
        _, at, rows, _ = run(
            "item pages",
            partial(
                # Bound now: run() calls it (and its retries) with this page's key.
                client.get_range,
                table,
                Direction.FORWARD,
                at,
                end,
                max_version=1,
            ),
        )
        _must_move_on(asked, at)
        yield page(rows)


def page_range(
    client: Any,
    table: str,
    direction: Any,
    start: PrimaryKey,
    end: PrimaryKey,
    start_after: str | None,
    limit: int,
    item: Callable[[Any], Item],
) -> Page:
    """Up to `limit` items from `start` towards `end`, skipping the row of `start_after` (the
    previous page's last item, where `start` then points: GetRange starts inclusively). The
    cursor is set only when a next item exists."""
    items: list[Item] = []
    while True:
        # Ask for one more than we still need, to learn whether a next page exists. The server
        # may answer with fewer (size limits) and a next start key; then we continue.
        want = limit - len(items) + 1 + (1 if start_after is not None else 0)
        _, next_start, rows, _ = run(
            "item page",
            partial(
                # Bound now: run() calls it (and its retries) with this page's key.
                client.get_range,
                table,
                direction,
                start,
                end,
                limit=want,
                max_version=1,
            ),
        )
        for row in rows:
            decoded = item(row)
            if decoded.item_id != start_after:
                items.append(decoded)
        if len(items) > limit or next_start is None:
            break
        start = next_start
    if len(items) > limit:
        return Page(tuple(items[:limit]), items[limit - 1].item_id)
    return Page(tuple(items), None)


def _must_move_on(asked: PrimaryKey | None, next_start: PrimaryKey | None) -> None:
    """A page whose next start is where it began would make the loop ask the same page until the
    invocation's deadline. Tablestore always moves on; if a store ever does not, answer at once
    rather than loop, or end early with rows missing."""
    if next_start is not None and list(next_start) == list(asked or ()):
        raise UpstreamUnavailable("Tablestore answered a range page without moving on")

"""The 2020 protocol's service: put/get/list/remove with the 2020 answers."""

from __future__ import annotations

import pytest

from miniapp.domain.records import COMPAT_SCOPE, Row
from miniapp.entrypoints.compat_object import parse_compat_object
from miniapp.errors import PayloadTooLarge, QuotaExceeded, UpstreamUnavailable

from .conftest import ALICE, BOB, World
from .fakes import InMemoryItems


@pytest.fixture
def world() -> World:
    return World(item_quota=3)


def put(world: World, user: str, **obj) -> None:
    world.compat.put(user, parse_compat_object(obj))


def test_put_then_get_answers_the_object(world) -> None:
    put(world, ALICE, id="buy milk", completed=False, n=2)
    assert world.compat.get(ALICE, "buy milk") == {"id": "buy milk", "completed": False, "n": 2}


def test_get_of_a_missing_row_answers_null(world) -> None:
    assert world.compat.get(ALICE, "nothing") is None


def test_put_replaces_the_whole_row(world) -> None:
    put(world, ALICE, id="a", completed=False, note="x")
    put(world, ALICE, id="a", completed=True)
    assert world.compat.get(ALICE, "a") == {"id": "a", "completed": True}


def test_replacing_a_row_costs_no_quota(world) -> None:
    for _ in range(5):
        put(world, ALICE, id="a", completed=False)
    assert world.tallies.counted(ALICE, COMPAT_SCOPE) == 1


def test_put_over_the_quota_is_refused_without_a_write(world) -> None:
    for n in range(3):
        put(world, ALICE, id=f"r{n}")
    with pytest.raises(QuotaExceeded):
        put(world, ALICE, id="r3")
    assert len(world.items.of(ALICE)) == 3


class CreateFails(InMemoryItems):
    def put(self, row, *, must_not_exist=False, must_exist=False):
        if must_not_exist:
            raise UpstreamUnavailable("busy")
        super().put(row, must_not_exist=must_not_exist, must_exist=must_exist)


def test_a_failed_create_gives_the_quota_back() -> None:
    world = World(items=CreateFails())
    with pytest.raises(UpstreamUnavailable):
        put(world, ALICE, id="a")
    assert world.tallies.counted(ALICE, COMPAT_SCOPE) == 0 and world.items.rows == {}


class CreatedMeanwhile(InMemoryItems):
    """The row appears between the failed replace and the create: put must replace it."""

    def put(self, row, *, must_not_exist=False, must_exist=False):
        if must_not_exist and not self.rows:
            self.rows[(row.user_id, row.item_id)] = Row(row.user_id, row.item_id, {"old": True})
        super().put(row, must_not_exist=must_not_exist, must_exist=must_exist)


def test_a_row_created_concurrently_is_replaced_without_keeping_a_reservation() -> None:
    world = World(items=CreatedMeanwhile())
    put(world, ALICE, id="a", new=1)
    # Our slot is not kept: the count is the rows' (the row appeared uncounted in this fake;
    # the exact count recounts it rather than trusting the slot it gave back).
    assert world.items.rows[(ALICE, "a")].columns == {"new": 1}
    assert world.tallies.counted(ALICE, COMPAT_SCOPE) == len(world.items.of(ALICE)) == 1


def test_list_answers_all_rows_not_the_first_ten() -> None:
    world = World(item_quota=1000)
    for n in range(450):
        put(world, ALICE, id=f"row-{n:04}", n=n)
    rows = world.compat.list(ALICE)
    assert [r["id"] for r in rows] == [f"row-{n:04}" for n in range(450)]


def test_list_answers_only_the_callers_rows(world) -> None:
    put(world, ALICE, id="mine")
    put(world, BOB, id="theirs")
    assert world.compat.list(ALICE) == [{"id": "mine"}]


def test_list_of_no_rows_is_an_empty_list(world) -> None:
    assert world.compat.list(ALICE) == []


def test_list_too_big_for_one_answer_is_refused(world) -> None:
    big = "x" * 8000
    for n in range(700):
        world.items.put(Row(ALICE, f"r{n:04}", {"a": big}))
    with pytest.raises(PayloadTooLarge):
        world.compat.list(ALICE)


def test_an_over_limit_list_stops_reading_once_the_answer_cannot_fit(world) -> None:
    """12,000 rows of about 1 KB: the 5 MiB limit is passed in the second page of 5,000, so
    the third page is never read."""
    text = "x" * 1000
    for n in range(12_000):
        world.items.put(Row(ALICE, f"r{n:05}", {"a": text}))
    with pytest.raises(PayloadTooLarge):
        world.compat.list(ALICE)
    assert world.items.calls["pages"] == 2


def test_the_list_carries_its_json_encoded_once(world) -> None:
    import json

    from miniapp.domain.json_text import EncodedList, render

    put(world, ALICE, id="b", text='ünïcode "quoted"', n=2, f=1.5, done=True)
    put(world, ALICE, id="a")
    rows = world.compat.list(ALICE)
    assert isinstance(rows, EncodedList)
    assert rows == [
        {"id": "a"},
        {"id": "b", "text": 'ünïcode "quoted"', "n": 2, "f": 1.5, "done": True},
    ]
    expected = json.dumps({"data": list(rows)}, ensure_ascii=False, separators=(",", ":"))
    assert render({"data": rows}) == expected
    assert render({"error": {"code": "NotFound"}}) == '{"error":{"code":"NotFound"}}'


def test_remove_deletes_and_gives_the_quota_back(world) -> None:
    put(world, ALICE, id="a")
    world.compat.remove(ALICE, "a")
    assert world.compat.get(ALICE, "a") is None and world.tallies.counted(ALICE, COMPAT_SCOPE) == 0


def test_remove_of_a_missing_row_is_not_an_error(world) -> None:
    world.compat.remove(ALICE, "never there")
    assert world.tallies.counted(ALICE, COMPAT_SCOPE) == 0


def test_a_user_cannot_remove_another_users_row(world) -> None:
    put(world, BOB, id="a")
    world.compat.remove(ALICE, "a")
    assert world.compat.get(BOB, "a") == {"id": "a"}

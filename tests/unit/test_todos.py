"""The v2 todo service: add, update with versions, get, list with cursors, remove, quota and
idempotency. Todos are the `todos` declaration served by the base collection service; `Todos`
below only keeps these tests' original, todo-shaped call surface over the `World`'s service."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from miniapp.collections.todos import COLLECTION as TODOS
from miniapp.domain.ids import is_item_id as is_todo_id
from miniapp.domain.records import Row
from miniapp.domain.schema import Item
from miniapp.errors import Conflict, NotFound, QuotaExceeded, UpstreamUnavailable
from miniapp.services.collection import CollectionService

from .conftest import ALICE, BOB, World


@dataclass(frozen=True)
class Todo:
    id: str
    text: str
    completed: bool
    created_at: int
    updated_at: int
    version: int


def _todo(item: Item) -> Todo:
    return Todo(
        item.id,
        str(item.values["text"]),
        bool(item.values["completed"]),
        item.created_at,
        item.updated_at,
        item.version,
    )


class Todos:
    def __init__(self, service: CollectionService) -> None:
        assert service.declaration is TODOS
        self.service = service

    def add(
        self,
        user_id: str,
        text: str,
        completed: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Todo:
        values = {"text": text, **({} if completed is None else {"completed": completed})}
        return _todo(self.service.add(user_id, values, idempotency_key))

    def update(
        self,
        user_id: str,
        todo_id: str,
        expected: int,
        text: str | None = None,
        completed: bool | None = None,
    ) -> Todo:
        changes = {k: v for k, v in (("text", text), ("completed", completed)) if v is not None}
        return _todo(self.service.update(user_id, todo_id, expected, changes))

    def get(self, user_id: str, todo_id: str) -> Todo:
        return _todo(self.service.get(user_id, todo_id))

    def list(self, user_id: str, limit: int, cursor: str | None = None) -> SimpleNamespace:
        page = self.service.list(user_id, limit, cursor)
        return SimpleNamespace(items=tuple(_todo(i) for i in page.items), cursor=page.cursor)

    def remove(self, user_id: str, todo_id: str) -> None:
        self.service.remove(user_id, todo_id)


class TodoWorld(World):
    """A `World` with the todo-shaped surface over its todos (`items` is the 2020 table, where
    legacy todos were kept)."""

    def __init__(self, quota: int) -> None:
        super().__init__(item_quota=quota)
        self.todos = Todos(self.collection("todos"))


@pytest.fixture
def world() -> TodoWorld:
    return TodoWorld(quota=5)


def test_an_added_todo_has_a_server_id_version_one_and_timestamps(world) -> None:
    todo = world.todos.add(ALICE, "milk")
    assert is_todo_id(todo.id) and todo.version == 1 and todo.completed is False
    assert todo.created_at == todo.updated_at == world.clock.now_ms()
    assert world.todos.get(ALICE, todo.id) == todo


def test_an_add_counts_toward_the_quota(world) -> None:
    world.todos.add(ALICE, "milk")
    assert world.tallies.counted(ALICE) == 1


def test_an_add_over_the_quota_is_refused_and_writes_nothing(world) -> None:
    for n in range(5):
        world.todos.add(ALICE, f"t{n}")
    writes = world.rows.writes
    with pytest.raises(QuotaExceeded):
        world.todos.add(ALICE, "one too many")
    assert world.rows.writes == writes and len(world.rows.of(ALICE)) == 5


def test_the_quota_is_per_user(world) -> None:
    for n in range(5):
        world.todos.add(ALICE, f"t{n}")
    assert world.todos.add(BOB, "mine").text == "mine"


def test_a_failed_write_gives_the_quota_back(world) -> None:
    world.rows.fail_next("put_new", UpstreamUnavailable("busy"))
    with pytest.raises(UpstreamUnavailable):
        world.todos.add(ALICE, "milk")
    assert world.tallies.counted(ALICE) == 0 and world.rows.of(ALICE) == {}


def test_a_retried_add_with_the_same_key_returns_the_same_todo_and_writes_once(world) -> None:
    first = world.todos.add(ALICE, "milk", idempotency_key="k1")
    world.clock.advance(1)
    again = world.todos.add(ALICE, "milk", idempotency_key="k1")
    assert again == first and len(world.rows.of(ALICE)) == 1 and world.tallies.counted(ALICE) == 1


def test_idempotency_keys_are_per_user(world) -> None:
    mine = world.todos.add(ALICE, "milk", idempotency_key="k1")
    theirs = world.todos.add(BOB, "eggs", idempotency_key="k1")
    assert theirs.id != mine.id and theirs.text == "eggs"


def test_a_retry_after_a_failed_first_attempt_writes_under_the_claimed_id(world) -> None:
    world.rows.fail_next("put_new", UpstreamUnavailable("busy"))
    with pytest.raises(UpstreamUnavailable):
        world.todos.add(ALICE, "milk", idempotency_key="k1")
    claimed = world.idempotency.claims[(ALICE, "todos/k1")]
    todo = world.todos.add(ALICE, "milk", idempotency_key="k1")
    assert todo.id == claimed and len(world.rows.of(ALICE)) == 1


def test_a_retry_whose_first_write_landed_but_timed_out_does_not_write_twice(world) -> None:
    world.rows.fail_after("put_new", UpstreamUnavailable("timed out"))
    with pytest.raises(UpstreamUnavailable):
        world.todos.add(ALICE, "milk", idempotency_key="k1")
    todo = world.todos.add(ALICE, "milk", idempotency_key="k1")
    assert list(world.rows.of(ALICE)) == [todo.id]


def test_concurrent_retries_of_one_add_create_one_todo(world) -> None:
    results, barrier = [], threading.Barrier(8)

    def add() -> None:
        barrier.wait()
        results.append(world.todos.add(ALICE, "milk", idempotency_key="same"))

    threads = [threading.Thread(target=add) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({t.id for t in results}) == 1 and len(world.rows.of(ALICE)) == 1
    assert world.tallies.counted(ALICE) == 1


def test_concurrent_adds_never_exceed_the_quota(world) -> None:
    outcomes, barrier = [], threading.Barrier(12)

    def add(n: int) -> None:
        barrier.wait()
        try:
            world.todos.add(ALICE, f"t{n}")
            outcomes.append("ok")
        except QuotaExceeded:
            outcomes.append("quota")

    threads = [threading.Thread(target=add, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 5 and len(world.rows.of(ALICE)) == 5


def test_an_update_bumps_the_version_and_updated_at(world) -> None:
    todo = world.todos.add(ALICE, "milk")
    world.clock.advance(2)
    updated = world.todos.update(ALICE, todo.id, 1, completed=True)
    assert (updated.version, updated.completed, updated.text) == (2, True, "milk")
    assert updated.updated_at == todo.created_at + 2000 and updated.created_at == todo.created_at
    assert world.todos.get(ALICE, todo.id) == updated


def test_an_update_may_change_the_text_only(world) -> None:
    todo = world.todos.add(ALICE, "milk", completed=True)
    updated = world.todos.update(ALICE, todo.id, 1, text="oat milk")
    assert (updated.text, updated.completed) == ("oat milk", True)


def test_an_update_with_a_stale_version_is_a_conflict_and_changes_nothing(world) -> None:
    todo = world.todos.add(ALICE, "milk")
    world.todos.update(ALICE, todo.id, 1, text="v2")
    with pytest.raises(Conflict):
        world.todos.update(ALICE, todo.id, 1, text="lost update")
    assert world.todos.get(ALICE, todo.id).text == "v2"


def test_of_concurrent_updates_with_one_version_exactly_one_wins(world) -> None:
    todo = world.todos.add(ALICE, "milk")
    won, conflicts, barrier = [], [], threading.Barrier(20)

    def update(n: int) -> None:
        barrier.wait()
        try:
            won.append(world.todos.update(ALICE, todo.id, 1, text=f"writer {n}"))
        except Conflict:
            conflicts.append(n)

    threads = [threading.Thread(target=update, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(conflicts) == 19
    assert world.todos.get(ALICE, todo.id) == won[0]


def test_an_update_of_a_missing_todo_is_not_found(world) -> None:
    with pytest.raises(NotFound):
        world.todos.update(ALICE, "0" * 26, 1, text="x")


def test_a_user_cannot_get_update_or_remove_another_users_todo(world) -> None:
    todo = world.todos.add(ALICE, "secret")
    with pytest.raises(NotFound):
        world.todos.get(BOB, todo.id)
    with pytest.raises(NotFound):
        world.todos.update(BOB, todo.id, 1, text="mine now")
    with pytest.raises(NotFound):
        world.todos.remove(BOB, todo.id)
    assert world.todos.get(ALICE, todo.id) == todo


def test_remove_deletes_the_todo_and_gives_the_quota_back(world) -> None:
    todo = world.todos.add(ALICE, "milk")
    world.todos.remove(ALICE, todo.id)
    assert world.rows.of(ALICE) == {} and world.tallies.counted(ALICE) == 0
    with pytest.raises(NotFound):
        world.todos.remove(ALICE, todo.id)


def test_v2_does_not_see_or_remove_2020_rows(world) -> None:
    world.items.put(Row(ALICE, "buy milk", {"completed": False}))
    assert world.todos.list(ALICE, 10).items == ()
    with pytest.raises(NotFound):
        world.todos.get(ALICE, "buy milk")


def test_list_pages_through_every_todo_in_creation_order() -> None:
    world = TodoWorld(quota=100)
    added = []
    for n in range(7):
        world.clock.advance(1)
        added.append(world.todos.add(ALICE, f"t{n}"))
    seen, cursor, pages = [], None, 0
    while True:
        page = world.todos.list(ALICE, 3, cursor)
        seen.extend(page.items)
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == added and pages == 3


def test_a_full_last_page_has_no_cursor(world) -> None:
    for n in range(3):
        world.todos.add(ALICE, f"t{n}")
    page = world.todos.list(ALICE, 3)
    assert len(page.items) == 3 and page.cursor is None


def test_list_skips_2020_rows_between_todos(world) -> None:
    todo = world.todos.add(ALICE, "milk")
    for n in range(4):
        world.items.put(Row(ALICE, f"zz-2020-row-{n}", {"completed": False}))
        world.items.put(Row(ALICE, f"00-2020-row-{n}", {"completed": True}))
    page = world.todos.list(ALICE, 2)
    assert page.items == (todo,) and page.cursor is None


def test_list_shows_only_the_callers_todos(world) -> None:
    world.todos.add(BOB, "bob's")
    mine = world.todos.add(ALICE, "alice's")
    assert world.todos.list(ALICE, 100).items == (mine,)


def test_a_page_cut_short_by_many_2020_rows_still_leads_to_the_todos(world) -> None:
    for n in range(20):
        world.items.put(Row(ALICE, f"0-2020-row-{n:02}", {"n": n}))
    todo = world.todos.add(ALICE, "milk")
    first = world.todos.list(ALICE, 1)
    # The 2020 rows live apart and do not cut the page short.
    found, cursor = list(first.items), first.cursor
    while cursor is not None:
        page = world.todos.list(ALICE, 1, cursor)
        found.extend(page.items)
        cursor = page.cursor
    assert found == [todo]

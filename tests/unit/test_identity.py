"""Identity that survives Alipay's move from user_id to open_id: which internal id a login gets,
and how many identity table round trips it costs."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from miniapp.domain.identity import INTERNAL_ID_PREFIX, open_id_link, user_id_link
from miniapp.errors import UpstreamUnavailable
from miniapp.services.identity import REMEMBER_SECONDS, Identities

from .conftest import ALICE, BOB, World
from .fakes import InMemoryIdentityLinks

OPEN_A = "0" + "A" * 46
OPEN_B = "0" + "B" * 46


def calls(links: InMemoryIdentityLinks) -> dict[str, int]:
    return {name: links.calls[name] for name in ("get", "claim")}


def test_a_user_id_is_its_own_internal_id_so_existing_rows_stay_theirs() -> None:
    links = InMemoryIdentityLinks()
    assert Identities(links, "app").resolve(ALICE, "") == ALICE
    assert links.rows == {} and calls(links) == {"get": 1, "claim": 0}


def test_a_reply_with_both_links_the_open_id_to_the_user_id() -> None:
    links = InMemoryIdentityLinks()
    identities = Identities(links, "app")
    assert identities.resolve(ALICE, OPEN_A) == ALICE
    assert links.rows == {open_id_link("app", OPEN_A): ALICE}
    assert calls(links) == {"get": 2, "claim": 1}
    assert identities.resolve("", OPEN_A) == ALICE  # the app has finished its move
    assert calls(links) == {"get": 3, "claim": 1}


def test_a_new_user_seen_by_open_id_only_gets_a_new_internal_id_that_sticks() -> None:
    links = InMemoryIdentityLinks()
    identities = Identities(links, "app")
    first = identities.resolve("", OPEN_A)
    assert first.startswith(INTERNAL_ID_PREFIX) and len(first) == len(INTERNAL_ID_PREFIX) + 32
    assert identities.resolve("", OPEN_A) == first
    assert identities.resolve("", OPEN_B) != first


def test_an_open_id_user_later_seen_with_a_user_id_is_linked_both_ways() -> None:
    links = InMemoryIdentityLinks()
    identities = Identities(links, "app")
    internal = identities.resolve("", OPEN_A)
    assert identities.resolve(BOB, OPEN_A) == internal
    assert links.rows[user_id_link(BOB)] == internal
    assert identities.resolve(BOB, "") == internal


def test_open_ids_of_another_app_are_other_keys() -> None:
    links = InMemoryIdentityLinks()
    Identities(links, "app-1").resolve(ALICE, OPEN_A)
    # The same open_id string from another app is not Alice (open_ids are per app).
    assert Identities(links, "app-2").resolve("", OPEN_A) != ALICE


def test_skipping_the_verification_phase_loses_the_link() -> None:
    """Documented in docs/alipay.md: without a reply carrying both, nothing ties them."""
    links = InMemoryIdentityLinks()
    identities = Identities(links, "app")
    assert identities.resolve(ALICE, "") == ALICE
    assert identities.resolve("", OPEN_A) != ALICE


def test_concurrent_first_logins_of_one_user_end_with_one_internal_id() -> None:
    links = InMemoryIdentityLinks()
    identities = Identities(links, "app")
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def login() -> None:
        barrier.wait()
        seen.append(identities.resolve("", OPEN_A))

    threads = [threading.Thread(target=login) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1 and links.rows == {open_id_link("app", OPEN_A): seen[0]}


def test_a_race_lost_between_read_and_claim_reads_the_winner() -> None:
    links = InMemoryIdentityLinks()
    ids = iter(["u-" + "1" * 32, "u-" + "2" * 32])
    identities = Identities(links, "app", new_id=lambda: next(ids))
    links.rows[open_id_link("app", OPEN_A)] = "u-" + "0" * 32  # won by another instance
    links.get = lambda key: None  # type: ignore[method-assign]  # ... after our read
    assert identities.resolve("", OPEN_A) == "u-" + "0" * 32


def test_a_reply_naming_nobody_is_an_upstream_failure() -> None:
    with pytest.raises(UpstreamUnavailable):
        Identities(InMemoryIdentityLinks(), "app").resolve("", "")


def test_todos_survive_the_apps_move_from_user_id_through_both_to_open_id() -> None:
    world = World()
    sid = world.login(ALICE)
    world.ok(world.db({"sid": sid, "op": "put", "obj": {"id": "a", "text": "milk"}}))
    for user_id, open_id in ((ALICE, OPEN_A), ("", OPEN_A)):
        sid = world.login(user_id, open_id)
        assert world.ok(world.db({"sid": sid, "op": "get", "id": "a"}))["text"] == "milk"
    assert {key[0] for key in world.items.rows} == {ALICE}


def test_a_new_app_in_openid_mode_works_from_the_first_login() -> None:
    world = World()
    sid = world.login("", OPEN_B)
    world.ok(world.db({"sid": sid, "op": "put", "obj": {"id": "a", "text": "bread"}}))
    again = world.login("", OPEN_B)
    assert world.ok(world.db({"sid": again, "op": "list"}))[0]["text"] == "bread"


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.ms = 0

    def __call__(self) -> int:
        return self.ms


@pytest.mark.parametrize("user_id, open_id", [(ALICE, ""), (ALICE, OPEN_A), ("", OPEN_A)])
def test_a_warm_instance_resolves_a_returning_user_without_a_read(
    user_id: str, open_id: str
) -> None:
    links = InMemoryIdentityLinks()
    identities = Identities(links, "app")
    first = identities.resolve(user_id, open_id)
    before = calls(links)
    assert identities.resolve(user_id, open_id) == first
    assert calls(links) == before
    # A new instance (nothing remembered) reads the links and finds the same user.
    fresh = InMemoryIdentityLinks()
    fresh.rows = links.rows
    assert Identities(fresh, "app").resolve(user_id, open_id) == first
    assert calls(fresh)["get"] >= 1


def test_remembering_never_makes_two_alipay_users_one() -> None:
    links = InMemoryIdentityLinks()
    identities = Identities(links, "app")
    # An open_id with the same text as a user_id is another user (and another link key).
    carol = "2088000000000003"
    named = [(ALICE, ""), (BOB, ""), ("", ALICE), ("", OPEN_A), (carol, OPEN_B), ("", OPEN_B)]
    ids = {pair: identities.resolve(*pair) for pair in named}
    for _ in range(2):  # again, now from what the instance remembers
        assert {pair: identities.resolve(*pair) for pair in named} == ids
    assert ids[("", OPEN_B)] == ids[(carol, OPEN_B)] == carol  # one user, linked by the reply
    others = [ids[pair] for pair in named if pair != ("", OPEN_B)]
    assert len(set(others)) == len(others), ids
    # Another instance, reading the rows only, agrees on every one.
    assert {pair: Identities(links, "app").resolve(*pair) for pair in named} == ids


def test_a_link_this_instance_adds_changes_what_it_remembers_at_once() -> None:
    links = InMemoryIdentityLinks()
    identities = Identities(links, "app")
    assert identities.resolve(BOB, "") == BOB  # no uid# link: the user_id is the id
    internal = identities.resolve("", OPEN_A)  # a user first seen by open_id alone ...
    assert identities.resolve(BOB, OPEN_A) == internal  # ... turns out to be Bob: uid# link
    assert identities.resolve(BOB, "") == internal


def test_a_link_another_instance_adds_is_seen_once_the_entry_ages_out() -> None:
    links = InMemoryIdentityLinks()
    ticks = Ticks()
    identities = Identities(links, "app", now_ms=ticks)
    assert identities.resolve(BOB, "") == BOB
    elsewhere = Identities(links, "app")
    internal = elsewhere.resolve("", OPEN_A)
    assert elsewhere.resolve(BOB, OPEN_A) == internal
    ticks.ms = REMEMBER_SECONDS * 1000 - 1
    assert identities.resolve(BOB, "") == BOB  # the bound the module doc states
    ticks.ms = REMEMBER_SECONDS * 1000
    assert identities.resolve(BOB, "") == internal


def test_an_instance_remembers_a_bounded_number_of_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("miniapp.services.identity.REMEMBERED_USERS", 3)
    links = InMemoryIdentityLinks()
    identities = Identities(links, "app")
    users = [f"20880000000000{n:02d}" for n in range(4)]
    for user in users:
        identities.resolve(user, "")
    assert calls(links)["get"] == 4
    identities.resolve(users[3], "")  # kept
    assert calls(links)["get"] == 4
    identities.resolve(users[0], "")  # the least recently used went
    assert calls(links)["get"] == 5


def test_a_failed_resolve_is_not_remembered() -> None:
    links = InMemoryIdentityLinks()
    identities = Identities(links, "app", new_id=lambda: "u-" + "3" * 32)
    links.fail_next("get", UpstreamUnavailable("identity read failed"))
    with pytest.raises(UpstreamUnavailable):
        identities.resolve("", OPEN_A)
    links.fail_after("claim", UpstreamUnavailable("identity claim failed"))  # landed, reply lost
    with pytest.raises(UpstreamUnavailable):
        identities.resolve("", OPEN_A)
    assert identities.resolve("", OPEN_A) == "u-" + "3" * 32  # read back from the row
    assert calls(links) == {"get": 3, "claim": 1}
    assert links.rows == {open_id_link("app", OPEN_A): "u-" + "3" * 32}


class LinksRacedByAnotherLogin(InMemoryIdentityLinks):
    """Links whose first read of `uid#` + `user_id` finds none, and then, before that read
    answers, lets `meanwhile` run (another login on the same instance)."""

    def __init__(self, user_id: str) -> None:
        super().__init__()
        self.raced_key = user_id_link(user_id)
        self.meanwhile: list[Callable[[], None]] = []

    def get(self, key: str) -> str | None:
        found = super().get(key)
        if key == self.raced_key and self.meanwhile:
            self.meanwhile.pop()()
        return found


def test_a_link_added_while_a_user_id_login_reads_is_not_forgotten() -> None:
    """Two logins of one user at once on one instance (InstanceConcurrency above 1): one names
    the user_id alone and reads no uid# link; meanwhile one naming both adds it. What the first
    found is not remembered over the link."""
    links = LinksRacedByAnotherLogin(BOB)
    identities = Identities(links, "app", now_ms=Ticks())
    internal = identities.resolve("", OPEN_A)  # a user first seen by open_id alone

    def a_login_naming_both() -> None:
        identities.resolve(BOB, OPEN_A)  # Bob after all: it adds the uid# link

    links.meanwhile.append(a_login_naming_both)
    assert identities.resolve(BOB, "") == BOB  # as the rows were when it read
    assert links.rows[user_id_link(BOB)] == internal
    assert identities.resolve(BOB, "") == internal

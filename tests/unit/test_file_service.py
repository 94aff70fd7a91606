"""The files collection on fakes (miniapp.testing.World, FakeFileObjects): the v2 ops as the db
function serves them, commit's checks and its repeats after a fault at each step, the quotas, the
per-user scope of every signature, and a todo's picture removed with its todo. The same contract
on the local cloud, through oss2 and raw forms: tests/e2e/test_files.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from miniapp.collections.files import COLLECTION as FILES
from miniapp.domain.files import Declared, FileRules, Ticket, file_key, upload_key
from miniapp.errors import UpstreamUnavailable
from miniapp.testing import ALICE, BOB, World
from miniapp.testing.fake_files import PostRefused, Stored

PHOTO = b"\xff\xd8\xff\xe0" + bytes(1000)


def error_code(answer: dict[str, Any]) -> str:
    assert "error" in answer, answer
    return str(answer["error"]["code"])


class Phone:
    """One user's calls, as the mini program makes them."""

    def __init__(self, world: World, user: str = ALICE) -> None:
        self.world = world
        self.sid = world.login(user)
        self.user_id = user  # a user_id-only login keeps Alipay's user_id as the internal id

    def files(self, op: str, **fields: Any) -> dict[str, Any]:
        return self.world.v2(self.sid, op, collection="files", **fields)

    def ok(self, op: str, **fields: Any) -> Any:
        return self.world.ok(self.files(op, **fields))

    def ticket(self, size: int = len(PHOTO), **over: Any) -> dict[str, Any]:
        fields = {"name": "照片 1.jpg", "contentType": "image/jpeg", "size": size, **over}
        return self.ok("prepareUpload", **fields)

    def upload(self, content: bytes = PHOTO) -> dict[str, Any]:
        """prepareUpload, the form posted, commit: the file item."""
        ticket = self.ticket(size=len(content))
        self.post(ticket, content)
        return self.ok("commit", fileId=ticket["fileId"])

    def post(self, ticket: dict[str, Any], content: bytes = PHOTO) -> None:
        self.world.files.post(Ticket(ticket["fileId"], ticket["url"], ticket["formData"]), content)


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def alice(world: World) -> Phone:
    return Phone(world)


def test_upload_commit_list_url_and_remove(world: World, alice: Phone) -> None:
    ticket = alice.ticket()
    assert ticket["fileField"] == "file"
    assert ticket["expiresAt"] == world.clock.now_ms() + 600_000
    assert ticket["formData"]["key"] == upload_key(alice.user_id, ticket["fileId"])
    alice.post(ticket)
    item = alice.ok("commit", fileId=ticket["fileId"])
    assert (item["id"], item["name"], item["contentType"], item["size"]) == (
        ticket["fileId"],
        "照片 1.jpg",
        "image/jpeg",
        len(PHOTO),
    )
    # The upload became the committed file; the staging object is gone.
    assert world.files.keys() == [file_key(alice.user_id, item["id"])]
    assert alice.ok("get", id=item["id"]) == item
    assert alice.ok("list", limit=10)["items"] == [item]
    url = alice.ok("url", id=item["id"])
    assert url["expiresAt"] == world.clock.now_ms() + 900_000
    assert world.files.signed == [(alice.user_id, file_key(alice.user_id, item["id"]))]
    assert alice.ok("remove", id=item["id"]) is None
    assert world.files.keys() == []
    assert error_code(alice.files("get", id=item["id"])) == "NotFound"


def test_commit_refuses_what_was_never_uploaded_or_does_not_match(
    world: World, alice: Phone
) -> None:
    ticket = alice.ticket()
    assert error_code(alice.files("commit", fileId=ticket["fileId"])) == "NotFound"
    # An object at the staging key that is not what the ticket declared (written around the
    # policy): Conflict, and the object is deleted, since it can never be committed.
    key = ticket["formData"]["key"]
    declared = Declared("照片 1.jpg", "image/jpeg", len(PHOTO))
    world.files.objects[key] = Stored(PHOTO + b"x", "image/jpeg", declared.meta())
    assert error_code(alice.files("commit", fileId=ticket["fileId"])) == "Conflict"
    assert world.files.keys() == []
    world.files.objects[key] = Stored(PHOTO, "image/png", declared.meta())
    assert error_code(alice.files("commit", fileId=ticket["fileId"])) == "Conflict"
    world.files.objects[key] = Stored(PHOTO, "image/jpeg", {})  # no declaration bound to it
    assert error_code(alice.files("commit", fileId=ticket["fileId"])) == "Conflict"
    assert alice.ok("list", limit=10)["items"] == []


def test_the_fake_oss_holds_a_form_to_its_ticket(world: World, alice: Phone) -> None:
    """What the service relies on OSS for (the local OSS does the same: tests/contract)."""
    t = alice.ticket()
    ticket = Ticket(t["fileId"], t["url"], t["formData"])
    with pytest.raises(PostRefused, match="EntityTooLarge"):
        world.files.post(ticket, PHOTO + b"x")
    with pytest.raises(PostRefused, match="AccessDenied"):
        world.files.post(ticket, PHOTO, key=upload_key(BOB, t["fileId"]))
    world.clock.advance(601)
    with pytest.raises(PostRefused, match="AccessDenied"):
        world.files.post(ticket, PHOTO)
    assert world.files.keys() == []


def test_a_commit_repeated_after_a_fault_at_each_step_makes_one_file(
    world: World, alice: Phone
) -> None:
    ticket = alice.ticket()
    alice.post(ticket)
    file_id = ticket["fileId"]
    # The copy landed, then its answer was lost: the commit fails, nothing is an item yet.
    world.files.fail_after("copy", UpstreamUnavailable("OSS CopyObject failed"))
    assert error_code(alice.files("commit", fileId=file_id)) == "UpstreamUnavailable"
    assert alice.ok("list", limit=10)["items"] == []
    # The item's write fails: the copy stays, the staging object too.
    world.rows.fail_next("put_new", UpstreamUnavailable("Tablestore PutRow failed"))
    assert error_code(alice.files("commit", fileId=file_id)) == "UpstreamUnavailable"
    # Dropping the staging object fails: the commit still answers the item (the lifecycle rule
    # removes the upload a day later).
    world.files.fail_next("delete", UpstreamUnavailable("OSS DeleteObject failed"))
    item = alice.ok("commit", fileId=file_id)
    assert world.files.keys() == sorted(
        [file_key(alice.user_id, file_id), upload_key(alice.user_id, file_id)]
    )
    # A commit whose reply was lost, sent again: the same item, no copy made again.
    copies = world.files.copies
    assert alice.ok("commit", fileId=file_id) == item
    assert world.files.copies == copies
    assert [i["id"] for i in alice.ok("list", limit=10)["items"]] == [file_id]


def test_quotas_per_file_per_user_bytes_and_files() -> None:
    small = replace(FILES, quota=3, files=FileRules(max_file_bytes=1000, quota_bytes=2500))
    world = World(collections=(small,))
    alice = Phone(world)

    def refused(size: int) -> str:
        answer = alice.files("prepareUpload", name="a.jpg", contentType="image/jpeg", size=size)
        return error_code(answer)

    assert refused(1001) == "QuotaExceeded"  # a file over max_file_bytes
    alice.upload(bytes(1000))
    alice.upload(bytes(1000))
    assert refused(501) == "QuotaExceeded"  # 2000 of 2500 bytes held: 501 more do not fit
    late = alice.ticket(size=500)  # asked while 500 fit
    alice.upload(bytes(500))
    # Three files held, the collection's quota: the next ticket is refused, and so is the late
    # ticket's commit (checked again there), which copies nothing.
    assert refused(1) == "QuotaExceeded"
    alice.post(late, bytes(500))
    assert error_code(alice.files("commit", fileId=late["fileId"])) == "QuotaExceeded"
    assert len(alice.ok("list", limit=10)["items"]) == 3
    assert file_key(alice.user_id, late["fileId"]) not in world.files.keys()


def test_what_prepare_upload_refuses(alice: Phone) -> None:
    cases = [
        {"contentType": "text/html"},
        {"contentType": "image/JPEG"},
        {"name": "../a.jpg"},
        {"name": "a\nb.jpg"},
        {"name": ""},
        {"size": 0},
        {"size": 1.5},
        {"size": "10"},
    ]
    for over in cases:
        fields = {"name": "a.jpg", "contentType": "image/jpeg", "size": 10, **over}
        assert error_code(alice.files("prepareUpload", **fields)) == "InvalidRequest", over
    assert error_code(alice.files("add", name="a.jpg")) == "InvalidRequest"
    assert error_code(alice.files("update", id="01HZX3K8Q4W5E6R7T8Y9V0J1P2")) == "InvalidRequest"


def test_another_user_reaches_none_of_alices_files(world: World, alice: Phone) -> None:
    item = alice.upload()
    bob = Phone(world, BOB)
    for op in ("get", "url", "remove"):
        assert error_code(bob.files(op, id=item["id"])) == "NotFound", op
    assert error_code(bob.files("commit", fileId=item["id"])) == "NotFound"
    assert bob.ok("list", limit=10)["items"] == []
    # Bob's todo cannot name Alice's file.
    answer = world.v2(bob.sid, "add", text="mine", picture=item["id"])
    assert error_code(answer) == "InvalidRequest"
    assert world.files.signed == []
    assert alice.ok("get", id=item["id"]) == item


def test_a_todos_picture_goes_with_the_todo(world: World, alice: Phone) -> None:
    first, second = alice.upload(), alice.upload()
    todo = world.ok(world.v2(alice.sid, "add", text="with a picture", picture=first["id"]))
    assert todo["picture"] == first["id"]
    # Replacing it removes the first file; clearing it removes the second.
    todo = world.ok(
        world.v2(alice.sid, "update", id=todo["id"], expectedVersion=1, picture=second["id"])
    )
    assert error_code(alice.files("get", id=first["id"])) == "NotFound"
    todo = world.ok(world.v2(alice.sid, "update", id=todo["id"], expectedVersion=2, picture=None))
    assert "picture" not in todo
    assert alice.ok("list", limit=10)["items"] == []
    # A new one, then the todo removed: the file goes with it.
    third = alice.upload()
    world.ok(world.v2(alice.sid, "update", id=todo["id"], expectedVersion=3, picture=third["id"]))
    world.ok(world.v2(alice.sid, "remove", id=todo["id"]))
    assert world.files.keys() == []


def test_a_file_that_cannot_be_removed_stays_and_the_todo_write_stands(
    world: World, alice: Phone
) -> None:
    picture = alice.upload()
    todo = world.ok(world.v2(alice.sid, "add", text="t", picture=picture["id"]))
    world.files.fail_next("delete", UpstreamUnavailable("OSS DeleteObject failed"))
    assert world.ok(world.v2(alice.sid, "remove", id=todo["id"])) is None
    # The file stays in the user's files, where removing it frees its bytes.
    assert alice.ok("get", id=picture["id"]) == picture
    alice.ok("remove", id=picture["id"])
    assert world.files.keys() == []


def test_without_a_bucket_the_file_ops_are_misconfigured_and_todos_work() -> None:
    world = World(bucket=False)
    alice = Phone(world)
    assert (
        error_code(alice.files("prepareUpload", name="a.jpg", contentType="image/jpeg", size=10))
        == "Misconfigured"
    )
    assert world.ok(world.v2(alice.sid, "add", text="still works"))["text"] == "still works"

from miniapp.collections.notes import COLLECTION as NOTES
from miniapp.testing import World


def test_a_note_starts_unpinned() -> None:
    world = World(collections=(NOTES,))
    sid = world.login("2088000000000001")
    note = world.ok(world.v2(sid, "add", collection="notes", title="call mum"))
    assert note["pinned"] is False and note["version"] == 1

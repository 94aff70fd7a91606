"""The local OSS's object operations through `oss2` only: user metadata, Range, conditional GETs,
ListObjects v1 with delimiters, DeleteMultipleObjects, multipart upload, and objects kept on
disk."""

from __future__ import annotations

import stat
import time

import oss2
import pytest

from localcloud.clock import ShiftableClock
from localcloud.oss import ObjectStore
from localcloud.state import Database

DATA = bytes(range(256)) * 4  # 1 KiB


def test_user_metadata_comes_back_with_the_object(bucket):
    # oss2 signs a header's UTF-8 bytes: non-ASCII values go as those bytes, as OSS reads them.
    bucket.put_object(
        "a.txt", b"a", headers={"x-oss-meta-owner": "user-1", "x-oss-meta-title": "中文".encode()}
    )
    meta = bucket.head_object("a.txt").headers
    assert meta["x-oss-meta-owner"] == "user-1"
    assert meta["x-oss-meta-title"].encode("latin-1").decode() == "中文"
    assert bucket.get_object("a.txt").headers["x-oss-meta-owner"] == "user-1"


def test_a_range_read_is_206_with_its_content_range(bucket):
    bucket.put_object("r.bin", DATA)
    part = bucket.get_object("r.bin", byte_range=(10, 19))
    assert part.status == 206 and part.read() == DATA[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(DATA)}"
    assert bucket.get_object("r.bin", byte_range=(None, 4)).read() == DATA[-4:]
    assert bucket.get_object("r.bin", byte_range=(1000, None)).read() == DATA[1000:]
    assert bucket.get_object("r.bin", byte_range=(1020, 5000)).read() == DATA[1020:]


def test_an_unsatisfiable_range_is_ignored_as_oss_does(bucket):
    bucket.put_object("r.bin", DATA)
    whole = bucket.get_object("r.bin", byte_range=(5000, 6000))
    assert whole.status == 200 and whole.read() == DATA
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.get_object(
            "r.bin", byte_range=(5000, 6000), headers={"x-oss-range-behavior": "standard"}
        )
    assert (info.value.status, info.value.code) == (416, "InvalidRange")


def test_conditional_gets_answer_304_and_412(bucket):
    etag = bucket.put_object("c.txt", b"c").etag
    modified = bucket.head_object("c.txt").last_modified
    later = oss2.utils.http_date(modified + 60)
    earlier = oss2.utils.http_date(modified - 60)
    for headers in ({"If-None-Match": f'"{etag}"'}, {"If-Modified-Since": later}):
        with pytest.raises(oss2.exceptions.NotModified):
            bucket.get_object("c.txt", headers=headers)
    for headers in (
        {"If-Match": '"0123456789ABCDEF0123456789ABCDEF"'},
        {"If-Unmodified-Since": earlier},
    ):
        with pytest.raises(oss2.exceptions.PreconditionFailed):
            bucket.get_object("c.txt", headers=headers)
    assert (
        bucket.get_object(
            "c.txt", headers={"If-Match": f'"{etag}"', "If-Modified-Since": earlier}
        ).read()
        == b"c"
    )


def test_list_objects_v1_rolls_keys_up_by_delimiter(bucket):
    for key in (
        "users/u1/a.jpg",
        "users/u1/b.jpg",
        "users/u2/c.jpg",
        "users/readme.txt",
        "top.txt",
    ):
        bucket.put_object(key, b"x")
    listed = bucket.list_objects(prefix="users/", delimiter="/")
    assert [o.key for o in listed.object_list] == ["users/readme.txt"]
    assert listed.prefix_list == ["users/u1/", "users/u2/"] and not listed.is_truncated
    first = bucket.list_objects(prefix="users/u1/", max_keys=1)
    assert [o.key for o in first.object_list] == ["users/u1/a.jpg"] and first.is_truncated
    rest = bucket.list_objects(prefix="users/u1/", marker=first.next_marker)
    assert [o.key for o in rest.object_list] == ["users/u1/b.jpg"] and not rest.is_truncated
    walked = [o.key for o in oss2.ObjectIterator(bucket, delimiter="/", max_keys=1)]
    assert walked == ["top.txt", "users/"]


def test_list_objects_v2_rolls_keys_up_by_delimiter(bucket):
    for key in ("p/1/a", "p/1/b", "p/2/c", "p/d"):
        bucket.put_object(key, b"x")
    listed = bucket.list_objects_v2(prefix="p/", delimiter="/")
    assert [o.key for o in listed.object_list] == ["p/d"]
    assert listed.prefix_list == ["p/1/", "p/2/"]


def test_delete_multiple_objects_deletes_each_key(bucket):
    for key in ("d/1", "d/2", "keep"):
        bucket.put_object(key, b"x")
    result = bucket.batch_delete_objects(["d/1", "d/2", "d/never-there"])  # sends Content-MD5
    assert sorted(result.deleted_keys) == ["d/1", "d/2", "d/never-there"]
    assert [o.key for o in oss2.ObjectIterator(bucket)] == ["keep"]


def test_multipart_upload_initiate_parts_list_complete(bucket):
    first, last = b"a" * (100 * 1024), b"tail"
    upload_id = bucket.init_multipart_upload("big.bin").upload_id
    parts = [
        oss2.models.PartInfo(1, bucket.upload_part("big.bin", upload_id, 1, first).etag),
        oss2.models.PartInfo(2, bucket.upload_part("big.bin", upload_id, 2, last).etag),
    ]
    listed = bucket.list_parts("big.bin", upload_id)
    assert [(p.part_number, p.size) for p in listed.parts] == [(1, len(first)), (2, len(last))]
    uploads = bucket.list_multipart_uploads()
    assert [(u.key, u.upload_id) for u in uploads.upload_list] == [("big.bin", upload_id)]
    done = bucket.complete_multipart_upload("big.bin", upload_id, parts)  # oss2 checks CRC-64
    assert done.etag.endswith("-2")
    assert bucket.get_object("big.bin").read() == first + last
    assert bucket.head_object("big.bin").object_type == "Multipart"
    assert bucket.list_multipart_uploads().upload_list == []


def test_an_aborted_upload_is_gone(bucket):
    upload_id = bucket.init_multipart_upload("x.bin").upload_id
    bucket.upload_part("x.bin", upload_id, 1, b"p")
    bucket.abort_multipart_upload("x.bin", upload_id)
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.list_parts("x.bin", upload_id)
    assert not bucket.object_exists("x.bin")


def test_complete_refuses_a_small_part_or_a_wrong_etag(bucket):
    upload_id = bucket.init_multipart_upload("s.bin").upload_id
    etags = [bucket.upload_part("s.bin", upload_id, n, b"small").etag for n in (1, 2)]
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.complete_multipart_upload(
            "s.bin",
            upload_id,
            [oss2.models.PartInfo(n, etag) for n, etag in zip((1, 2), etags, strict=True)],
        )
    assert info.value.code == "EntityTooSmall"
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.complete_multipart_upload("s.bin", upload_id, [oss2.models.PartInfo(1, "0" * 32)])
    assert (info.value.status, info.value.code) == (400, "InvalidPart")
    assert not bucket.object_exists("s.bin")


def test_objects_live_on_disk_owner_only(oss, bucket):
    content = DATA + b"on disk"
    bucket.put_object("disk.bin", content)
    folder = oss.state / "oss"
    files = [p for p in folder.iterdir() if p.read_bytes() == content]
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    bucket.delete_object("disk.bin")
    assert not files[0].exists()


def test_objects_stored_in_rows_by_an_older_version_move_to_disk(tmp_path):
    old = Database(
        tmp_path / "oss.sqlite3",
        """
        CREATE TABLE buckets (name TEXT PRIMARY KEY, created REAL NOT NULL);
        CREATE TABLE objects (bucket TEXT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL,
            etag TEXT NOT NULL, content_type TEXT NOT NULL, modified REAL NOT NULL,
            PRIMARY KEY (bucket, key))""",
    )
    with old.transaction() as conn:
        conn.execute("INSERT INTO buckets VALUES ('pkgs', ?)", (time.time(),))
        conn.execute(
            "INSERT INTO objects VALUES ('pkgs', 'a.zip', ?, 'E', 'application/zip', ?)",
            (b"PK-old", time.time()),
        )
    old.close()
    store = ObjectStore(tmp_path / "oss.sqlite3", ShiftableClock())
    info, data = store.get("pkgs", "a.zip")
    assert data == b"PK-old" and info.content_type == "application/zip"
    assert any(p.read_bytes() == b"PK-old" for p in (tmp_path / "oss").iterdir())

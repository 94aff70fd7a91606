"""Users' files in the console: the Users page says where each sandbox user's files are (their
internal id's folder, in user_id and in open_id mode) and the files call lists them with their
names and a URL the preview loads; the state file carries them (local/localcloud/oss/exports.py):
the objects of the template's buckets travel in the export with their bytes and metadata, a reset
forgets them (their bytes too), an import brings them back; other buckets (`make deploy`'s
packages) are left alone; a file whose users' files do not hold together is refused and changes
nothing. On a cloud of its own: a reset and an import replace its whole state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import oss2
import pytest
import requests

from localcloud.miniprogram import MiniProgram
from tests.conftest import SHARED_CLOUD_PARAMETERS, running_local_cloud
from tests.contract.osskit import upload_picture
from tests.contract.test_console import MUTATE, _entries, _zipped

PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_local_cloud(tmp_path_factory.mktemp("files-state"), SHARED_CLOUD_PARAMETERS) as c:
        yield c


def _api(cloud: Any, method: str, path: str, **kwargs: Any) -> requests.Response:
    url = cloud.url("fc") + "/_localcloud/api/" + path
    return requests.request(method, url, timeout=60, **kwargs)


def _bucket(cloud: Any, name: str) -> oss2.Bucket:
    config = cloud.cloud_config()
    auth = oss2.Auth(config["accessKeyId"], config["accessKeySecret"])
    return oss2.Bucket(auth, cloud.url("oss"), name)


def _files(cloud: Any) -> oss2.Bucket:
    """The template's bucket of users' files."""
    [declared] = cloud.template.buckets
    return _bucket(cloud, declared.name)


def _keys(bucket: oss2.Bucket) -> list[str]:
    return [o.key for o in oss2.ObjectIterator(bucket)]


def _blob_files(cloud: Any) -> set[str]:
    """The object bytes on disk (one file per object)."""
    folder = cloud.oss.store.blobs.path("0" * 32).parent
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")}


def _named_blobs(cloud: Any) -> set[str]:
    with cloud.oss.store.database.transaction() as conn:
        return {r[0] for r in conn.execute("SELECT blob FROM objects UNION SELECT blob FROM parts")}


def _listed(cloud: Any, user_id: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Where the Users page says the user's files are, and what the Files page lists there."""
    [user] = [u for u in _api(cloud, "GET", "users").json()["users"] if u["userId"] == user_id]
    where = user["files"]
    query = {"bucket": where["bucket"], "prefix": where["prefix"]}
    return where, _api(cloud, "GET", "files", params=query).json()["objects"]


@pytest.mark.parametrize("mode", ["user_id", "open_id"])
def test_the_users_page_finds_each_users_files_and_the_files_page_lists_them(cloud, mode):
    app_id = cloud.alipay_app_id
    before = cloud.alipay.apps.get(app_id).identity
    cloud.alipay.set_identity(mode)
    try:
        app = MiniProgram(cloud.cloud_config())
        file_id = upload_picture(app, "照片 1.png", PICTURE)
    finally:
        cloud.alipay.set_identity(before)
    where, objects = _listed(cloud, app.user_id)
    assert where["bucket"] == _files(cloud).bucket_name
    # user_id mode: the user_id is the internal id; open_id mode: a new one (u-...), which only
    # the identity link knows.
    internal = app.user_id if mode == "user_id" else where["prefix"].split("/")[1]
    assert where["prefix"] == f"files/{internal}/"
    assert mode == "user_id" or internal.startswith("u-")
    [shown] = objects
    assert shown["key"] == f"files/{internal}/{file_id}"
    assert (shown["name"], shown["contentType"], shown["size"]) == (
        "照片 1.png",
        "image/png",
        len(PICTURE),
    )
    assert requests.get(shown["url"], timeout=10).content == PICTURE  # what the preview loads


@pytest.fixture
def stocked(cloud: Any) -> dict[str, Any]:
    """Two users' committed files and an upload in the files bucket, and a package in a bucket
    of its own, as `make deploy` leaves one; nothing else (a reset first)."""
    assert _api(cloud, "DELETE", "state", headers=MUTATE).status_code == 200
    files = _files(cloud)
    files.put_object(
        "files/u1/01A",
        PICTURE,
        headers={"Content-Type": "image/png", "x-oss-meta-name": "%E7%85%A7.png"},
    )
    files.put_object("files/u2/01B", b"\xff\xd8jpeg", headers={"Content-Type": "image/jpeg"})
    files.put_object("uploads/u1/01C", b"staged", headers={"Content-Type": "image/png"})
    packages = _bucket(cloud, "deploy-packages")
    packages.create_bucket()
    packages.put_object("db.zip", b"PK package")
    return {"files": files, "packages": packages}


def test_users_files_travel_in_the_state_file_and_a_reset_forgets_them(cloud, stocked):
    files, packages = stocked["files"], stocked["packages"]
    exported = _api(cloud, "GET", "state").content
    entries = _entries(exported)
    index = json.loads(entries["oss/objects.json"])
    assert [(o["bucket"], o["key"]) for o in index] == [
        (files.bucket_name, k) for k in ("files/u1/01A", "files/u2/01B", "uploads/u1/01C")
    ]
    assert entries[f"oss/{index[0]['blob']}"] == PICTURE
    assert index[0]["meta"] == {"x-oss-meta-name": "%E7%85%A7.png"}
    assert not any(b"PK package" == content for content in entries.values())
    assert json.loads(entries["manifest.json"])["parts"] == ["oss"]

    assert _api(cloud, "DELETE", "state", headers=MUTATE).json()["reset"][-1] == "oss"
    assert _keys(files) == [] and _keys(packages) == ["db.zip"]
    assert _blob_files(cloud) == _named_blobs(cloud)  # the users' files' bytes are gone too

    answer = _api(cloud, "POST", "state", data=exported, headers=MUTATE)
    assert answer.status_code == 200 and "oss" in answer.json()["imported"], answer.text
    assert _keys(files) == ["files/u1/01A", "files/u2/01B", "uploads/u1/01C"]
    back = files.get_object("files/u1/01A")
    assert back.read() == PICTURE and back.headers["Content-Type"] == "image/png"
    assert back.headers["x-oss-meta-name"] == "%E7%85%A7.png"
    assert _keys(packages) == ["db.zip"] and packages.get_object("db.zip").read() == b"PK package"
    # Imported again over itself: the same objects, no byte file left unnamed.
    assert _api(cloud, "POST", "state", data=exported, headers=MUTATE).status_code == 200
    assert _keys(files) == ["files/u1/01A", "files/u2/01B", "uploads/u1/01C"]
    assert _blob_files(cloud) == _named_blobs(cloud)


def _damaged(entries: dict[str, bytes], damage: str) -> dict[str, bytes]:
    index = json.loads(entries["oss/objects.json"])
    first = f"oss/{index[0]['blob']}"
    if damage == "bytes missing":
        del entries[first]
    elif damage == "bytes of another size":
        entries[first] += b"x"
    elif damage == "bytes no object names":
        entries["oss/" + "f" * 32] = b"stray"
    elif damage == "a path for a blob":
        entries["oss/../../escape"] = b"x"
    elif damage == "no index":
        del entries["oss/objects.json"]
    elif damage == "index not json":
        entries["oss/objects.json"] = b"[{"
    else:
        field, value = {
            "a bucket not declared": ("bucket", "deploy-packages"),
            "not an object key": ("key", "/abs"),
            "a blob name that is a path": ("blob", "../x"),
            "metadata not text": ("meta", {"x-oss-meta-n": 1}),
            "a size as text": ("size", "10"),
        }[damage]
        index[0][field] = value
        entries["oss/objects.json"] = json.dumps(index).encode()
    return entries


@pytest.mark.parametrize(
    "damage",
    [
        "bytes missing",
        "bytes of another size",
        "bytes no object names",
        "a path for a blob",
        "no index",
        "index not json",
        "a bucket not declared",
        "not an object key",
        "a blob name that is a path",
        "metadata not text",
        "a size as text",
    ],
)
def test_broken_users_files_refuse_the_file_and_change_nothing(cloud, stocked, damage):
    files = stocked["files"]
    entries = _damaged(_entries(_api(cloud, "GET", "state").content), damage)
    files.delete_object("files/u2/01B")  # the cloud moves on after the export
    rows = _api(cloud, "GET", "tables/user_data/rows?limit=100").json()["rows"]
    refused = _api(cloud, "POST", "state", data=_zipped(entries), headers=MUTATE)
    assert refused.status_code == 400, refused.text
    assert _keys(files) == ["files/u1/01A", "uploads/u1/01C"]
    assert _api(cloud, "GET", "tables/user_data/rows?limit=100").json()["rows"] == rows
    assert _blob_files(cloud) == _named_blobs(cloud)


def test_a_file_from_before_users_files_leaves_them_as_they_are(cloud, stocked):
    files = stocked["files"]
    entries = _entries(_api(cloud, "GET", "state").content)
    older = _zipped({k: v for k, v in entries.items() if not k.startswith("oss/")})
    files.delete_object("uploads/u1/01C")
    answer = _api(cloud, "POST", "state", data=older, headers=MUTATE)
    assert answer.status_code == 200 and "oss" not in answer.json()["imported"], answer.text
    assert _keys(files) == ["files/u1/01A", "files/u2/01B"]

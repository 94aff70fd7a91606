"""Users' files end to end on the local cloud (docs/files.md): a ticket from prepareUpload, the
form posted as my.uploadFile posts it, commit, list, a signed GET (and a Range read), remove; each
refusal of the issue's "Bad input"; and one user never reaching another's files, whatever ticket or
URL they hold."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlsplit

import oss2
import pytest
import requests

from localcloud.miniprogram import MiniProgram, Session

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 16  # 4100 bytes


def v2(app: MiniProgram, session: Session, op: str, **fields: Any) -> Any:
    answer = app.db(session, op, v=2, **fields)
    assert "data" in answer, answer
    return answer["data"]


def error(app: MiniProgram, session: Session, op: str, **fields: Any) -> str:
    answer = app.db(session, op, v=2, **fields)
    assert "error" in answer, answer
    return str(answer["error"]["code"])


def files(app: MiniProgram, session: Session, op: str, **fields: Any) -> Any:
    return v2(app, session, op, collection="files", **fields)


def ticket(app: MiniProgram, session: Session, size: int = len(PHOTO), **over: Any) -> Any:
    fields = {"name": "照片.jpg", "contentType": "image/jpeg", "size": size, **over}
    return files(app, session, "prepareUpload", **fields)


def post(t: dict[str, Any], content: bytes = PHOTO, content_type: str = "image/jpeg", **form: str):
    """The form as my.uploadFile sends it: formData, then the file under fileField."""
    return requests.post(
        t["url"],
        data={**t["formData"], **form},
        files={t["fileField"]: ("photo.jpg", content, content_type)},
        timeout=10,
    )


def code(response: requests.Response) -> str:
    return response.text.partition("<Code>")[2].partition("</Code>")[0]


@pytest.fixture
def user(miniprogram) -> tuple[MiniProgram, Session]:
    app = miniprogram()
    return app, app.login()


def uploaded(app: MiniProgram, session: Session) -> dict[str, Any]:
    t = ticket(app, session)
    assert post(t).status_code == 200
    return files(app, session, "commit", fileId=t["fileId"])


def object_key(url: str) -> str:
    """The key a path-style URL names (/{bucket}/{key})."""
    return unquote(urlsplit(url).path).split("/", 2)[2]


def root_bucket(local_cloud: Any) -> oss2.Bucket:
    config = local_cloud.cloud_config()
    (bucket,) = local_cloud.template.buckets
    auth = oss2.Auth(config["accessKeyId"], config["accessKeySecret"])
    return oss2.Bucket(auth, config["ossEndpoint"], bucket.name)


def keys(local_cloud: Any, prefix: str) -> list[str]:
    return [o.key for o in oss2.ObjectIterator(root_bucket(local_cloud), prefix=prefix)]


# -- the round --------------------------------------------------------------------------------
def test_upload_commit_list_read_and_remove(user, local_cloud):
    app, session = user
    t = ticket(app, session)
    assert t["fileField"] == "file" and t["expiresAt"] > local_cloud.clock.now() * 1000
    assert post(t).status_code == 200
    item = files(app, session, "commit", fileId=t["fileId"])
    assert item["id"] == t["fileId"]
    assert (item["name"], item["contentType"], item["size"]) == ("照片.jpg", "image/jpeg", 4100)
    assert files(app, session, "list")["items"] == [item]
    assert files(app, session, "get", id=item["id"]) == item

    signed = files(app, session, "url", id=item["id"])
    now_ms = local_cloud.clock.now() * 1000
    assert now_ms < signed["expiresAt"] <= now_ms + 15 * 60 * 1000 + 1000
    assert requests.get(signed["url"], timeout=10).content == PHOTO
    part = requests.get(signed["url"], headers={"Range": "bytes=4-7"}, timeout=10)
    assert part.status_code == 206 and part.content == PHOTO[4:8]

    assert files(app, session, "remove", id=item["id"]) is None
    assert files(app, session, "list")["items"] == []
    assert requests.get(signed["url"], timeout=10).status_code == 404
    user_id = t["formData"]["key"].split("/")[1]
    assert keys(local_cloud, f"files/{user_id}/") == keys(local_cloud, f"uploads/{user_id}/") == []


def test_a_repeated_commit_answers_the_same_item(user):
    app, session = user
    t = ticket(app, session)
    post(t)
    first = files(app, session, "commit", fileId=t["fileId"])
    assert files(app, session, "commit", fileId=t["fileId"]) == first
    assert len(files(app, session, "list")["items"]) == 1


def test_a_ticket_replayed_after_the_commit_cannot_change_the_file(user):
    app, session = user
    t = ticket(app, session)
    post(t)
    item = files(app, session, "commit", fileId=t["fileId"])
    other = bytes(reversed(PHOTO))
    assert post(t, other).status_code == 200  # it writes the staging object only
    url = files(app, session, "url", id=item["id"])["url"]
    assert requests.get(url, timeout=10).content == PHOTO


# -- what OSS refuses ---------------------------------------------------------------------------
def test_a_ticket_used_for_another_key_or_user_is_refused(user, local_cloud):
    app, session = user
    t = ticket(app, session)
    user_id = t["formData"]["key"].split("/")[1]
    for key in (f"uploads/{user_id}/other", "uploads/someone-else/x", f"files/{user_id}/x"):
        answer = post(t, key=key)
        assert (answer.status_code, code(answer)) == (403, "AccessDenied")
    assert keys(local_cloud, "uploads/someone-else/") == []
    assert error(app, session, "commit", collection="files", fileId=t["fileId"]) == "NotFound"


def test_a_bigger_file_or_another_type_is_refused(user):
    app, session = user
    t = ticket(app, session)
    bigger = post(t, PHOTO + b"!")
    assert (bigger.status_code, code(bigger)) == (400, "EntityTooLarge")
    other = post(t, content_type="text/html", **{"Content-Type": "text/html"})
    assert (other.status_code, code(other)) == (403, "AccessDenied")
    assert error(app, session, "commit", collection="files", fileId=t["fileId"]) == "NotFound"


def test_a_ticket_after_its_expiry_is_refused(user, local_cloud):
    app, session = user
    t = ticket(app, session)
    local_cloud.clock.advance(601)  # the collection's ticket_seconds, and one more
    late = post(t)
    assert late.status_code == 403 and code(late) in ("AccessDenied", "InvalidAccessKeyId")
    assert error(app, session, "commit", collection="files", fileId=t["fileId"]) == "NotFound"


def test_an_upload_that_does_not_match_its_ticket_is_not_committed(user, local_cloud):
    app, session = user
    t = ticket(app, session)
    # written around the ticket (the root key): no declaration, or another size
    root_bucket(local_cloud).put_object(
        t["formData"]["key"], PHOTO[:10], headers={"Content-Type": "image/jpeg"}
    )
    assert error(app, session, "commit", collection="files", fileId=t["fileId"]) == "Conflict"
    assert files(app, session, "list")["items"] == []
    assert error(app, session, "commit", collection="files", fileId=t["fileId"]) == "NotFound"


def test_what_prepare_upload_refuses(user):
    app, session = user
    assert (
        error(
            app,
            session,
            "prepareUpload",
            collection="files",
            name="a.exe",
            contentType="application/x-msdownload",
            size=10,
        )
        == "InvalidRequest"
    )
    assert (
        error(
            app,
            session,
            "prepareUpload",
            collection="files",
            name="../a.jpg",
            contentType="image/jpeg",
            size=10,
        )
        == "InvalidRequest"
    )
    assert (
        error(
            app,
            session,
            "prepareUpload",
            collection="files",
            name="a.jpg",
            contentType="image/jpeg",
            size=10 * 1024 * 1024 + 1,
        )
        == "QuotaExceeded"
    )
    assert error(app, session, "add", collection="files", name="a.jpg") == "InvalidRequest"


# -- one user, another's files ------------------------------------------------------------------
def test_a_user_never_reaches_another_users_files(miniprogram, local_cloud):
    alice, bob = miniprogram(), miniprogram()
    a, b = alice.login(), bob.login()
    item = uploaded(alice, a)
    a_url = files(alice, a, "url", id=item["id"])["url"]
    for op in ("get", "url", "remove"):
        assert error(bob, b, op, collection="files", id=item["id"]) == "NotFound"
    assert error(bob, b, "commit", collection="files", fileId=item["id"]) == "NotFound"
    assert files(bob, b, "list")["items"] == []

    # Bob's own ticket and URL, whatever he does with their signatures
    bt = ticket(bob, b)
    alice_key = object_key(a_url)
    for key in (alice_key, alice_key.replace("files/", "uploads/", 1)):
        answer = post(bt, key=key)
        assert answer.status_code == 403
    b_item = uploaded(bob, b)
    b_url = files(bob, b, "url", id=b_item["id"])["url"]
    forged = b_url.replace(quote(object_key(b_url), safe=""), quote(alice_key, safe=""))
    assert forged != b_url
    assert requests.get(forged, timeout=10).status_code == 403
    tampered = a_url.replace("Expires=", "Expires=1")
    assert requests.get(tampered, timeout=10).status_code == 403
    assert requests.get(a_url, timeout=10).content == PHOTO  # untouched


def test_an_expired_url_is_403(user, local_cloud):
    app, session = user
    item = uploaded(app, session)
    url = files(app, session, "url", id=item["id"])["url"]
    local_cloud.clock.advance(15 * 60 + 1)
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 403


# -- a picture on a todo ------------------------------------------------------------------------
def test_removing_a_todo_removes_its_picture(user, local_cloud):
    app, session = user
    item = uploaded(app, session)
    todo = v2(app, session, "add", text="with a picture", picture=item["id"])
    assert todo["picture"] == item["id"]
    assert v2(app, session, "get", id=todo["id"])["picture"] == item["id"]
    v2(app, session, "remove", id=todo["id"])
    assert files(app, session, "list")["items"] == []


def test_changing_or_clearing_a_picture_removes_the_old_file(user):
    app, session = user
    first, second = uploaded(app, session), uploaded(app, session)
    todo = v2(app, session, "add", text="t", picture=first["id"])
    todo = v2(app, session, "update", id=todo["id"], expectedVersion=1, picture=second["id"])
    assert [f["id"] for f in files(app, session, "list")["items"]] == [second["id"]]
    todo = v2(app, session, "update", id=todo["id"], expectedVersion=2, picture=None)
    assert "picture" not in todo and files(app, session, "list")["items"] == []


def test_a_todo_cannot_name_a_file_that_is_not_the_users(miniprogram):
    alice, bob = miniprogram(), miniprogram()
    a, b = alice.login(), bob.login()
    item = uploaded(alice, a)
    assert error(bob, b, "add", text="theft", picture=item["id"]) == "InvalidRequest"

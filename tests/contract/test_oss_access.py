"""Who may do what on the local OSS: signed URLs (oss2's `Bucket.sign_url`), PostObject forms
as `my.uploadFile` posts them, and STS credentials scoped to one user's prefix. Each refusal is
OSS's status and code, and stores nothing."""

from __future__ import annotations

import oss2
import pytest
import requests

from tests.contract.osskit import post_form, post_policy, signed_form, sts_auth, sts_keys

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
KEY = "users/u1/photo-1.jpg"
PHOTO_SIZE = len(PHOTO)


def error_code(response: requests.Response) -> str:
    return response.text.partition("<Code>")[2].partition("</Code>")[0]


# -- signed URLs --------------------------------------------------------------------------------
def test_a_signed_url_reads_the_object(bucket):
    bucket.put_object(KEY, PHOTO)
    answer = requests.get(bucket.sign_url("GET", KEY, 3600), timeout=10)
    assert answer.status_code == 200 and answer.content == PHOTO


def test_a_signed_url_serves_a_range(bucket):
    bucket.put_object(KEY, PHOTO)
    answer = requests.get(
        bucket.sign_url("GET", KEY, 3600), headers={"Range": "bytes=0-3"}, timeout=10
    )
    assert answer.status_code == 206 and answer.content == PHOTO[:4]


def test_an_expired_signed_url_is_403_access_denied(oss, bucket):
    bucket.put_object(KEY, PHOTO)
    url = bucket.sign_url("GET", KEY, 60)
    oss.clock.advance(61)  # the local clock; the module's other URLs last an hour
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 403 and error_code(answer) == "AccessDenied"
    assert "Request has expired" in answer.text


def test_a_tampered_signed_url_is_403_signature_does_not_match(bucket):
    bucket.put_object(KEY, PHOTO)
    bucket.put_object("users/u1/photo-2.jpg", PHOTO)
    url = bucket.sign_url("GET", KEY, 3600)
    for tampered in (url.replace("photo-1", "photo-2"), url.replace("Expires=", "Expires=9")):
        answer = requests.get(tampered, timeout=10)
        assert answer.status_code == 403 and error_code(answer) == "SignatureDoesNotMatch"


def test_a_url_signed_with_sts_credentials_is_held_to_their_policy(oss, bucket):
    bucket.put_object(KEY, PHOTO)
    bucket.put_object("users/u2/photo.jpg", PHOTO)
    reader = oss.bucket(
        bucket.bucket_name, sts_auth(oss, bucket.bucket_name, ["oss:GetObject"], "users/u1/*")
    )
    assert requests.get(reader.sign_url("GET", KEY, 3600), timeout=10).content == PHOTO
    other = requests.get(reader.sign_url("GET", "users/u2/photo.jpg", 3600), timeout=10)
    assert other.status_code == 403 and error_code(other) == "AccessDenied"


# -- PostObject ---------------------------------------------------------------------------------
def ticket(
    oss,
    bucket_name,
    key=KEY,
    max_size=PHOTO_SIZE,
    content_type="image/jpeg",
    lifetime=300,
    sts=None,
    **fields,
):
    """A form like the server's upload ticket: one key, one type, a size range, short-lived."""
    policy = post_policy(
        oss,
        [
            {"bucket": bucket_name},
            ["eq", "$key", key],
            ["eq", "$Content-Type", content_type],
            ["content-length-range", 1, max_size],
        ],
        lifetime,
    )
    key_id, secret = (oss.account.access_key_id, oss.account.access_key_secret)
    extra = {}
    if sts is not None:
        key_id, secret, extra["x-oss-security-token"] = sts
    return signed_form(
        policy, key_id, secret, key=key, **{"Content-Type": content_type}, **extra, **fields
    )


def test_a_form_upload_stores_the_file(oss, bucket):
    answer = post_form(oss, bucket.bucket_name, ticket(oss, bucket.bucket_name), PHOTO)
    assert answer.status_code == 204 and answer.headers["ETag"]
    stored = bucket.get_object(KEY)
    assert stored.read() == PHOTO and stored.content_type == "image/jpeg"


@pytest.mark.parametrize("status", ["200", "201", "204"])
def test_success_action_status_sets_the_answer(oss, bucket, status):
    form = ticket(oss, bucket.bucket_name, success_action_status=status)
    answer = post_form(oss, bucket.bucket_name, form, PHOTO)
    assert answer.status_code == int(status)
    if status == "201":
        assert f"<Key>{KEY}</Key>" in answer.text


def test_a_form_keeps_user_metadata(oss, bucket):
    form = ticket(oss, bucket.bucket_name, **{"x-oss-meta-owner": "u1"})
    assert post_form(oss, bucket.bucket_name, form, PHOTO).status_code == 204
    assert bucket.head_object(KEY).headers["x-oss-meta-owner"] == "u1"


def refused(oss, bucket, form, content=PHOTO, file_type="image/jpeg"):
    answer = post_form(oss, bucket.bucket_name, form, content, file_type=file_type)
    assert [o.key for o in oss2.ObjectIterator(bucket)] == []  # nothing stored
    return answer.status_code, error_code(answer), answer.text


def test_a_ticket_for_another_key_is_refused(oss, bucket):
    form = ticket(oss, bucket.bucket_name)
    form["key"] = "users/u1/other.jpg"
    status, code, text = refused(oss, bucket, form)
    assert (status, code) == (403, "AccessDenied") and "Invalid according to Policy" in text


def test_a_ticket_used_under_another_users_prefix_is_refused(oss, bucket):
    form = ticket(oss, bucket.bucket_name)
    form["key"] = "users/u2/photo-1.jpg"
    assert refused(oss, bucket, form)[:2] == (403, "AccessDenied")


def test_a_bigger_file_than_the_ticket_allows_is_entity_too_large(oss, bucket):
    status, code, _ = refused(oss, bucket, ticket(oss, bucket.bucket_name), PHOTO + b"!")
    assert (status, code) == (400, "EntityTooLarge")


def test_another_content_type_than_the_ticket_allows_is_refused(oss, bucket):
    form = ticket(oss, bucket.bucket_name)
    form["Content-Type"] = "text/html"
    assert refused(oss, bucket, form, file_type="text/html")[:2] == (403, "AccessDenied")


def test_a_ticket_after_its_expiry_is_refused(oss, bucket):
    form = ticket(oss, bucket.bucket_name, lifetime=60)
    oss.clock.advance(61)
    status, code, text = refused(oss, bucket, form)
    assert (status, code) == (403, "AccessDenied") and "Policy expired" in text


def test_a_ticket_for_another_bucket_is_refused(oss, bucket):
    assert refused(oss, bucket, ticket(oss, "another-bucket"))[:2] == (403, "AccessDenied")


def test_a_tampered_policy_is_signature_does_not_match(oss, bucket):
    form = ticket(oss, bucket.bucket_name)
    form["policy"] = ticket(oss, bucket.bucket_name, max_size=10**9)["policy"]
    assert refused(oss, bucket, form)[:2] == (403, "SignatureDoesNotMatch")


def test_a_policy_that_is_not_json_is_invalid_policy_document(oss, bucket):
    form = signed_form(
        "bm90IGpzb24=", oss.account.access_key_id, oss.account.access_key_secret, key=KEY
    )
    assert refused(oss, bucket, form)[:2] == (400, "InvalidPolicyDocument")


def test_a_form_without_a_policy_is_access_denied(oss, bucket):
    assert refused(oss, bucket, {"key": KEY})[:2] == (403, "AccessDenied")


def test_a_form_signed_with_sts_credentials_is_held_to_their_policy(oss, bucket):
    writer = sts_keys(oss, bucket.bucket_name, ["oss:PutObject"], "users/u1/*")
    ok = post_form(oss, bucket.bucket_name, ticket(oss, bucket.bucket_name, sts=writer), PHOTO)
    assert ok.status_code == 204
    bucket.delete_object(KEY)
    form = ticket(oss, bucket.bucket_name, key="users/u2/photo.jpg", sts=writer)
    assert refused(oss, bucket, form)[:2] == (403, "AccessDenied")


# -- STS credentials scoped to a prefix ---------------------------------------------------------
def test_sts_credentials_for_a_prefix_cannot_reach_outside_it(oss, bucket):
    bucket.put_object("users/u2/theirs.jpg", PHOTO)
    mine = oss.bucket(
        bucket.bucket_name,
        sts_auth(
            oss,
            bucket.bucket_name,
            ["oss:GetObject", "oss:PutObject", "oss:DeleteObject"],
            "users/u1/*",
        ),
    )
    mine.put_object("users/u1/mine.jpg", PHOTO)
    assert mine.get_object("users/u1/mine.jpg").read() == PHOTO
    outside = "users/u2/theirs.jpg"
    for call in (
        lambda: mine.get_object(outside),
        lambda: mine.put_object(outside, b"x"),
        lambda: mine.delete_object(outside),
        lambda: mine.head_object(outside),
        lambda: mine.batch_delete_objects(["users/u1/mine.jpg", outside]),
        lambda: mine.init_multipart_upload(outside),
        lambda: mine.list_objects(prefix="users/u2/"),
        lambda: mine.list_objects_v2(prefix="users/u1/"),
    ):
        with pytest.raises(oss2.exceptions.ServerError) as info:
            call()
        assert info.value.status == 403
    assert bucket.get_object(outside).read() == PHOTO
    assert bucket.object_exists("users/u1/mine.jpg")  # the refused batch deleted nothing

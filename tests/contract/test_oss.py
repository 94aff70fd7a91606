"""The local OSS through `oss2` only: buckets, PutObject, GetObject, HeadObject, DeleteObject,
ListObjectsV2, signature V1 with the root key and STS tokens, and OSS's error codes."""

from __future__ import annotations

import email.utils
from urllib.parse import urlsplit

import oss2
import pytest

from tests import rawhttp
from tests.contract.osskit import Oss


def test_create_bucket_then_it_exists_with_its_info(oss):
    bucket = oss.bucket("deploy-packages")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        bucket.get_bucket_info()
    bucket.create_bucket()
    bucket.create_bucket()  # creating a bucket you own again succeeds, as on OSS
    info = bucket.get_bucket_info()
    assert info.name == "deploy-packages" and info.location == f"oss-{oss.account.region}"


def test_put_get_head_delete_an_object(bucket):
    data = b"PK\x03\x04" + bytes(range(256)) * 1000
    result = bucket.put_object("pkg/session-abc.zip", data)  # oss2 checks our CRC-64 too
    assert result.status == 200 and result.etag
    assert bucket.get_object("pkg/session-abc.zip").read() == data
    head = bucket.head_object("pkg/session-abc.zip")
    assert head.content_length == len(data) and head.etag == result.etag
    assert bucket.object_exists("pkg/session-abc.zip")
    bucket.delete_object("pkg/session-abc.zip")
    assert not bucket.object_exists("pkg/session-abc.zip")
    bucket.delete_object("pkg/session-abc.zip")  # deleting a missing key succeeds


def test_list_objects_v2_pages_by_prefix(bucket):
    for i in range(5):
        bucket.put_object(f"code/{i}.zip", b"x" * i)
    bucket.put_object("other.txt", b"o")
    first = bucket.list_objects_v2(prefix="code/", max_keys=3)
    assert [o.key for o in first.object_list] == ["code/0.zip", "code/1.zip", "code/2.zip"]
    assert first.is_truncated and [o.size for o in first.object_list] == [0, 1, 2]
    rest = bucket.list_objects_v2(
        prefix="code/", max_keys=3, continuation_token=first.next_continuation_token
    )
    assert [o.key for o in rest.object_list] == ["code/3.zip", "code/4.zip"]
    assert not rest.is_truncated
    keys = [o.key for o in oss2.ObjectIteratorV2(bucket)]
    assert keys == [f"code/{i}.zip" for i in range(5)] + ["other.txt"]


def test_missing_bucket_is_no_such_bucket(oss):
    bucket = oss.bucket("never-created")
    for call in (
        lambda: bucket.put_object("k", b"v"),
        lambda: bucket.get_object("k"),
        lambda: bucket.list_objects_v2(),
    ):
        with pytest.raises(oss2.exceptions.NoSuchBucket) as info:
            call()
        assert info.value.status == 404 and info.value.request_id


def test_missing_key_is_no_such_key_for_get_and_head(bucket):
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("absent.zip")
    with pytest.raises(oss2.exceptions.NotFound) as info:  # HEAD: the code comes in x-oss-err
        bucket.head_object("absent.zip")
    assert info.value.code == "NoSuchKey"


def test_wrong_secret_is_signature_does_not_match(oss, bucket):
    bad = oss.bucket(bucket.bucket_name, oss2.Auth(oss.account.access_key_id, "wrong-secret"))
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as info:
        bad.put_object("k", b"v")
    assert info.value.status == 403 and "StringToSign" in info.value.details


def test_put_object_with_a_wrong_content_md5_is_invalid_digest(bucket):
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.put_object("k", b"v", headers={"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="})
    assert (info.value.status, info.value.code) == (400, "InvalidDigest")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("k")


def test_unknown_key_id_is_refused(oss, bucket):
    bad = oss.bucket(bucket.bucket_name, oss2.Auth("LTAInobodyhasthiskey", "secret"))
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bad.get_object("k")
    assert (info.value.status, info.value.code) == (403, "InvalidAccessKeyId")


def test_invalid_bucket_name_is_refused_by_the_server(oss):
    # oss2 checks names itself; past that check, the server answers InvalidBucketName.
    bucket = oss.bucket("valid-name")
    bucket.bucket_name = "Bad_Name"
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket.create_bucket()
    assert (info.value.status, info.value.code) == (400, "InvalidBucketName")
    with pytest.raises(oss2.exceptions.ClientError):
        oss.bucket("Bad_Name")


def test_sts_token_is_held_to_its_policy(oss, bucket):
    policy = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["oss:GetObject"],
                "Resource": [f"acs:oss:*:{oss.account.account_id}:{bucket.bucket_name}/public/*"],
            }
        ],
    }
    issued = oss.credentials.issue("acs:ram::1:role/reader", "s", policy, 900)
    bucket.put_object("public/a.txt", b"a")
    bucket.put_object("private/b.txt", b"b")
    auth = oss2.StsAuth(
        issued.principal.access_key_id, issued.principal.access_key_secret, issued.security_token
    )
    reader = oss.bucket(bucket.bucket_name, auth)
    assert reader.get_object("public/a.txt").read() == b"a"
    for call in (
        lambda: reader.get_object("private/b.txt"),
        lambda: reader.put_object("public/c.txt", b"c"),
    ):
        with pytest.raises(oss2.exceptions.AccessDenied):
            call()
    forged = oss.bucket(
        bucket.bucket_name,
        oss2.StsAuth(
            issued.principal.access_key_id, issued.principal.access_key_secret, "CAISforged"
        ),
    )
    with pytest.raises(oss2.exceptions.ServerError) as info:
        forged.get_object("public/a.txt")
    assert info.value.code == "InvalidAccessKeyId"


def test_delete_bucket_refuses_a_bucket_with_objects(oss, bucket):
    bucket.put_object("k", b"v")
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        bucket.delete_bucket()
    bucket.delete_object("k")
    bucket.delete_bucket()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        bucket.get_bucket_info()


def raw_put(oss: Oss, *headers: str, announce: int) -> tuple[bytes, str]:
    """A PUT of `announce` bytes of which only the headers are sent; (status line, body)."""
    url = urlsplit(oss.endpoint)
    assert url.hostname and url.port
    head = [
        "PUT /raw-bucket/big.bin HTTP/1.1",
        f"Host: {url.netloc}",
        f"Content-Length: {announce}",
        *headers,
    ]
    answer, _ = rawhttp.exchange(url.hostname, url.port, ("\r\n".join(head) + "\r\n\r\n").encode())
    status, _, rest = answer.partition(b"\r\n")
    return status, rest.partition(b"\r\n\r\n")[2].decode()


def test_an_unsigned_upload_is_refused_before_its_body_is_read(oss):
    # Only the headers of a 1 GiB body are sent: the answer proves none of it was waited for.
    status, body = raw_put(oss, "Date: " + email.utils.formatdate(usegmt=True), announce=1024**3)
    assert status.startswith(b"HTTP/1.1 403 ") and "<Code>AccessDenied</Code>" in body


def test_a_badly_signed_upload_is_refused_before_its_body_is_read(oss):
    status, body = raw_put(
        oss,
        "Date: " + email.utils.formatdate(usegmt=True),
        f"Authorization: OSS {oss.account.access_key_id}:bm90IGl0",
        announce=1024**3,
    )
    assert status.startswith(b"HTTP/1.1 403 ") and "<Code>SignatureDoesNotMatch</Code>" in body


@pytest.mark.parametrize(
    "date", ["yesterday", "Mon, 99 Foo 2026 99:99:99 GMT", "20261207T101010Z", ""]
)
def test_a_malformed_date_is_access_denied_as_oss_answers(oss, date):
    status, body = raw_put(
        oss, f"Date: {date}", f"Authorization: OSS {oss.account.access_key_id}:bm90IGl0", announce=0
    )
    assert status.startswith(b"HTTP/1.1 403 ")
    assert "<Code>AccessDenied</Code>" in body and "<EC>0002-00000503</EC>" in body


def test_a_date_too_far_from_now_is_request_time_too_skewed(oss):
    status, body = raw_put(
        oss,
        "Date: Mon, 07 Dec 2020 10:00:00 GMT",
        f"Authorization: OSS {oss.account.access_key_id}:bm90IGl0",
        announce=0,
    )
    assert status.startswith(b"HTTP/1.1 403 ") and "<Code>RequestTimeTooSkewed</Code>" in body


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.append_object("log.txt", 0, b"line"),
        lambda b: b.put_object_tagging("k", oss2.models.Tagging()),
        lambda b: b.put_object_acl("k", oss2.OBJECT_ACL_PUBLIC_READ),
        lambda b: b.get_bucket_referer(),
    ],
    ids=["AppendObject", "PutObjectTagging", "PutObjectACL", "GetBucketReferer"],
)
def test_an_api_outside_the_emulated_set_is_not_implemented_after_a_valid_signature(bucket, call):
    bucket.put_object("k", b"v")
    with pytest.raises(oss2.exceptions.NotImplemented) as info:
        call(bucket)
    assert (info.value.status, info.value.code) == (400, "NotImplemented")

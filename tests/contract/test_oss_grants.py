"""What the local OSS adds for a files feature on top of the objects: CopyObject (a staging
upload moved out of reach of its ticket), RAM conditions on ListObjects (`oss:Prefix`: a token
lists its own prefix only), the template's role policies held against STS callers, and bucket
lifecycle rules (uploads never committed expire)."""

from __future__ import annotations

import oss2
import pytest

from localcloud.oss import Rule
from localcloud.policy import role_policies_of
from localcloud.template.model import RoleDecl
from tests.contract.osskit import sts_auth, sts_keys

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4


def own_prefix_listing(oss, bucket_name: str, prefix: str) -> dict:
    return {
        "Effect": "Allow",
        "Action": ["oss:ListObjects"],
        "Resource": [f"acs:oss:*:{oss.account.account_id}:{bucket_name}"],
        "Condition": {"StringLike": {"oss:Prefix": [f"{prefix}*"]}},
    }


# -- CopyObject ---------------------------------------------------------------------------------
def test_copy_object_keeps_the_content_type_and_metadata(bucket):
    bucket.put_object(
        "uploads/u1/a", PHOTO, headers={"Content-Type": "image/jpeg", "x-oss-meta-name": "a.jpg"}
    )
    result = bucket.copy_object(bucket.bucket_name, "uploads/u1/a", "files/u1/a")
    copied = bucket.get_object("files/u1/a")
    assert copied.read() == PHOTO and copied.content_type == "image/jpeg"
    assert copied.headers["x-oss-meta-name"] == "a.jpg"
    assert result.etag == bucket.head_object("uploads/u1/a").etag


def test_copy_object_with_replace_takes_the_requests_metadata(bucket):
    bucket.put_object("uploads/u1/a", PHOTO, headers={"x-oss-meta-name": "a.jpg"})
    bucket.copy_object(
        bucket.bucket_name,
        "uploads/u1/a",
        "files/u1/a",
        headers={"x-oss-metadata-directive": "REPLACE", "Content-Type": "image/png"},
    )
    head = bucket.head_object("files/u1/a")
    assert head.content_type == "image/png" and "x-oss-meta-name" not in head.headers


def test_copying_a_missing_object_is_no_such_key(bucket):
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.copy_object(bucket.bucket_name, "uploads/u1/none", "files/u1/none")
    assert not bucket.object_exists("files/u1/none")


def test_a_copy_needs_get_on_the_source_and_put_on_the_target(oss, bucket):
    bucket.put_object("uploads/u1/a", PHOTO)
    bucket.put_object("uploads/u2/b", PHOTO)
    name = bucket.bucket_name
    mover = oss.bucket(
        name,
        oss2.StsAuth(
            *sts_keys(
                oss,
                name,
                ["oss:GetObject"],
                "uploads/u1/*",
                {
                    "Effect": "Allow",
                    "Action": ["oss:PutObject"],
                    "Resource": [f"acs:oss:*:{oss.account.account_id}:{name}/files/u1/*"],
                },
            )
        ),
    )
    mover.copy_object(name, "uploads/u1/a", "files/u1/a")
    for source, target in (("uploads/u2/b", "files/u1/b"), ("uploads/u1/a", "files/u2/a")):
        with pytest.raises(oss2.exceptions.AccessDenied):
            mover.copy_object(name, source, target)
        assert not bucket.object_exists(target)


# -- conditions ---------------------------------------------------------------------------------
def test_a_token_conditioned_on_its_prefix_lists_that_prefix_only(oss, bucket):
    name = bucket.bucket_name
    for key in ("files/u1/a", "files/u1/b", "files/u2/c"):
        bucket.put_object(key, PHOTO)
    lister = oss.bucket(
        name,
        oss2.StsAuth(
            *sts_keys(
                oss,
                name,
                ["oss:GetObject"],
                "files/u1/*",
                own_prefix_listing(oss, name, "files/u1/"),
            )
        ),
    )
    assert [o.key for o in lister.list_objects(prefix="files/u1/").object_list] == [
        "files/u1/a",
        "files/u1/b",
    ]
    assert [o.key for o in lister.list_objects_v2(prefix="files/u1/a").object_list] == [
        "files/u1/a"
    ]
    for prefix in ("files/u2/", "files/", ""):
        with pytest.raises(oss2.exceptions.AccessDenied):
            lister.list_objects(prefix=prefix)


def test_a_condition_on_a_key_the_request_lacks_grants_nothing(oss, bucket):
    bucket.put_object("files/u1/a", PHOTO)
    name = bucket.bucket_name
    statement = own_prefix_listing(oss, name, "files/u1/")
    statement["Action"] = ["oss:GetObject"]
    statement["Resource"] = [f"acs:oss:*:{oss.account.account_id}:{name}/files/u1/*"]
    reader = oss.bucket(name, oss2.StsAuth(*sts_keys(oss, name, [], "none", statement)))
    with pytest.raises(oss2.exceptions.AccessDenied):
        reader.get_object("files/u1/a")


# -- role policies ------------------------------------------------------------------------------
def test_an_sts_caller_is_held_to_its_roles_policies_too(oss, bucket):
    name = bucket.bucket_name
    role = f"acs:ram::{oss.account.account_id}:role/uploader"
    grant = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["oss:PutObject"],
                "Resource": [f"acs:oss:*:{oss.account.account_id}:{name}/uploads/*"],
            }
        ],
    }
    oss.emulator.set_role_policies(role_policies_of([RoleDecl("uploader", role, 3600, (grant,))]))
    try:
        # the token's own policy allows more than the role does: the role wins
        keys = sts_keys(oss, name, ["oss:PutObject", "oss:GetObject"], "*", role=role)
        writer = oss.bucket(name, oss2.StsAuth(*keys))
        writer.put_object("uploads/u1/a", PHOTO)
        with pytest.raises(oss2.exceptions.AccessDenied):
            writer.put_object("files/u1/a", PHOTO)
        with pytest.raises(oss2.exceptions.AccessDenied):
            writer.get_object("uploads/u1/a")
    finally:
        oss.emulator.set_role_policies(lambda arn: None)
    assert not bucket.object_exists("files/u1/a")


def test_a_role_the_template_does_not_declare_is_held_to_its_token_only(oss, bucket):
    writer = oss.bucket(
        bucket.bucket_name, sts_auth(oss, bucket.bucket_name, ["oss:PutObject"], "files/*")
    )
    writer.put_object("files/u1/a", PHOTO)
    assert bucket.object_exists("files/u1/a")


# -- lifecycle ----------------------------------------------------------------------------------
def test_an_expiration_rule_removes_old_objects_under_its_prefix(oss, bucket):
    oss.emulator.store.set_lifecycle(bucket.bucket_name, [Rule("stale-uploads", "uploads/", 1)])
    bucket.put_object("uploads/u1/a", PHOTO)
    bucket.put_object("files/u1/a", PHOTO)
    oss.clock.advance(86_400 - 60)
    assert bucket.object_exists("uploads/u1/a")
    oss.clock.advance(61)
    assert not bucket.object_exists("uploads/u1/a")
    assert [o.key for o in oss2.ObjectIterator(bucket)] == ["files/u1/a"]
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.copy_object(bucket.bucket_name, "uploads/u1/a", "files/u1/b")
    bucket.put_object("uploads/u1/a", PHOTO)  # a new upload starts its own day
    assert bucket.get_object("uploads/u1/a").read() == PHOTO

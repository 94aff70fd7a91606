"""What the local OSS's contract tests share (the fixtures are in conftest.py): the cloud they
talk to, STS credentials held to a policy, and PostObject forms posted as `my.uploadFile` posts
them; and a picture uploaded through the db function's files collection."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oss2
import requests

from localcloud.account import Account
from localcloud.clock import ShiftableClock
from localcloud.credentials import CredentialBook


@dataclass(frozen=True)
class Oss:
    endpoint: str
    account: Account
    credentials: CredentialBook
    clock: ShiftableClock
    state: Path
    emulator: Any = None  # the OssEmulator (its store and role policies)

    def auth(self) -> oss2.Auth:
        return oss2.Auth(self.account.access_key_id, self.account.access_key_secret)

    def bucket(self, name: str, auth: oss2.AuthBase | None = None) -> oss2.Bucket:
        return oss2.Bucket(auth or self.auth(), self.endpoint, name)


def sts_keys(
    oss: Oss,
    bucket: str,
    actions: list[str],
    resource: str,
    *extra: dict[str, Any],
    role: str = "acs:ram::1:role/files",
) -> tuple[str, str, str]:
    """STS credentials (key id, secret, token) of `role` allowed `actions` on
    `acs:oss:*:{account}:{bucket}/{resource}` (and what the `extra` statements say)."""
    policy = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": actions,
                "Resource": [f"acs:oss:*:{oss.account.account_id}:{bucket}/{resource}"],
            },
            *extra,
        ],
    }
    issued = oss.credentials.issue(role, "user-1", policy, 900)
    return (
        issued.principal.access_key_id,
        issued.principal.access_key_secret,
        issued.security_token,
    )


def sts_auth(oss: Oss, bucket: str, actions: list[str], resource: str) -> oss2.StsAuth:
    return oss2.StsAuth(*sts_keys(oss, bucket, actions, resource))


def post_policy(oss: Oss, conditions: list[Any], lifetime: float = 300) -> str:
    """A base64 POST policy expiring `lifetime` seconds from the local clock's now."""
    expires = datetime.datetime.fromtimestamp(oss.clock.now() + lifetime, datetime.timezone.utc)
    document = {"expiration": expires.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "conditions": conditions}
    return base64.b64encode(json.dumps(document).encode()).decode()


def signed_form(policy: str, key_id: str, secret: str, **fields: str) -> dict[str, str]:
    signature = base64.b64encode(
        hmac.new(secret.encode(), policy.encode(), hashlib.sha1).digest()
    ).decode()
    return {**fields, "policy": policy, "OSSAccessKeyId": key_id, "Signature": signature}


def post_form(
    oss: Oss,
    bucket: str,
    form: Mapping[str, str],
    content: bytes,
    filename: str = "photo.jpg",
    file_type: str = "image/jpeg",
) -> requests.Response:
    """A multipart/form-data POST to the bucket, the file last, as my.uploadFile sends it."""
    return requests.post(
        f"{oss.endpoint}/{bucket}",
        data=dict(form),
        files={"file": (filename, content, file_type)},
        timeout=10,
    )


def upload_picture(app: Any, name: str, picture: bytes) -> str:
    """A picture uploaded and committed through the db function, as the mini program does; its
    file id."""
    return str(upload_file(app, app.login(), name, picture)["id"])


def upload_file(app: Any, session: Any, name: str, picture: bytes) -> dict[str, Any]:
    """A PNG uploaded in `session` as the mini program does it (prepareUpload, the ticket's form
    posted to OSS, commit); the committed item."""
    ticket = app.db(
        session,
        "prepareUpload",
        v=2,
        collection="files",
        name=name,
        contentType="image/png",
        size=len(picture),
    )["data"]
    posted = requests.post(
        ticket["url"],
        data=ticket["formData"],
        files={ticket["fileField"]: (name, picture, "image/png")},
        timeout=30,
    )
    assert posted.status_code == 200, posted.text
    committed = app.db(session, "commit", v=2, collection="files", fileId=ticket["fileId"])
    assert "data" in committed, committed
    return dict(committed["data"])

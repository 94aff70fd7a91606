"""The rules of users' files, with no I/O: where a file's bytes live in the bucket, what an upload
ticket allows (its POST policy) and what the credentials that sign a ticket or a URL may do (their
STS session policy).

Keys. An upload goes to `uploads/{user}/{fileId}`, a prefix the bucket's lifecycle rule empties
after a day; `commit` copies the checked object to `files/{user}/{fileId}` and drops the upload.
So a ticket, which stays usable until it expires, can only ever write the staging object: a
committed file cannot be overwritten by replaying the ticket after the server checked it, and an
upload never committed costs storage for a day at most. The user id comes from the session only.

A ticket's POST policy names the bucket, the one key, the one content type, the exact size
declared (`content-length-range` [size, size]) and `x-oss-meta-*` fields binding the name, size
and type to the object, so `commit` reads the declaration back from the object itself and
prepareUpload writes no row. It is signed with STS credentials of the files role whose session
policy allows `oss:PutObject` on that one key; a URL is signed with credentials that may
`oss:GetObject` the user's committed files only.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from ..errors import InvalidRequest

UPLOADS = "uploads/"
FILES = "files/"
# The file's declaration, bound to the uploaded object by the POST policy.
META_NAME, META_SIZE, META_TYPE = "x-oss-meta-name", "x-oss-meta-size", "x-oss-meta-type"
MAX_NAME_CHARS = 255
# STS's minimum (and so the longest a signed URL lives: it dies with the token that signed it).
CREDENTIAL_SECONDS = 900
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*")


@dataclass(frozen=True)
class FileRules:
    """How a file collection is declared (beside its item `quota`): the largest file, the bytes
    one user may hold, the content types accepted, how long a ticket and a URL last."""

    max_file_bytes: int = 10 * 1024 * 1024
    quota_bytes: int = 200 * 1024 * 1024
    content_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/gif", "image/webp")
    ticket_seconds: int = 600
    url_seconds: int = 900  # at most 15 minutes (the contract); STS bounds it too

    def problems(self) -> list[str]:
        found = []
        if not 1 <= self.max_file_bytes <= self.quota_bytes:
            found.append("max_file_bytes must be positive and at most quota_bytes")
        if not self.content_types or not all(
            _CONTENT_TYPE.fullmatch(t) for t in self.content_types
        ):
            found.append("content_types must name lower-case MIME types")
        if not 60 <= self.ticket_seconds <= CREDENTIAL_SECONDS:
            found.append(f"ticket_seconds must be 60 to {CREDENTIAL_SECONDS}")
        if not 60 <= self.url_seconds <= CREDENTIAL_SECONDS:
            found.append(f"url_seconds must be 60 to {CREDENTIAL_SECONDS}")
        return found


@dataclass(frozen=True)
class Declared:
    """What a client declared for an upload: the file's name, content type and exact size."""

    name: str
    content_type: str
    size: int

    def meta(self) -> dict[str, str]:
        """The x-oss-meta-* fields of the ticket (the name percent-encoded: header values are
        bytes, and a name may be any text)."""
        return {
            META_NAME: quote(self.name, safe=""),
            META_SIZE: str(self.size),
            META_TYPE: self.content_type,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, str]) -> Declared | None:
        """The declaration an uploaded object carries, None when it carries none that is whole."""
        name, size, content_type = (meta.get(k, "") for k in (META_NAME, META_SIZE, META_TYPE))
        if not (name and size.isdigit() and content_type):
            return None
        return cls(unquote(name), content_type, int(size))


def upload_key(user_id: str, file_id: str) -> str:
    return f"{UPLOADS}{user_id}/{file_id}"


def file_key(user_id: str, file_id: str) -> str:
    return f"{FILES}{user_id}/{file_id}"


def check_name(name: str) -> str:
    """A file name as the client shows it: one line, no path."""
    if "/" in name or "\\" in name or name in (".", ".."):
        raise InvalidRequest("'name' must be a file name, not a path")
    return name


def check_declared(rules: FileRules, name: str, content_type: str, size: int) -> Declared:
    """InvalidRequest for a type the collection does not take; the size limits are quotas
    (the caller raises QuotaExceeded)."""
    if content_type not in rules.content_types:
        raise InvalidRequest(f"'contentType' must be one of {', '.join(rules.content_types)}")
    return Declared(check_name(name), content_type, size)


def post_policy(bucket: str, key: str, declared: Declared, expires_at: float) -> str:
    """The base64 POST policy of one upload ticket: only this key, type, size and declaration,
    before `expires_at` (Unix seconds)."""
    expiration = datetime.datetime.fromtimestamp(int(expires_at), datetime.timezone.utc)
    conditions: list[Any] = [
        {"bucket": bucket},
        ["eq", "$key", key],
        ["eq", "$Content-Type", declared.content_type],
        ["content-length-range", declared.size, declared.size],
        ["eq", "$success_action_status", "200"],
        *(["eq", f"${name}", value] for name, value in declared.meta().items()),
    ]
    document = {
        "expiration": expiration.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conditions": conditions,
    }
    return base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


@dataclass(frozen=True)
class Grant:
    """What STS credentials for one user may do with the bucket (an AssumeRole session policy)."""

    action: str  # oss:PutObject or oss:GetObject
    resource: str  # a key, or a prefix ending in '*'

    def policy(self, account_id: str, bucket: str) -> dict[str, Any]:
        return {
            "Version": "1",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [self.action],
                    "Resource": [f"acs:oss:*:{account_id}:{bucket}/{self.resource}"],
                }
            ],
        }


def write_grant(user_id: str, file_id: str) -> Grant:
    return Grant("oss:PutObject", upload_key(user_id, file_id))


def read_grant(user_id: str) -> Grant:
    return Grant("oss:GetObject", f"{FILES}{user_id}/*")


@dataclass(frozen=True)
class Ticket:
    """An upload ticket as the client gets it (`prepareUpload`'s answer)."""

    file_id: str
    url: str
    form: dict[str, str] = field(default_factory=dict)
    expires_at_ms: int = 0

    def to_wire(self) -> dict[str, Any]:
        return {
            "fileId": self.file_id,
            "url": self.url,
            "formData": dict(self.form),
            "fileField": "file",
            "expiresAt": self.expires_at_ms,
        }


@dataclass(frozen=True)
class SignedUrl:
    """A signed GET URL of one file and when it expires (ms, STS's clock)."""

    url: str
    expires_at_ms: int

    def to_wire(self) -> dict[str, Any]:
        return {"url": self.url, "expiresAt": self.expires_at_ms}


@dataclass(frozen=True)
class StoredObject:
    """What HeadObject says of an uploaded object."""

    size: int
    content_type: str
    meta: dict[str, str] = field(default_factory=dict)

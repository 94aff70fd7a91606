"""The console's Files page data: a bucket's objects under a prefix (a user's folder), one level
at a time, each with a signed GET URL the page shows an image through. Read from the OSS
emulator's own store, as the cloud vendor's console reads OSS; the URLs are V1 signed URLs of
this cloud's account key that expire after `URL_SECONDS` on the local clock (the key id travels
in them, never the secret).

A user's files: the db function keeps a user's committed files under `files/{internal id}/` in
the template's bucket (docs/files.md), and an object's `x-oss-meta-name` is its name as the user
gave it (percent-encoded). `user_files` finds a sandbox user's folder: their internal id is the
one their identity link names, or their Alipay user_id when they have none (a user first seen by
user_id keeps it), as shared/miniapp/domain/identity.py has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from .. import values
from ..oss.auth import signed_url

IDENTITY_TABLE = "identity"
IDENTITY_COLUMN = "internal_id"
USER_FILES = "files/"

URL_SECONDS = 15 * 60
MAX_SHOWN = 200
MAX_PREFIX = 1023


def files_view(cloud: Any, query: Mapping[str, str]) -> dict[str, Any]:
    store = cloud.oss.store
    buckets = store.buckets()
    bucket = values.text(query.get("bucket") or _default_bucket(cloud, buckets), "bucket", 63)
    prefix = values.text(query.get("prefix", ""), "prefix", MAX_PREFIX)
    view: dict[str, Any] = {
        "buckets": buckets,
        "bucket": bucket,
        "prefix": prefix,
        "objects": [],
        "prefixes": [],
        "truncated": False,
    }
    if bucket not in buckets:
        return view
    page = store.listing(bucket, prefix, "", MAX_SHOWN, "/")
    account = cloud.account
    expires = int(cloud.clock.now()) + URL_SECONDS
    endpoint = cloud.url("oss")
    view.update(
        prefixes=page.prefixes,
        truncated=page.truncated,
        objects=[
            {
                "key": o.key,
                "size": o.size,
                "contentType": o.content_type,
                "modified": o.modified,
                "etag": o.etag,
                "name": unquote(o.meta.get("x-oss-meta-name", "")),
                "meta": dict(o.meta),
                "url": signed_url(
                    endpoint,
                    bucket,
                    o.key,
                    account.access_key_id,
                    account.access_key_secret,
                    expires,
                ),
            }
            for o in page.objects
        ],
    )
    return view


def _default_bucket(cloud: Any, buckets: list[str]) -> str:
    """The template's bucket of users' files when there is one, else the first."""
    declared = [b.name for b in cloud.template.buckets if b.name in buckets]
    return (declared or buckets or [""])[0]


def user_files(cloud: Any, user_id: str) -> dict[str, str]:
    """Where a sandbox user's files are: the template's bucket and their folder in it."""
    buckets = [b.name for b in cloud.template.buckets]
    return {
        "bucket": buckets[0] if buckets else "",
        "prefix": f"{USER_FILES}{internal_id(cloud, user_id)}/",
    }


def internal_id(cloud: Any, user_id: str) -> str:
    """The user's internal id: the identity link of their user_id, or of their open_id for the
    sandbox app (an app in openid mode), else the user_id itself."""
    links = [f"uid#{len(user_id)}:{user_id}"]
    app_id = cloud.alipay_app_id
    with cloud.alipay.database.transaction() as conn:
        row = conn.execute(
            "SELECT open_id FROM open_ids WHERE app_id = ? AND user_id = ?", (app_id, user_id)
        ).fetchone()
    if row is not None:
        open_id = str(row["open_id"])
        links.append(f"oid#{len(app_id)}:{app_id}#{len(open_id)}:{open_id}")
    for link in links:
        found = _linked(cloud, link)
        if found:
            return found
    return user_id


def _linked(cloud: Any, link: str) -> str:
    from ..tablestore.model import ReadOptions

    core = cloud.tablestore.core
    if IDENTITY_TABLE not in core.catalog.names():
        return ""
    row, _ = core.get_row(IDENTITY_TABLE, (("key", link),), ReadOptions((IDENTITY_COLUMN,)))
    cells = row.cells if row is not None else []
    return next((str(c.value) for c in cells if c.name == IDENTITY_COLUMN and c.value), "")

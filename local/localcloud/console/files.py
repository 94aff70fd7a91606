"""The console's Files page data: a bucket's objects under a prefix (a user's folder), one level
at a time, each with a signed GET URL the page shows an image through. Read from the OSS
emulator's own store, as the cloud vendor's console reads OSS; the URLs are V1 signed URLs of
this cloud's account key that expire after `URL_SECONDS` on the local clock (the key id travels
in them, never the secret)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import values
from ..oss.auth import signed_url

URL_SECONDS = 15 * 60
MAX_SHOWN = 200
MAX_PREFIX = 1023


def files_view(cloud: Any, query: Mapping[str, str]) -> dict[str, Any]:
    store = cloud.oss.store
    buckets = store.buckets()
    bucket = values.text(query.get("bucket") or (buckets[0] if buckets else ""), "bucket", 63)
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

"""The local Object Storage Service, spoken to by `oss2` over path-style URLs with signature V1
(and STS tokens), and by form posts (`my.uploadFile`).

    http.py        routes and answers (OssEmulator: `screen` checks signatures from the head)
    auth.py        signature V1: headers, signed URLs; STS and role policies (with conditions)
    postobject.py  PostObject: the form, its policy and conditions, the file streamed to disk
    reads.py       GetObject/HeadObject: metadata, conditional headers, Range
    xml.py         OSS's XML bodies both ways
    model.py       values, limits and OssError
    store.py       ObjectStore: buckets, objects, lifecycle, copies (SQLite and blobs)
    multipart.py   multipart uploads, part of ObjectStore
    lifecycle.py   the lifecycle rules the local OSS evaluates
    blobs.py       the objects' bytes, one private file each under the state's `oss/`

What a files feature builds on, as on the real OSS: the server signs a POST policy (one key under
the user's prefix, one content type, a size range, a short expiry) with STS credentials whose
policy allows `oss:PutObject` on that key only; the client posts the form with the file last;
the server checks the stored object with HeadObject, copies it out of the staging prefix (which a
lifecycle rule empties) and hands out `Bucket.sign_url` GET URLs. Expiry is judged on the local
clock, so tests advance it instead of sleeping.
"""

from .http import OssEmulator
from .lifecycle import Rule
from .model import ObjectInfo, OssError, is_valid_bucket_name
from .store import ObjectStore

__all__ = ["OssEmulator", "ObjectStore", "ObjectInfo", "OssError", "Rule", "is_valid_bucket_name"]

"""The local Object Storage Service, spoken to by `oss2` over path-style URLs with signature V1
(and STS tokens), and by form posts (`my.uploadFile`).

    http.py        routes and answers (OssEmulator: `screen` checks signatures from the head)
    auth.py        signature V1: headers, signed URLs, STS policies; `signed_url` builds one
    postobject.py  PostObject: the form, its policy and conditions, the file streamed to disk
    reads.py       GetObject/HeadObject: metadata, conditional headers, Range
    xml.py         OSS's XML bodies both ways
    core.py        ObjectStore: buckets, objects, multipart uploads (SQLite)
    blobs.py       the objects' bytes, one private file each under the state's `oss/`

What a files feature builds on, as on the real OSS: the server signs a POST policy (one key under
the user's prefix, one content type, a size range, a short expiry) with STS credentials whose
policy allows `oss:PutObject` on that prefix only; the client posts the form with the file last;
the server checks the stored object with HeadObject and hands out `Bucket.sign_url` GET URLs.
Expiry is judged on the local clock, so tests advance it instead of sleeping.
"""

from .core import ObjectInfo, ObjectStore, OssError, is_valid_bucket_name
from .http import OssEmulator

__all__ = ["OssEmulator", "ObjectStore", "ObjectInfo", "OssError", "is_valid_bucket_name"]

"""OSS's XML bodies, both ways: what the emulator answers (as oss2's xml_utils parses it) and the
two request bodies it reads (CompleteMultipartUpload, DeleteMultipleObjects)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from urllib.parse import quote
from xml.sax.saxutils import escape

from .model import Listing, ObjectInfo, OssError, Part, Upload

MAX_XML_BYTES = 2 * 1024 * 1024  # a Complete for 10,000 parts, or a Delete of 1,000 keys


def iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(timestamp))


def document(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()


def malformed() -> OssError:
    return OssError(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not "
        "validate against our published schema.",
    )


def text(value: str, url: bool) -> str:
    """A key or prefix in a listing: percent-encoded with `encoding-type=url`, else escaped."""
    return quote(value, safe="") if url else escape(value)


def contents(objects: Iterable[ObjectInfo], url: bool) -> str:
    return "".join(
        f"<Contents><Key>{text(o.key, url)}</Key><LastModified>{iso(o.modified)}</LastModified>"
        f'<ETag>"{o.etag}"</ETag><Type>{o.object_type}</Type><Size>{o.size}</Size>'
        f"<StorageClass>Standard</StorageClass></Contents>"
        for o in objects
    )


def common_prefixes(prefixes: Iterable[str], url: bool) -> str:
    return "".join(
        f"<CommonPrefixes><Prefix>{text(p, url)}</Prefix></CommonPrefixes>" for p in prefixes
    )


def list_v1(
    bucket: str, prefix: str, marker: str, delimiter: str, max_keys: int, page: Listing, url: bool
) -> str:
    flag = "true" if page.truncated else "false"
    next_marker = (
        f"<NextMarker>{text(page.next_marker, url)}</NextMarker>" if page.truncated else ""
    )
    return (
        f"<ListBucketResult><Name>{bucket}</Name><Prefix>{text(prefix, url)}</Prefix>"
        f"<Marker>{text(marker, url)}</Marker><MaxKeys>{max_keys}</MaxKeys>"
        f"<Delimiter>{text(delimiter, url)}</Delimiter>"
        f"{'<EncodingType>url</EncodingType>' if url else ''}"
        f"<IsTruncated>{flag}</IsTruncated>{next_marker}{contents(page.objects, url)}"
        f"{common_prefixes(page.prefixes, url)}</ListBucketResult>"
    )


def list_v2(
    bucket: str, prefix: str, delimiter: str, max_keys: int, page: Listing, url: bool
) -> str:
    flag = "true" if page.truncated else "false"
    token = (
        f"<NextContinuationToken>{text(page.next_marker, url)}</NextContinuationToken>"
        if page.truncated
        else ""
    )
    return (
        f"<ListBucketResult><Name>{bucket}</Name><Prefix>{text(prefix, url)}</Prefix>"
        f"<MaxKeys>{max_keys}</MaxKeys><Delimiter>{text(delimiter, url)}</Delimiter>"
        f"<KeyCount>{len(page.objects) + len(page.prefixes)}</KeyCount>"
        f"{'<EncodingType>url</EncodingType>' if url else ''}"
        f"<IsTruncated>{flag}</IsTruncated>{token}{contents(page.objects, url)}"
        f"{common_prefixes(page.prefixes, url)}</ListBucketResult>"
    )


def initiated(upload: Upload) -> str:
    return (
        f"<InitiateMultipartUploadResult><Bucket>{upload.bucket}</Bucket>"
        f"<Key>{escape(upload.key)}</Key><UploadId>{upload.upload_id}</UploadId>"
        f"</InitiateMultipartUploadResult>"
    )


def completed(bucket: str, info: ObjectInfo, location: str) -> str:
    return (
        f"<CompleteMultipartUploadResult><Location>{escape(location)}</Location>"
        f'<Bucket>{bucket}</Bucket><Key>{escape(info.key)}</Key><ETag>"{info.etag}"</ETag>'
        f"</CompleteMultipartUploadResult>"
    )


def parts(upload: Upload, page: list[Part], marker: int, max_parts: int, truncated: bool) -> str:
    listed = "".join(
        f"<Part><PartNumber>{p.number}</PartNumber><LastModified>{iso(p.modified)}"
        f'</LastModified><ETag>"{p.etag}"</ETag><Size>{p.size}</Size></Part>'
        for p in page
    )
    next_marker = page[-1].number if page else marker
    return (
        f"<ListPartsResult><Bucket>{upload.bucket}</Bucket><Key>{escape(upload.key)}</Key>"
        f"<UploadId>{upload.upload_id}</UploadId><PartNumberMarker>{marker}"
        f"</PartNumberMarker><NextPartNumberMarker>{next_marker}</NextPartNumberMarker>"
        f"<MaxParts>{max_parts}</MaxParts><IsTruncated>{'true' if truncated else 'false'}"
        f"</IsTruncated>{listed}</ListPartsResult>"
    )


def uploads(bucket: str, prefix: str, page: list[Upload], truncated: bool, url: bool) -> str:
    listed = "".join(
        f"<Upload><Key>{text(u.key, url)}</Key><UploadId>{u.upload_id}</UploadId>"
        f"<Initiated>{iso(u.initiated)}</Initiated></Upload>"
        for u in page
    )
    last = page[-1] if page and truncated else None
    return (
        f"<ListMultipartUploadsResult><Bucket>{bucket}</Bucket>"
        f"<Prefix>{text(prefix, url)}</Prefix>"
        f"{'<EncodingType>url</EncodingType>' if url else ''}"
        f"<NextKeyMarker>{text(last.key, url) if last else ''}</NextKeyMarker>"
        f"<NextUploadIdMarker>{last.upload_id if last else ''}</NextUploadIdMarker>"
        f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>{listed}"
        f"</ListMultipartUploadsResult>"
    )


def deleted(keys: list[str], url: bool) -> str:
    listed = "".join(f"<Deleted><Key>{text(k, url)}</Key></Deleted>" for k in keys)
    return (
        f"<DeleteResult>{'<EncodingType>url</EncodingType>' if url else ''}{listed}</DeleteResult>"
    )


def _root(body: bytes, tag: str) -> ElementTree.Element:
    if len(body) > MAX_XML_BYTES:
        raise malformed()
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise malformed() from None
    if root.tag != tag:
        raise malformed()
    return root


def read_complete(body: bytes) -> list[tuple[int, str]]:
    """CompleteMultipartUpload's parts: (PartNumber, ETag) in the order given."""
    chosen = []
    for node in _root(body, "CompleteMultipartUpload").findall("Part"):
        number, etag = node.findtext("PartNumber"), node.findtext("ETag")
        if not number or not number.strip().isdigit() or etag is None:
            raise malformed()
        chosen.append((int(number), etag.strip()))
    return chosen


def read_delete(body: bytes) -> tuple[list[str], bool]:
    """DeleteMultipleObjects' keys and its Quiet flag."""
    root = _root(body, "Delete")
    keys = [node.findtext("Key") or "" for node in root.findall("Object")]
    if not keys or len(keys) > 1000 or not all(keys):
        raise malformed()
    return keys, (root.findtext("Quiet") or "false").strip().lower() == "true"

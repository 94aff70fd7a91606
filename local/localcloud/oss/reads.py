"""GetObject's and HeadObject's answer: user metadata, conditional headers (304/412) and `Range`
(206), as OSS gives them.

- `If-Match` that differs or `If-Unmodified-Since` before the last change: 412
  PreconditionFailed; then `If-None-Match` that matches or `If-Modified-Since` not before it: 304.
- `Range: bytes=a-b`, `a-` or `-n` over one range: 206 with `Content-Range`; an end past the
  object is cut to it. A range OSS cannot serve (malformed, several ranges, a start past the
  end) is ignored: the whole object, 200, unless `x-oss-range-behavior: standard` asks for a 416
  InvalidRange.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable

from ..httpshell import HttpRequest, HttpResponse
from .model import ObjectInfo, OssError

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def object_headers(info: ObjectInfo) -> tuple[tuple[str, str], ...]:
    return (
        ("Content-Type", info.content_type),
        ("ETag", f'"{info.etag}"'),
        ("Last-Modified", email.utils.formatdate(info.modified, usegmt=True)),
        ("x-oss-object-type", info.object_type),
        ("x-oss-storage-class", "Standard"),
        ("x-oss-hash-crc64ecma", info.crc64),
        ("Accept-Ranges", "bytes"),
        *info.meta.items(),
    )


def _when(value: str) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None  # an unreadable date is ignored, as HTTP says


def _etags(value: str) -> set[str]:
    return {tag.strip().strip('"').upper() for tag in value.split(",")}


def precondition(request: HttpRequest, info: ObjectInfo) -> HttpResponse | None:
    """A 304 answer, or None to serve the object; PreconditionFailed (412) when one fails."""
    modified = int(info.modified)  # HTTP dates have whole seconds
    if_match, if_none = request.header("if-match"), request.header("if-none-match")
    unmodified_since = _when(request.header("if-unmodified-since"))
    modified_since = _when(request.header("if-modified-since"))
    if (if_match and "*" not in if_match and info.etag not in _etags(if_match)) or (
        unmodified_since is not None and modified > unmodified_since
    ):
        raise OssError(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold.",
        )
    if (if_none and ("*" in if_none or info.etag in _etags(if_none))) or (
        modified_since is not None and modified <= modified_since
    ):
        return HttpResponse(304, headers=object_headers(info)[:3])
    return None


def byte_range(request: HttpRequest, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes a `Range` asks for, or None for the whole object."""
    value = request.header("range").replace(" ", "")
    if not value:
        return None
    match = _RANGE.fullmatch(value)
    first = last = None
    if match and (match.group(1) or match.group(2)):
        if match.group(1):
            first = int(match.group(1))
            last = int(match.group(2)) if match.group(2) else size - 1
        else:
            suffix = int(match.group(2))
            first, last = max(size - suffix, 0), size - 1
            if suffix == 0:
                first = None
    if first is None or last is None or first >= size or last < first:
        if request.header("x-oss-range-behavior").lower() == "standard":
            raise OssError(
                416,
                "InvalidRange",
                "The requested range is not satisfiable.",
                ActualObjectSize=str(size),
                RangeRequested=value,
            )
        return None
    return first, min(last, size - 1)


def answer(
    request: HttpRequest,
    info: ObjectInfo,
    read: Iterable[bytes] | None,
    first: int = 0,
    last: int | None = None,
    partial: bool = False,
) -> HttpResponse:
    headers = object_headers(info)
    end = info.size - 1 if last is None else last
    length = max(end - first + 1, 0)
    if partial:
        headers += (("Content-Range", f"bytes {first}-{end}/{info.size}"),)
    headers += (("Content-Length", str(length)),)
    return HttpResponse(206 if partial else 200, headers=headers, stream=read)

"""`TemplateURL`: where CreateStack, UpdateStack, ValidateTemplate and
GetTemplateParameterConstraints may read a template instead of taking its body.

ROS documents two kinds of URL (CreateStack, "TemplateURL"): an HTTP or HTTPS URL, which ROS
fetches as anyone would (unsigned: a release's template is public-read), and
`oss://bucket/key[?RegionId=...]`, read with the caller's own permissions, the region defaulting
to the call's. The template is at most 524,288 bytes and the URL at most 1,024.

The local ROS reads from the local OSS only: an `http(s)` URL must be the local OSS's own
(`http://127.0.0.1:PORT/bucket/key`, path style, as the local OSS serves), and is fetched over
HTTP unsigned, so the bucket's ACL decides exactly as for a browser. Any other host is refused
without a request (our choice: the local cloud makes no outbound request, and no request of a
caller's choosing to another local port). The error code for a URL that does not answer is not
documented; ours is `InvalidParameter` (ROS's code for a bad parameter value) with OSS's answer
in the message.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from ..credentials import Principal
from .core import RosError

MAX_TEMPLATE_BYTES = 524_288
MAX_URL_BYTES = 1_024
FETCH_SECONDS = 10


class ObjectReader(Protocol):
    """What an `oss://` URL needs from the local OSS (`OssEmulator`)."""

    def read_as(self, who: Principal, bucket: str, key: str, limit: int) -> bytes:
        """At most `limit` bytes of the object if `who` may GetObject it; else OssError."""


def refused(url: str, why: str) -> RosError:
    return RosError(400, "InvalidParameter", f"TemplateURL {url} could not be read: {why}")


class TemplateSource:
    def __init__(self, oss: ObjectReader, oss_endpoint: Callable[[], str], region: str) -> None:
        self._oss = oss
        self._endpoint = oss_endpoint  # the local OSS's URL, known once it listens
        self._region = region

    def read(self, url: str, caller: Principal, region: str | None = None) -> str:
        """The template text at `url`, or a RosError naming the URL and what went wrong."""
        if len(url.encode()) > MAX_URL_BYTES:
            raise RosError(
                400, "InvalidParameter", f"TemplateURL is longer than {MAX_URL_BYTES} bytes."
            )
        parts = urlsplit(url)
        if parts.scheme == "oss":
            data = self._oss_object(url, parts, caller, region or self._region)
        elif parts.scheme in ("http", "https"):
            data = self._http(url, parts)
        else:
            raise refused(url, "it is neither an http(s):// nor an oss:// URL")
        if len(data) > MAX_TEMPLATE_BYTES:
            raise refused(url, f"the template is larger than {MAX_TEMPLATE_BYTES} bytes")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise refused(url, "the template is not UTF-8 text") from None

    def _oss_object(self, url: str, parts: Any, caller: Principal, region: str) -> bytes:
        from ..oss import OssError

        bucket, key = parts.netloc, unquote(parts.path.lstrip("/"))
        wanted = parse_qs(parts.query).get("RegionId", [region])[0]
        if wanted != self._region:
            raise refused(url, f"the local OSS has no region {wanted!r} (only {self._region})")
        if not bucket or not key:
            raise refused(url, "write oss://bucket/key")
        try:
            return self._oss.read_as(caller, bucket, key, MAX_TEMPLATE_BYTES + 1)
        except OssError as exc:
            raise refused(url, f"OSS answered {exc.status} {exc.code}: {exc.message}") from None

    def _http(self, url: str, parts: Any) -> bytes:
        local = urlsplit(self._endpoint())
        if (parts.scheme, parts.netloc.lower()) != (local.scheme, local.netloc.lower()):
            raise refused(
                url,
                f"the local ROS reads templates from the local OSS only ({self._endpoint()}/"
                f"bucket/key, or oss://bucket/key)",
            )
        request = urllib.request.Request(url, method="GET")  # the local OSS's, checked above
        try:
            with urllib.request.urlopen(request, timeout=FETCH_SECONDS) as answer:
                return bytes(answer.read(MAX_TEMPLATE_BYTES + 1))
        except urllib.error.HTTPError as exc:
            code = _oss_code(exc.read(4096))
            raise refused(url, f"OSS answered {exc.code}{' ' + code if code else ''}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise refused(url, f"no answer ({exc})") from None


def _oss_code(body: bytes) -> str:
    """The `<Code>` of an OSS error body, if any."""
    text = body.decode("utf-8", "replace")
    start, end = text.find("<Code>"), text.find("</Code>")
    return text[start + 6 : end] if 0 <= start < end else ""

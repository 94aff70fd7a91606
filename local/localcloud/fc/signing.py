"""FC request signatures (HMAC-SHA256), exactly as `fc2/auth.py` and `@alicloud/fc2` compute
them, and the check of who signed a request.

String to sign: METHOD, Content-MD5, Content-Type, Date, each on its own line, then every
`x-fc-*` header as `name:value\\n` (names lower-case, sorted), then the unescaped path. For HTTP
triggers (and only there) the path is followed by `\\n` and the sorted `key=value` query lines —
with no query the SDKs still append the `\\n`, and so must we.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl

from ..credentials import (
    CredentialBook,
    CredentialError,
    ExpiredSecurityToken,
    InvalidSecurityToken,
    Principal,
    UnknownAccessKey,
)
from ..httpshell import HttpRequest
from . import errors


def string_to_sign(
    method: str, headers: Mapping[str, str], path: str, queries: list[tuple[str, str]] | None
) -> str:
    fc_headers = sorted((k.lower(), v) for k, v in headers.items() if k.lower().startswith("x-fc-"))
    canonical_headers = "".join(f"{k}:{v}\n" for k, v in fc_headers)
    resource = path
    if queries is not None:
        resource += "\n" + "\n".join(sorted(f"{k}={v}" for k, v in queries))
    return "\n".join(
        [
            method.upper(),
            headers.get("content-md5", ""),
            headers.get("content-type", ""),
            headers.get("date", ""),
            canonical_headers + resource,
        ]
    )


def sign(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def authenticate(request: HttpRequest, book: CredentialBook, *, with_queries: bool) -> Principal:
    """The principal that signed the request, or an FcApiError saying why it is refused."""
    authorization = request.header("authorization")
    if not authorization:
        raise errors.FcApiError(
            403, "AccessDenied", "the request is not signed (no Authorization header)"
        )
    if not request.header("date"):
        raise errors.missing_header("Date")
    scheme, _, credential = authorization.partition(" ")
    key_id, _, signature = credential.strip().rpartition(":")
    if scheme != "FC" or not key_id or not signature:
        raise errors.signature_mismatch()
    try:
        principal = book.resolve(key_id, request.header("x-fc-security-token") or None)
    except UnknownAccessKey:
        raise errors.invalid_access_key(key_id) from None
    except ExpiredSecurityToken:
        raise errors.expired_token() from None
    except (InvalidSecurityToken, CredentialError):
        raise errors.invalid_token() from None
    queries = None
    if with_queries:
        # parse_qsl unescapes (the SDKs sign the unescaped keys and values)
        queries = parse_qsl(request.query_string, keep_blank_values=True)
    expected = sign(
        principal.access_key_secret,
        string_to_sign(request.method, request.headers, request.path, queries),
    )
    if not hmac.compare_digest(expected, signature):
        raise errors.signature_mismatch()
    return principal

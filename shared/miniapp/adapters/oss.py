"""FileObjects on oss2 (imported on first use: only a files operation pays for it, the todo path
never does) and STS.

Tickets and URLs are signed with credentials of the files role, assumed per user with a session
policy that allows one key (a ticket) or the user's committed files (URLs): whatever a signature
would be used for, OSS holds it to that. The db function's own role reads, copies and deletes.

Time: a ticket's and a URL's expiry are taken from the STS credentials that sign them (their
Expiration less the duration asked for is STS's now), not from this instance's clock, so they
agree with the clocks of STS and OSS, which judge them; a URL also dies with its credentials.
Read credentials are reused for one user while they have `REUSE_SECONDS` left.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .. import deadline
from ..config import ServiceCredentials
from ..domain.files import (
    CREDENTIAL_SECONDS,
    Declared,
    SignedUrl,
    StoredObject,
    Ticket,
    post_policy,
    read_grant,
    upload_key,
    write_grant,
)
from ..domain.records import StsCredentials
from ..errors import Internal, NotFound, UpstreamUnavailable
from .sts import StsCredentialIssuer

REUSE_SECONDS = 600  # a URL lives 10 to 15 minutes
_CACHED_USERS = 256


def _sts_time(expiration: str) -> float:
    return (
        datetime.datetime.strptime(expiration, "%Y-%m-%dT%H:%M:%SZ")
        .replace(tzinfo=datetime.timezone.utc)
        .timestamp()
    )


class OssFiles:
    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str,
        public_endpoint: str,
        account_id: str,
        credentials: ServiceCredentials,
        issuer: StsCredentialIssuer,
        timeout_seconds: float,
    ) -> None:
        self._bucket = bucket
        self._endpoint = endpoint
        self._public = public_endpoint
        self._account_id = account_id
        self._credentials = credentials
        self._issuer = issuer
        self._timeout = timeout_seconds
        # user -> (credentials, STS's now when issued, this clock's then)
        self._readers: OrderedDict[str, tuple[StsCredentials, float, float]] = OrderedDict()

    # -- signed for the client ------------------------------------------------------------------
    def ticket(self, user_id: str, file_id: str, declared: Declared, seconds: int) -> Ticket:
        grant = write_grant(user_id, file_id)
        creds, sts_now = self._assume(user_id, grant.policy(self._account_id, self._bucket))
        expires_at = min(sts_now + seconds, _sts_time(creds.expiration))
        key = upload_key(user_id, file_id)
        policy = post_policy(self._bucket, key, declared, expires_at)
        signature = base64.b64encode(
            hmac.new(creds.access_key_secret.encode(), policy.encode(), hashlib.sha1).digest()
        ).decode()
        form = {
            "key": key,
            "policy": policy,
            "OSSAccessKeyId": creds.access_key_id,
            "Signature": signature,
            "x-oss-security-token": creds.security_token,
            "Content-Type": declared.content_type,
            "success_action_status": "200",
            **declared.meta(),
        }
        return Ticket(
            file_id, _bucket_url(self._public, self._bucket), form, int(expires_at) * 1000
        )

    def signed_url(self, user_id: str, key: str, seconds: int) -> SignedUrl:
        import oss2

        creds, sts_now = self._reader(user_id)
        expires_at = int(min(sts_now + seconds, _sts_time(creds.expiration)))
        auth = oss2.StsAuth(creds.access_key_id, creds.access_key_secret, creds.security_token)
        # oss2 counts `expires` from this clock; the URL's Expires is STS's time.
        url = oss2.Bucket(auth, self._public, self._bucket).sign_url(
            "GET", key, max(1, expires_at - int(time.time()))
        )
        # oss2 put its own clock's count in the URL (a second more, should it tick meanwhile).
        signed = parse_qs(urlsplit(url).query).get("Expires", [str(expires_at)])[0]
        return SignedUrl(url, int(signed) * 1000)

    def _reader(self, user_id: str) -> tuple[StsCredentials, float]:
        cached = self._readers.get(user_id)
        if cached is not None:
            creds, issued_sts, issued_here = cached
            sts_now = issued_sts + (time.monotonic() - issued_here)
            if _sts_time(creds.expiration) - sts_now >= REUSE_SECONDS:
                self._readers.move_to_end(user_id)
                return creds, sts_now
        policy = read_grant(user_id).policy(self._account_id, self._bucket)
        creds, sts_now = self._assume(user_id, policy)
        self._readers[user_id] = (creds, sts_now, time.monotonic())
        while len(self._readers) > _CACHED_USERS:
            self._readers.popitem(last=False)
        return creds, sts_now

    def _assume(self, user_id: str, policy: dict[str, Any]) -> tuple[StsCredentials, float]:
        session = "f-" + hashlib.sha256(user_id.encode()).hexdigest()[:30]
        creds = self._issuer.issue(session, policy, CREDENTIAL_SECONDS)
        return creds, _sts_time(creds.expiration) - CREDENTIAL_SECONDS

    # -- the db function's own calls ------------------------------------------------------------
    def head(self, key: str) -> StoredObject | None:
        import oss2

        try:
            result = self._bucket_client("OSS HeadObject").head_object(key)
        except oss2.exceptions.NotFound:
            return None
        except oss2.exceptions.OssError as exc:
            raise _unavailable("HeadObject", exc) from None
        meta = {
            k.lower(): v for k, v in result.headers.items() if k.lower().startswith("x-oss-meta-")
        }
        return StoredObject(int(result.content_length or 0), result.content_type or "", meta)

    def copy(self, source_key: str, target_key: str) -> None:
        import oss2

        try:
            self._bucket_client("OSS CopyObject").copy_object(self._bucket, source_key, target_key)
        except oss2.exceptions.NotFound:
            raise NotFound("the upload is gone") from None
        except oss2.exceptions.OssError as exc:
            raise _unavailable("CopyObject", exc) from None

    def delete(self, key: str) -> None:
        import oss2

        try:
            self._bucket_client("OSS DeleteObject").delete_object(key)
        except oss2.exceptions.OssError as exc:
            raise _unavailable("DeleteObject", exc) from None

    def _bucket_client(self, what: str) -> Any:
        import oss2

        creds = self._credentials
        auth = (
            oss2.StsAuth(creds.access_key_id, creds.access_key_secret, creds.security_token)
            if creds.security_token
            else oss2.Auth(creds.access_key_id, creds.access_key_secret)
        )
        seconds = deadline.budget(what, self._timeout)
        return oss2.Bucket(auth, self._endpoint, self._bucket, connect_timeout=seconds)


def _unavailable(api: str, exc: Any) -> UpstreamUnavailable:
    """OSS's code, never a key or a token (`status` -2 is oss2's: no answer at all)."""
    code = getattr(exc, "code", "") or "unreachable"
    return UpstreamUnavailable(f"OSS {api} failed: {code} (HTTP {getattr(exc, 'status', '?')})")


def _bucket_url(endpoint: str, bucket: str) -> str:
    """Where a form is posted: path style for an IP address or localhost (what oss2 does for such
    an endpoint, and what the local OSS serves), the bucket's own host otherwise."""
    url = urlsplit(endpoint if "://" in endpoint else "https://" + endpoint)
    host = url.hostname or ""
    if not host:
        raise Internal("OSS endpoint is not a URL")
    if host == "localhost" or host.replace(".", "").isdigit():
        return f"{url.scheme}://{url.netloc}/{bucket}"
    return f"{url.scheme}://{bucket}.{url.netloc}"

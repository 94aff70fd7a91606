"""The one exception tree. Every error a client can see is a `MiniAppError` with a stable code
(the `error.code` of the JSON body) and the HTTP status the session function answers with.

    MiniAppError
    ├── InvalidRequest        400  malformed body, wrong field types, values out of range
    ├── PayloadTooLarge       413  body over the limit
    ├── InvalidAuthCode       401  Alipay refused the auth code (unknown, used or expired)
    ├── SessionNotFound       401  no such session (never existed, logged out, or swept)
    ├── SessionExpired        401  past its absolute lifetime or idle timeout
    ├── NotFound              404  no such item for this user (or no such endpoint)
    ├── MethodNotAllowed      405  the session function only answers POST
    ├── Conflict              409  stale expectedVersion, or an id that already exists
    ├── QuotaExceeded         409  the user holds the maximum number of items
    ├── CorruptItem           409  a stored item breaks its collection's declaration
    ├── RateLimited           429  too many logins or refreshes; carries retry_after seconds
    ├── UpstreamUnavailable   503  Alipay, STS or Tablestore failed or timed out
    ├── Misconfigured         500  the deployment's settings or declarations are invalid
    └── Internal              500  a bug; the message never carries details
"""

from __future__ import annotations


class MiniAppError(Exception):
    code = "Internal"
    http_status = 500
    default_message = "internal error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def to_body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidRequest(MiniAppError):
    code, http_status, default_message = "InvalidRequest", 400, "invalid request"


class PayloadTooLarge(MiniAppError):
    code, http_status, default_message = "PayloadTooLarge", 413, "request body too large"


class InvalidAuthCode(MiniAppError):
    code, http_status, default_message = (
        "InvalidAuthCode",
        401,
        "auth code is invalid, used or expired",
    )


class SessionNotFound(MiniAppError):
    code, http_status, default_message = "SessionNotFound", 401, "session not found"


class SessionExpired(MiniAppError):
    code, http_status, default_message = "SessionExpired", 401, "session expired"


class NotFound(MiniAppError):
    code, http_status, default_message = "NotFound", 404, "not found"


class MethodNotAllowed(MiniAppError):
    code, http_status, default_message = "MethodNotAllowed", 405, "only POST is allowed"


class Conflict(MiniAppError):
    code, http_status, default_message = "Conflict", 409, "conflict"


class QuotaExceeded(MiniAppError):
    code, http_status, default_message = "QuotaExceeded", 409, "item quota exceeded"


class CorruptItem(MiniAppError):
    """What storage gave back is not an item its collection's declaration allows (written around
    the API, or under an older declaration that had no default for a new field). The client can
    remove it; it never reads as Internal."""

    code, http_status, default_message = (
        "CorruptItem",
        409,
        "the stored item breaks its collection's declaration",
    )


class RateLimited(MiniAppError):
    code, http_status, default_message = "RateLimited", 429, "too many requests"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class UpstreamUnavailable(MiniAppError):
    code, http_status, default_message = (
        "UpstreamUnavailable",
        503,
        "an upstream service is unavailable",
    )


class Misconfigured(MiniAppError):
    """The function cannot serve as deployed (a setting missing or invalid, a collection
    declaration breaking its rules). Not the client's fault and not a bug in the code: the
    operator finds the reason in the function's log."""

    code, http_status, default_message = (
        "Misconfigured",
        500,
        "the function is misconfigured; see its logs",
    )


class Internal(MiniAppError):
    code, http_status, default_message = "Internal", 500, "internal error"

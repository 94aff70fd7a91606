"""FC's error answers: HTTP status + JSON `{"ErrorCode", "ErrorMessage"}` + `x-fc-request-id`.

The body keys are capitalised because that is what both SDKs read (the docs show lower-case, but
`fc2` and `@alicloud/fc2` look up `ErrorCode` / `ErrorMessage`; the SDK wins). A non-JSON error
body would crash the Python SDK with a decode error instead of an `FcError`.
"""

from __future__ import annotations

import uuid

from ..errors import ServiceError
from ..httpshell import HttpResponse, Refusal, json_response

# FC's documented request limits: a synchronous invocation's payload (and an HTTP trigger's body)
# at most 6 MB, an asynchronous one at most 128 KB; over them FC answers 400 EntityTooLarge.
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 128 * 1024


class FcApiError(ServiceError):
    def response(self, request_id: str) -> HttpResponse:
        return json_response(
            self.status,
            {"ErrorCode": self.code, "ErrorMessage": self.message},
            ("x-fc-request-id", request_id),
        )


def missing_header(name: str) -> FcApiError:
    return FcApiError(
        400, "MissingRequiredHeader", f"required HTTP header {name} was not specified"
    )


def signature_mismatch() -> FcApiError:
    return FcApiError(
        403,
        "SignatureNotMatch",
        "The request signature we calculated does not "
        "match the signature you provided. Check your access key and signing method",
    )


def invalid_access_key(key_id: str) -> FcApiError:
    return FcApiError(403, "InvalidAccessKeyID", f"invalid access key ID '{key_id}'")


def invalid_token() -> FcApiError:
    return FcApiError(403, "InvalidSecurityToken", "invalid security token")


def expired_token() -> FcApiError:
    return FcApiError(403, "SecurityTokenExpired", "the security token you provided has expired")


def access_denied(resource: str, action: str = "fc:InvokeFunction") -> FcApiError:
    return FcApiError(
        403,
        "AccessDenied",
        f"the caller is not authorized to perform '{action}' on resource '{resource}'",
    )


def service_not_found(service: str) -> FcApiError:
    return FcApiError(404, "ServiceNotFound", f"service '{service}' does not exist")


def function_not_found(function: str) -> FcApiError:
    return FcApiError(404, "FunctionNotFound", f"function '{function}' does not exist")


def trigger_not_found(service: str, function: str) -> FcApiError:
    return FcApiError(
        404, "TriggerNotFound", f"function '{function}' of service '{service}' has no HTTP trigger"
    )


def method_not_allowed(method: str) -> FcApiError:
    return FcApiError(
        405, "MethodNotAllowed", f"method '{method}' is not allowed by the function's HTTP trigger"
    )


def path_not_supported(method: str, path: str) -> FcApiError:
    # FC's answer to an API path it does not serve (FC 2.0 error codes: 400 PathNotSupported).
    return FcApiError(400, "PathNotSupported", f"'{method}' against '{path}' is not supported")


def too_large(limit: int) -> FcApiError:
    return FcApiError(
        400, "EntityTooLarge", f"payload size exceeds maximum allowed size ({limit} bytes)"
    )


def throttled() -> FcApiError:
    return FcApiError(429, "ResourceThrottled", "Reduce your concurrent request rate")


def internal_error() -> FcApiError:
    return FcApiError(500, "InternalServerError", "An internal server error occurred")


def invalid_argument(message: str) -> FcApiError:
    return FcApiError(400, "InvalidArgument", message)


def refusal(refused: Refusal) -> HttpResponse:
    """FC's answer to a request its front end refuses before any function runs (the HTTP server
    calls this). A body over the limit is FC's EntityTooLarge, whether it was announced by its
    Content-Length or found while decoding chunks. Broken framing has no documented FC code; we
    answer InvalidArgument in FC's JSON shape (a non-JSON body would crash the Python SDK) with
    the status the server chose, and the server closes the connection."""
    if refused.status == 413:
        error = too_large(MAX_SYNC_PAYLOAD)
    else:
        error = FcApiError(
            refused.status, "InvalidArgument", f"malformed HTTP request: {refused.reason}"
        )
    return error.response(str(uuid.uuid4()))

"""Tablestore's HTTP envelope: who signed a request, and how answers are signed and errors sent.

Requests: `POST /{ApiName}` (the endpoint may add a path prefix; signatures use `/{ApiName}`),
headers `x-ots-date`, `-apiversion`, `-accesskeyid`, `-instancename`, `-contentmd5`, optional
`-ststoken`, and `x-ots-signature` (V2: HMAC-SHA1 with the secret over
`/{Api}\nPOST\n\n` + sorted `k:v` lines of the other `x-ots-*` headers + `\n`) or
`x-ots-signaturev4` (V4: HMAC-SHA256 with a key derived from secret, `x-ots-signdate` and
`x-ots-signregion`, over the same text + `ots`).

Answers: the SDK rejects a 2xx without `x-ots-contentmd5`, `x-ots-requestid`, `x-ots-date` (real
time, it compares with its own clock) and `x-ots-contenttype`, and checks `authorization:
OTS {ak}:{sig}`, sig = HMAC-SHA1 with the request's signing key over the sorted `x-ots-*` answer
headers + `\n/{Api}`. Errors are a protobuf `Error`; OTSAuthFailed answers go unsigned, as the
SDK expects (it cannot check them when the key was the problem).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass

import tablestore.protobuf.table_store_pb2 as pb

from ..credentials import (
    CredentialBook,
    CredentialError,
    ExpiredSecurityToken,
    InvalidSecurityToken,
    Principal,
    UnknownAccessKey,
)
from ..httpshell import HttpRequest, HttpResponse
from .model import MAX_REQUEST_BODY_BYTES, MAX_REQUEST_CLOCK_SKEW, TablestoreError

PREFIX = "x-ots-"
REQUIRED_HEADERS = (
    "x-ots-date",
    "x-ots-apiversion",
    "x-ots-accesskeyid",
    "x-ots-instancename",
    "x-ots-contentmd5",
)
SIGNATURE_V2 = "x-ots-signature"
SIGNATURE_V4 = "x-ots-signaturev4"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class Caller:
    principal: Principal
    signing_key: bytes  # keys the answer's signature too: the secret (V2) or the V4 derived key


def api_name(request: HttpRequest) -> str:
    return request.path.rstrip("/").rsplit("/", 1)[-1]


def _auth_failed(message: str) -> TablestoreError:
    return TablestoreError("OTSAuthFailed", message)


def _canonical(api: str, headers: dict[str, str], exclude: str) -> str:
    lines = sorted(
        f"{k}:{v.strip()}" for k, v in headers.items() if k.startswith(PREFIX) and k != exclude
    )
    return f"/{api}\nPOST\n\n" + "\n".join(lines) + "\n"


def _hmac(key: bytes, text: str, digest: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), digest).digest()


def _v4_key(secret: str, sign_date: str, region: str) -> bytes:
    key = _hmac(("aliyun_v4" + secret).encode("utf-8"), sign_date, "sha256")
    key = _hmac(key, region, "sha256")
    key = _hmac(key, "ots", "sha256")
    return base64.b64encode(_hmac(key, "aliyun_v4_request", "sha256"))


def _check_envelope(request: HttpRequest, instance_name: str) -> None:
    if request.method != "POST":
        raise TablestoreError(
            "OTSMethodNotAllowed", "OTSMethodNotAllowedOnly POST method for requests is supported."
        )
    for name in REQUIRED_HEADERS:
        if not request.header(name):
            raise TablestoreError("OTSParameterInvalid", f"Missing header: {name}.")
    if len(request.body) > MAX_REQUEST_BODY_BYTES:
        raise TablestoreError("OTSRequestBodyTooLarge", "The size of POST data is too large.")
    md5 = base64.b64encode(hashlib.md5(request.body).digest()).decode()
    if not hmac.compare_digest(md5, request.header("x-ots-contentmd5").strip()):
        raise _auth_failed(
            "Mismatch between MD5 value of request body and x-ots-contentmd5 in header."
        )
    date = request.header("x-ots-date").strip()
    try:
        sent = datetime.datetime.strptime(date, DATE_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise TablestoreError("OTSParameterInvalid", f"Invalid date format: {date}.") from None
    if abs(sent.timestamp() - time.time()) > MAX_REQUEST_CLOCK_SKEW:
        raise _auth_failed(f"Mismatch between system time and x-ots-date: {date}.")
    if request.header("x-ots-instancename").strip() != instance_name:
        raise _auth_failed("The instance is not found.")


def authenticate(
    request: HttpRequest, api: str, credentials: CredentialBook, instance_name: str
) -> Caller:
    """The principal whose key signed this request, or an OTSAuthFailed / OTSParameterInvalid."""
    _check_envelope(request, instance_name)
    headers = dict(request.headers)
    key_id = request.header("x-ots-accesskeyid").strip()
    token = request.header("x-ots-ststoken").strip() or None
    try:
        principal = credentials.resolve(key_id, token)
    except UnknownAccessKey:
        raise _auth_failed("The AccessKeyID does not exist.") from None
    except ExpiredSecurityToken:
        raise _auth_failed("The security token you provided has expired.") from None
    except (InvalidSecurityToken, CredentialError):
        raise _auth_failed("The security token you provided is invalid.") from None
    secret = principal.access_key_secret
    if SIGNATURE_V4 in headers:
        sign_date = request.header("x-ots-signdate").strip()
        region = request.header("x-ots-signregion").strip()
        if not sign_date or not region:
            raise TablestoreError(
                "OTSParameterInvalid", "Missing header: x-ots-signdate or x-ots-signregion."
            )
        key = _v4_key(secret, sign_date, region)
        expected = base64.b64encode(
            _hmac(key, _canonical(api, headers, SIGNATURE_V4) + "ots", "sha256")
        ).decode()
        given = headers[SIGNATURE_V4].strip()
    elif SIGNATURE_V2 in headers:
        key = secret.encode("utf-8")
        expected = base64.b64encode(
            _hmac(key, _canonical(api, headers, SIGNATURE_V2), "sha1")
        ).decode()
        given = headers[SIGNATURE_V2].strip()
    else:
        raise TablestoreError("OTSParameterInvalid", f"Missing header: {SIGNATURE_V2}.")
    if not hmac.compare_digest(expected, given):
        raise _auth_failed("Signature mismatch.")
    return Caller(principal, key)


def respond(api: str, status: int, body: bytes, caller: Caller | None) -> HttpResponse:
    now = datetime.datetime.now(datetime.timezone.utc)
    headers = {
        "x-ots-contentmd5": base64.b64encode(hashlib.md5(body).digest()).decode(),
        "x-ots-requestid": str(uuid.uuid4()),
        "x-ots-date": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "x-ots-contenttype": "protocol buffer",
    }
    pairs = list(headers.items())
    if caller is not None:
        text = "\n".join(sorted(f"{k}:{v}" for k, v in headers.items())) + f"\n/{api}"
        signature = base64.b64encode(_hmac(caller.signing_key, text, "sha1")).decode()
        pairs.append(("authorization", f"OTS {caller.principal.access_key_id}:{signature}"))
    pairs.append(("Content-Type", "application/x-protobuf"))
    return HttpResponse(status, body, tuple(pairs))


def error_response(api: str, error: TablestoreError, caller: Caller | None) -> HttpResponse:
    message = pb.Error(code=error.code, message=error.message)
    signer = None if error.code == "OTSAuthFailed" else caller
    return respond(api, error.status, message.SerializeToString(), signer)

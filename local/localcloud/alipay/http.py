"""The HTTP shell of the local Alipay OpenAPI gateway.

- `GET|POST /gateway.do`: the OpenAPI gateway (`alipay.system.oauth.token`,
  `alipay.user.info.share`), request signatures checked with the app public key, replies signed
  with the Alipay private key.
- `POST /sandbox/auth_code` `{"user_id": "2088…", "scopes": [...]}`: plays the Alipay app
  (`my.getAuthCode`), which cannot run on a laptop; answers what the mini program would get.
  Not part of Alipay's API, so injected faults leave it alone.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..clock import Clock
from ..faults import DropConnection, Fault, FaultBoard
from ..httpshell import HttpRequest, HttpResponse, json_response
from ..state import Database
from . import errors
from .core import SCHEMA, AuthorizationServer, InvalidSandboxRequest, TokenGrant
from .errors import AlipayError, system_error
from .gateway import OAUTH_TOKEN, GatewayCall, check_call, read_params
from .keys import AlipayKeys, ensure_keys, load_private_key, load_public_key
from .replies import ReplyWriter

SERVICE = "alipay"
FAULT_KINDS = {
    "down": "gateway.do hangs up without answering (Alipay unreachable)",
    "slow": "wait `seconds`, then answer normally",
    "bad_signature": "a well-formed reply whose sign does not verify (the SDK must reject it)",
    "error_response": "error_response 20000 with sub_code `code` or isp.unknow-error",
}
CHINA_TIME = timezone(timedelta(hours=8))  # the platform's timestamps are Beijing time


class AlipayEmulator:
    def __init__(self, *, db_path: Path | str, keys_dir: Path | str, clock: Clock,
                 faults: FaultBoard, app_id: str) -> None:
        self.keys: AlipayKeys = ensure_keys(keys_dir)
        self._app_id = app_id
        self._app_public_key = load_public_key(self.keys.app_public_key_file)
        self._replies = ReplyWriter(load_private_key(self.keys.alipay_private_key_file))
        self._auth = AuthorizationServer(Database(db_path, SCHEMA), clock)
        self._faults = faults

    def app(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/gateway.do":
            if request.method not in ("GET", "POST"):
                return _plain_error(405, "MethodNotAllowed", "gateway.do takes GET or POST")
            return self._gateway(request)
        if request.path == "/sandbox/auth_code":
            if request.method != "POST":
                return _plain_error(405, "MethodNotAllowed", "use POST with a JSON body")
            return self._sandbox_auth_code(request)
        return _plain_error(404, "NotFound", f"no such path: {request.path}")

    # -- gateway.do --------------------------------------------------------------------------

    def _gateway(self, request: HttpRequest) -> HttpResponse:
        params = read_params(request)
        method = params.get("method", "")
        fault = self._faults.pick(SERVICE, method or None)
        if fault is not None and fault.kind in FAULT_KINDS:
            faulty = self._apply(fault, method)
            if faulty is not None:
                return faulty  # answered before any state is read or changed
        try:
            call = check_call(params, app_id=self._app_id, app_public_key=self._app_public_key)
        except AlipayError as err:
            known_app = params.get("app_id") == self._app_id
            return self._replies.error(err, signed=known_app)
        if call.method == OAUTH_TOKEN:
            return self._oauth_token(call)
        return self._user_info_share(call)

    def _apply(self, fault: Fault, method: str) -> HttpResponse | None:
        if fault.kind == "down":
            raise DropConnection()
        if fault.kind == "slow":
            time.sleep(fault.seconds)
            return None
        if fault.kind == "bad_signature":
            return self._replies.forged(method)
        return self._replies.error(system_error(fault.code))

    def _oauth_token(self, call: GatewayCall) -> HttpResponse:
        grant_type = call.param("grant_type")
        try:
            if grant_type == "authorization_code":
                grant = self._auth.exchange_code(call.param("code"))
            elif grant_type == "refresh_token":
                grant = self._auth.refresh(call.param("refresh_token"))
            else:
                raise AlipayError(errors.GRANT_TYPE_INVALID)
        except AlipayError as err:
            # This method's refusals come as error_response, not under its own key.
            return self._replies.error(err)
        return self._replies.result(call.method, _grant_fields(grant))

    def _user_info_share(self, call: GatewayCall) -> HttpResponse:
        try:
            user = self._auth.user_info(call.param("auth_token"))
        except AlipayError as err:
            # Token refusals come under the method's key, signed: the SDK returns them as a
            # result with code 20001 instead of raising.
            return self._replies.result(call.method, err.body())
        return self._replies.result(call.method, {
            "code": "10000", "msg": "Success", "avatar": user.avatar, "city": user.city,
            "gender": user.gender, "nick_name": user.nick_name, "province": user.province,
            "user_id": user.user_id,
        })

    # -- sandbox -----------------------------------------------------------------------------

    def _sandbox_auth_code(self, request: HttpRequest) -> HttpResponse:
        try:
            payload = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            return _plain_error(400, "InvalidJson", "the body must be a JSON object")
        if not isinstance(payload, dict):
            return _plain_error(400, "InvalidJson", "the body must be a JSON object")
        unknown = set(payload) - {"user_id", "scopes"}
        if unknown:
            return _plain_error(400, "InvalidParameter",
                                f"unknown fields: {', '.join(sorted(unknown))}")
        try:
            code, scopes = self._auth.mint_auth_code(payload.get("user_id"), payload.get("scopes"))
        except InvalidSandboxRequest as err:
            return _plain_error(400, "InvalidParameter", str(err))
        # The shape my.getAuthCode resolves with, so it can be posted to the session function as is.
        return json_response(200, {"authCode": code, "authSuccessScopes": list(scopes),
                                    "authErrorScopes": {}})


def _grant_fields(grant: TokenGrant) -> dict[str, object]:
    # Key order and types as the platform sends them; note there is no "code" on success.
    started = datetime.fromtimestamp(grant.auth_start, CHINA_TIME)
    return {
        "access_token": grant.access_token,
        "auth_start": started.strftime("%Y-%m-%d %H:%M:%S"),
        "expires_in": grant.expires_in,
        "re_expires_in": grant.re_expires_in,
        "refresh_token": grant.refresh_token,
        "user_id": grant.user_id,
    }


def _plain_error(status: int, code: str, message: str) -> HttpResponse:
    return json_response(status, {"code": code, "message": message})

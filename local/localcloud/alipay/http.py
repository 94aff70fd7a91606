"""The HTTP shell of the local Alipay OpenAPI gateway.

- `GET|POST /gateway.do`: the OpenAPI gateway (`alipay.system.oauth.token`,
  `alipay.user.info.share`), request signatures checked with the calling app's public key (and,
  in certificate mode, its certificate serial numbers), replies signed with the Alipay private key
  and naming the user as the app's identity mode says (`apps.py`).
  The trade methods (`alipay.trade.create`, `.query`, `.close`, `.refund`,
  `.fastpay.refund.query`) are `payments.py`'s; their notifies go out from `notify.py`, run by
  the scheduler on the local clock.
- `POST /sandbox/auth_code` `{"user_id": "2088…", "scopes": [...], "app_id"?: "…"}`: plays the
  Alipay app (`my.getAuthCode`), which cannot run on a laptop; answers what the mini program would
  get. The code is for `app_id` (default: the sandbox app). Not part of Alipay's API, so injected
  faults leave it alone. Like the admin routes, it answers only requests addressed to the cloud's
  own host, from no foreign origin, with a JSON body (`localcloud.guard`).
- `POST /sandbox/pay` `{"tradeNo", "user_id", "result"}`: plays `my.tradePay` (the cashier,
  `payments.py`), answering `{"resultCode", "memo"}`. Faults leave it alone too, and the same
  guard stands before it.

The sandbox app (the one the template's AppId names) is registered at start; `register_app` adds
more (tests use a second app to see that open_ids differ per app), `set_identity` switches an
app's identity mode while the gateway runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..clock import Clock
from ..faults import Fault, FaultApplier, FaultBoard, kinds_of
from ..httpshell import HttpRequest, HttpResponse, json_response
from ..schedule import Scheduler
from ..state import Database
from . import errors
from .apps import SCHEMA as APPS_SCHEMA
from .apps import App, AppRegistry
from .certs import AlipayCertificates, ensure_certificates
from .core import SCHEMA, AuthorizationServer, InvalidSandboxRequest, TokenGrant, migrate
from .errors import AlipayError, system_error
from .gateway import OAUTH_TOKEN, TRADE_METHODS, GatewayCall, check_call, read_params
from .keys import AlipayKeys, ensure_keys, load_private_key
from .notify import NOTIFY_FAULT_KINDS, Notifier
from .notify import SCHEMA as NOTIFY_SCHEMA
from .payments import Payments
from .replies import ReplyWriter
from .trades import SCHEMA as TRADES_SCHEMA
from .trades import TradeBook

SERVICE = "alipay"
# The routes that play the Alipay app; the cloud puts them behind its guard (localcloud.guard).
SANDBOX_PREFIX = "/sandbox/"
FAULT_KINDS = kinds_of(SERVICE)  # notify_* act on notifies (notify.py), the rest on gateway.do
CHINA_TIME = timezone(timedelta(hours=8))  # the platform's timestamps are Beijing time


class AlipayEmulator:
    def __init__(
        self,
        *,
        db_path: Path | str,
        keys_dir: Path | str,
        clock: Clock,
        faults: FaultBoard,
        app_id: str,
        signing: str = "key",
        identity: str | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        """`signing` is how the sandbox app `app_id` signs ("key" or "cert"); `identity` its
        identity mode, None to keep the one it had (user_id at first start)."""
        self.keys: AlipayKeys = ensure_keys(keys_dir)
        self.certs: AlipayCertificates = ensure_certificates(keys_dir, self.keys, app_id)
        self.app_id = app_id
        alipay_key = load_private_key(self.keys.alipay_private_key_file)
        self._replies = ReplyWriter(alipay_key)
        db = self.database = Database(  # public: the console
            db_path, ";".join((SCHEMA, APPS_SCHEMA, TRADES_SCHEMA, NOTIFY_SCHEMA))
        )
        migrate(db, app_id)
        self._auth = self.authorization = AuthorizationServer(db, clock)
        self.apps = AppRegistry(db)
        self.apps.register(
            app_id,
            self.keys.app_public_key_file.read_text(),
            signing=signing,
            app_cert_sn=self.certs.app_cert_sn if signing == "cert" else "",
            identity=identity,
        )
        self._faults = FaultApplier(faults, SERVICE)
        self.trades = TradeBook(db, clock, self.apps)
        self.notifies = Notifier(db, clock, faults, alipay_key)
        self._own_scheduler = scheduler is None
        self._scheduler = scheduler or Scheduler(clock).start()
        self._payments = Payments(
            self.trades,
            self.apps,
            self.notifies,
            self._scheduler.wake,
            alipay_cert_sn=self.certs.alipay_cert_sn,
        )
        # The trades that finish first, then the notifies: a TRADE_FINISHED notify goes in the
        # tick that queued it.
        self._scheduler.add(self._payments)
        self._scheduler.add(self.notifies)

    def close(self) -> None:
        """Stop sending notifies (when the scheduler is this gateway's own)."""
        if self._own_scheduler:
            self._scheduler.stop()

    def set_signing(self, signing: str) -> App:
        """Switch the sandbox app to "key" or "cert" signing, as a developer would in Alipay's
        console; users, codes, tokens and its identity mode stay."""
        return self.apps.register(
            self.app_id,
            self.keys.app_public_key_file.read_text(),
            signing=signing,
            app_cert_sn=self.certs.app_cert_sn if signing == "cert" else "",
        )

    def register_app(
        self,
        app_id: str,
        public_key_pem: str,
        *,
        identity: str | None = None,
        payments: bool | None = None,
    ) -> App:
        """Another app (key mode) of some developer, with its own uploaded public key;
        `payments=False`: one that has not signed up for the payment product."""
        return self.apps.register(app_id, public_key_pem, identity=identity, payments=payments)

    def set_identity(self, mode: str, app_id: str | None = None) -> App:
        """Switch an app (default: the sandbox app) to `user_id`, `both` or `open_id`. Users,
        codes and tokens stay; the next reply names users the new way."""
        return self.apps.set_identity(app_id or self.app_id, mode)

    def app(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/gateway.do":
            if request.method not in ("GET", "POST"):
                return _plain_error(405, "MethodNotAllowed", "gateway.do takes GET or POST")
            return self._gateway(request)
        if request.path in (SANDBOX_PREFIX + "auth_code", SANDBOX_PREFIX + "pay"):
            if request.method != "POST":
                return _plain_error(405, "MethodNotAllowed", "use POST with a JSON body")
            if request.path == SANDBOX_PREFIX + "pay":
                return self._sandbox_pay(request)
            return self._sandbox_auth_code(request)
        return _plain_error(404, "NotFound", f"no such path: {request.path}")

    # -- gateway.do --------------------------------------------------------------------------

    def _gateway(self, request: HttpRequest) -> HttpResponse:
        params = read_params(request)
        method = params.get("method", "")

        def refuse(fault: Fault) -> HttpResponse:  # answered before any state is read or changed
            if fault.kind in NOTIFY_FAULT_KINDS:
                return self._call(params)  # a notify's fault: the gateway answers as ever
            cert_sn = self._cert_sn(self.apps.find(params.get("app_id", "")))
            if fault.kind == "bad_signature":
                return self._replies.forged(method, cert_sn=cert_sn)
            return self._replies.error(system_error(fault.code), cert_sn=cert_sn)

        return self._faults.around(method or None, lambda: self._call(params), refuse)

    def _call(self, params: Mapping[str, str]) -> HttpResponse:
        try:
            call = check_call(params, find_app=self.apps.find, root_cert_sn=self.certs.root_cert_sn)
        except AlipayError as err:
            app = self.apps.find(params.get("app_id", ""))
            return self._replies.error(err, signed=app is not None, cert_sn=self._cert_sn(app))
        if call.method in TRADE_METHODS:
            fields: dict[str, object]
            try:
                fields = self._payments.call(call)
            except AlipayError as err:
                # Trade refusals (40004 ACQ.*) come under the method's key, signed.
                fields = dict(err.body())
            return self._replies.result(call.method, fields, cert_sn=self._cert_sn(call.app))
        if call.method == OAUTH_TOKEN:
            return self._oauth_token(call)
        return self._user_info_share(call)

    def _cert_sn(self, app: App | None) -> str | None:
        return self.certs.alipay_cert_sn if app is not None and app.signing == "cert" else None

    def _oauth_token(self, call: GatewayCall) -> HttpResponse:
        grant_type = call.param("grant_type")
        app = call.app
        cert_sn = self._cert_sn(app)
        try:
            if grant_type == "authorization_code":
                grant = self._auth.exchange_code(app.app_id, call.param("code"))
            elif grant_type == "refresh_token":
                grant = self._auth.refresh(app.app_id, call.param("refresh_token"))
            else:
                raise AlipayError(errors.GRANT_TYPE_INVALID)
        except AlipayError as err:
            # This method's refusals come as error_response, not under its own key.
            return self._replies.error(err, cert_sn=cert_sn)
        # The app's mode when it asks, not when the code was minted, names the user (an app
        # switched mid-flight gets the new shape at once, as on the platform).
        identity = self.apps.identity_fields(self.apps.get(app.app_id), grant.user_id)
        return self._replies.result(call.method, _grant_fields(grant, identity), cert_sn=cert_sn)

    def _user_info_share(self, call: GatewayCall) -> HttpResponse:
        cert_sn = self._cert_sn(call.app)
        try:
            user = self._auth.user_info(call.app.app_id, call.param("auth_token"))
        except AlipayError as err:
            # Token refusals come under the method's key, signed: the SDK returns them as a
            # result with code 20001 instead of raising.
            return self._replies.result(call.method, err.body(), cert_sn=cert_sn)
        fields: dict[str, object] = {
            "code": "10000",
            "msg": "Success",
            "avatar": user.avatar,
            "city": user.city,
            "gender": user.gender,
            "nick_name": user.nick_name,
            "province": user.province,
        }
        fields.update(self.apps.identity_fields(call.app, user.user_id))
        return self._replies.result(call.method, fields, cert_sn=cert_sn)

    # -- sandbox -----------------------------------------------------------------------------

    def _sandbox_pay(self, request: HttpRequest) -> HttpResponse:
        payload = _json_object(request.body)
        if payload is None:
            return _plain_error(400, "InvalidJson", "the body must be a JSON object")
        try:
            return json_response(200, self._payments.cashier(payload))
        except InvalidSandboxRequest as err:
            return _plain_error(400, "InvalidParameter", str(err))

    def _sandbox_auth_code(self, request: HttpRequest) -> HttpResponse:
        payload = _json_object(request.body)
        if payload is None:
            return _plain_error(400, "InvalidJson", "the body must be a JSON object")
        unknown = set(payload) - {"user_id", "scopes", "app_id"}
        if unknown:
            return _plain_error(
                400, "InvalidParameter", f"unknown fields: {', '.join(sorted(unknown))}"
            )
        app_id = payload.get("app_id", self.app_id)
        if not isinstance(app_id, str) or self.apps.find(app_id) is None:
            return _plain_error(400, "InvalidParameter", "app_id names no registered app")
        try:
            code, scopes = self._auth.mint_auth_code(
                app_id, payload.get("user_id"), payload.get("scopes")
            )
        except InvalidSandboxRequest as err:
            return _plain_error(400, "InvalidParameter", str(err))
        # The shape my.getAuthCode resolves with, so it can be posted to the session function as is.
        return json_response(
            200, {"authCode": code, "authSuccessScopes": list(scopes), "authErrorScopes": {}}
        )


def _grant_fields(grant: TokenGrant, identity: dict[str, str]) -> dict[str, object]:
    # Key order and types as the platform sends them (alphabetical); no "code" on success.
    started = datetime.fromtimestamp(grant.auth_start, CHINA_TIME)
    fields: dict[str, object] = {
        "access_token": grant.access_token,
        "auth_start": started.strftime("%Y-%m-%d %H:%M:%S"),
        "expires_in": grant.expires_in,
        "re_expires_in": grant.re_expires_in,
        "refresh_token": grant.refresh_token,
        **identity,
    }
    return dict(sorted(fields.items()))


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _plain_error(status: int, code: str, message: str) -> HttpResponse:
    return json_response(status, {"code": code, "message": message})

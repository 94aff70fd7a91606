"""IdentityProvider on python-alipay-sdk: `alipay.system.oauth.token` with an auth code.

How Alipay answers, and what we make of it:

    signed `alipay_system_oauth_token_response` with user_id and/or
      open_id (an app in openid mode) + tokens                          -> AlipayGrant
    sub_code isv.code-* (unknown, used or expired code)                  -> InvalidAuthCode
    anything else Alipay refuses (isp.* outages, isv.* configuration)    -> UpstreamUnavailable
    a reply whose signature does not verify, or that is malformed        -> UpstreamUnavailable
    connection refused or dropped, timeout, HTTP 4xx/5xx from the gateway -> UpstreamUnavailable

Key mode or certificate mode ("公钥证书"), as the app is configured in Alipay's console. In
certificate mode the client is the SDK's `DCAliPay`: requests carry `app_cert_sn` and
`alipay_root_cert_sn`, and replies are verified with the key of Alipay's public key certificate.
The function gets that certificate and the two serial numbers, not the app and root certificates
themselves (docs/alipay.md: they would not fit FC's 4 KB of environment variables).

A misconfigured app (isv.invalid-app-id, isv.invalid-signature) is also answered as
UpstreamUnavailable, not Internal: the client can do nothing either way, and the message keeps the
sub_code so the operator sees it in the invocation log.
"""

from __future__ import annotations

import binascii
import http.client
import json
import logging
import sys
import threading
import types
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .. import deadline
from ..domain.identity import ALIPAY_ID
from ..domain.records import AlipayGrant
from ..errors import Internal, InvalidAuthCode, MiniAppError, UpstreamUnavailable
from . import sdk_imports
from .keys import KeyFormatError, certificate_pem, pem, private_key, public_key_pem

if TYPE_CHECKING:  # pycryptodomex comes with python-alipay-sdk, imported when a client is built
    from Cryptodome.PublicKey.RSA import RsaKey

OAUTH_TOKEN = "alipay.system.oauth.token"
_SUCCESS = "10000"
# The sub_codes by which Alipay says the code itself is bad (unknown, already used, expired).
_CODE_SUB_CODE_PREFIXES = ("isv.code-", "isv.auth-code-", "isv.invalid-auth-code")
_SDK_LOGGER = "python-alipay-sdk"
# The OpenAPI's `timestamp` is Beijing time (Alipay's own Java SDK formats it in GMT+8); the SDK
# uses the host's local time, which on Function Compute is UTC. We pass our own.
_BEIJING = timezone(timedelta(hours=8))


def _import_sdk() -> Any:
    """Import `alipay` without letting `alipay/loggers.py` run `logging.config.dictConfig`.

    That module, imported by the package, reconfigures logging process-wide (closing the handlers
    already registered, e.g. the FC runtime's) and gives the SDK logger a DEBUG stderr handler.
    A stand-in module that only provides the `logger` name keeps both from happening. If another
    module imported the SDK first, we still quiet the logger.
    """
    if "alipay" not in sys.modules and "alipay.loggers" not in sys.modules:
        stand_in = types.ModuleType("alipay.loggers")
        # A bare ModuleType declares no attributes; this stand-in gets the one the SDK reads.
        stand_in.logger = logging.getLogger(_SDK_LOGGER)  # type: ignore[attr-defined]
        sys.modules["alipay.loggers"] = stand_in
    with sdk_imports.lean():  # pyOpenSSL runs in certificate mode only (sdk_imports.DEFERRED)
        import alipay

    sdk_logger = logging.getLogger(_SDK_LOGGER)
    for handler in list(sdk_logger.handlers):
        sdk_logger.removeHandler(handler)
    sdk_logger.setLevel(logging.WARNING)
    return alipay


class GatewayFailure(OSError):
    """The gateway could not be reached, dropped the connection, timed out or answered an HTTP
    error (what `urlopen` raised as URLError / HTTPError)."""


def _pooled_client(sdk_class: type, app_private_key: RsaKey | None) -> type:
    """The SDK's client class, sending on a kept-alive connection, holding the private key we
    parsed.

    The SDK sends each request with `urllib.request.urlopen` (`verified_sync_response`): a new
    TCP connection, in the cloud a new TLS handshake, per login. This subclass sends the very same
    GET (the SDK builds and signs it, and verifies the reply) through one urllib3 connection pool
    that lives as long as the FC instance, so warm logins reuse the connection. The SDK's code is
    not changed; only the transport of that one method is.

    Its constructor loads both keys (`_load_key`) with `RSA.importKey`, which for the private
    key means pycryptodomex's consistency check, primality tests included: 60-100 ms of every
    cold start on python3.10 here, for the very key `keys.private_key` parsed and
    checked a moment before. This subclass hands the SDK that key object, and loads the public
    key as the SDK does."""
    import urllib3
    from Cryptodome.PublicKey import RSA

    class PooledClient(sdk_class):  # type: ignore[misc]  # the SDK has no type hints
        def _load_key(self) -> None:
            self._app_private_key = app_private_key
            self._alipay_public_key = RSA.importKey(self._alipay_public_key_string)

        def verified_sync_response(self, data: Any, response_type: str) -> Any:
            url = self._gateway + "?" + self.sign_data(data)
            seconds = self._config.timeout  # what is left of the invocation (`CallTimeout`)
            try:
                response = _gateway_pool().request(
                    "GET", url, timeout=urllib3.Timeout(connect=seconds, read=seconds)
                )
            except urllib3.exceptions.HTTPError as exc:
                raise GatewayFailure(type(exc).__name__) from exc
            if not 200 <= response.status < 300:
                raise GatewayFailure(f"HTTP {response.status}")
            raw = response.data.decode()
            return self._verify_and_return_sync_response(raw, response_type)

    PooledClient.__name__ = f"Pooled{sdk_class.__name__}"
    return PooledClient


_pool: Any = None
_pool_lock = threading.Lock()


def _gateway_pool() -> Any:
    """One pool per process (per FC instance): it outlives an app rebuilt for new service-role
    credentials. No retries: a login is not re-sent behind the deadline's back."""
    global _pool
    with _pool_lock:
        if _pool is None:
            import urllib3

            _pool = urllib3.PoolManager(num_pools=2, maxsize=4, retries=False)
        return _pool


class AlipayIdentityProvider:
    def __init__(
        self,
        app_id: str,
        app_private_key_pem: str,
        alipay_public_key_pem: str,
        gateway_url: str,
        timeout_seconds: float,
        *,
        app_cert_sn: str = "",
        root_cert_sn: str = "",
    ) -> None:
        """Key mode, or certificate mode when the serial numbers are given: then
        `alipay_public_key_pem` is Alipay's public key certificate."""
        self._client = alipay_client(
            app_id,
            app_private_key_pem,
            alipay_public_key_pem,
            gateway_url,
            timeout_seconds,
            app_cert_sn=app_cert_sn,
            root_cert_sn=root_cert_sn,
        )

    def exchange_auth_code(self, auth_code: str) -> AlipayGrant:
        try:
            reply = call(
                self._client,
                OAUTH_TOKEN,
                "oauth.token",
                grant_type="authorization_code",
                code=auth_code,
            )
        except GatewayRefusal as refusal:
            raise _refusal(refusal) from None
        return _grant(reply)


def alipay_client(
    app_id: str,
    app_private_key_pem: str | None,
    alipay_public_key_pem: str,
    gateway_url: str,
    timeout_seconds: float,
    *,
    app_cert_sn: str = "",
    root_cert_sn: str = "",
) -> Any:
    """The SDK's client for the app (AliPay, or DCAliPay in certificate mode), sending on the
    instance's pooled connection. Internal (never the key text) when a key does not parse.
    Without a private key (None) it can only verify: the notify receiver's, which signs
    nothing."""
    alipay = _import_sdk()
    from alipay.utils import AliPayConfig

    # The SDK passes `config.timeout` to urlopen: it bounds the connect and each socket
    # read. Ours is cut to what is left of the invocation.
    config = _call_timeout_config(AliPayConfig, timeout_seconds)
    try:
        private = (
            None
            if app_private_key_pem is None
            else private_key(app_private_key_pem, check_primes=False)
        )
        if app_cert_sn:
            client = _certificate_client(
                alipay,
                app_id,
                private,
                certificate_pem(alipay_public_key_pem),
                app_cert_sn,
                root_cert_sn,
                config,
            )
        else:
            client = _pooled_client(alipay.AliPay, private)(
                appid=app_id,
                app_notify_url=None,
                app_private_key_string=None if private is None else pem(private),
                alipay_public_key_string=public_key_pem(alipay_public_key_pem),
                sign_type="RSA2",
                debug=False,
                config=config,
            )
    except KeyFormatError as exc:
        raise Internal(f"Alipay key configuration: {exc}") from None
    except Exception:  # noqa: BLE001 - the key text must not end up in a traceback
        raise Internal("Alipay client configuration") from None
    # The gateway is not a constructor parameter: the SDK keeps it in `_gateway`
    # (production or sandbox URL by `debug`). Ours comes from configuration.
    client._gateway = gateway_url
    return client


class GatewayRefusal(Exception):
    """Alipay answered, and refused: `body` is its `{code, msg, sub_code, sub_msg}` (a signed
    business failure, or an `error_response`)."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(str(body.get("sub_code") or body.get("code") or "refused"))
        self.body = body

    @property
    def sub_code(self) -> str:
        return str(self.body.get("sub_code", "") or "")

    def unavailable(self) -> UpstreamUnavailable:
        """The refusal as a caller that cannot act on it answers it: its codes, which the
        operator reads in the invocation log."""
        detail = " ".join(str(part) for part in (self.body.get("code"), self.sub_code) if part)
        return UpstreamUnavailable(f"Alipay refused the request ({detail or 'no code'})")


def call(client: Any, method: str, what: str, **params: Any) -> dict[str, Any]:
    """One OpenAPI call through the SDK's generic `server_api` (`biz_content=` and the top-level
    parameters as given), with our Beijing-time timestamp. The verified reply, or
    GatewayRefusal (Alipay said no), or UpstreamUnavailable (unreachable, slow, unverifiable
    or malformed): an SDK error never leaves this function."""
    from alipay.exceptions import AliPayException, AliPayValidationError

    deadline.require(f"Alipay {what}")
    try:
        reply = client.server_api(
            method, timestamp=datetime.now(_BEIJING).strftime("%Y-%m-%d %H:%M:%S"), **params
        )
    except AliPayException as exc:
        raise GatewayRefusal(_error_body(exc, method)) from exc
    except AliPayValidationError as exc:
        raise UpstreamUnavailable("Alipay reply signature did not verify") from exc
    except (OSError, http.client.HTTPException) as exc:
        # GatewayFailure: HTTP 4xx/5xx, timeouts, refused or dropped connections.
        raise UpstreamUnavailable(f"Alipay gateway unreachable ({type(exc).__name__})") from exc
    except (ValueError, KeyError, AttributeError, TypeError, binascii.Error) as exc:
        # Not JSON, not the shape the SDK expects, or a sign that is not base64.
        raise UpstreamUnavailable("Alipay reply is malformed") from exc
    except Exception as exc:  # never let an SDK error escape untranslated
        raise Internal() from exc
    if not isinstance(reply, dict):
        raise UpstreamUnavailable("Alipay reply is malformed")
    # A business failure comes back signed under the method's key and is returned, not raised.
    code = reply.get("code")
    if code is not None and str(code) != _SUCCESS:
        raise GatewayRefusal(reply)
    return reply


def _certificate_client(
    alipay: Any,
    app_id: str,
    private: RsaKey | None,
    alipay_cert_pem: str,
    app_cert_sn: str,
    root_cert_sn: str,
    config: Any,
) -> Any:
    """`DCAliPay`, which signs like `AliPay`, adds both serial numbers to every request and
    verifies replies with the public key it takes from Alipay's certificate. It computes the serial
    numbers lazily from the app and root certificates and keeps them in `_app_cert_sn` and
    `_alipay_root_cert_sn`; we hold the serial numbers, not those certificates, so we set them
    (`scripts/alipay_certs.py` computes them with the SDK's own `get_cert_sn`/`get_root_cert_sn`).
    Its constructor takes no `config`: the timeout is set on the attribute `AliPay` keeps it in."""
    client = _pooled_client(alipay.DCAliPay, private)(
        appid=app_id,
        app_private_key_string=None if private is None else pem(private),
        app_public_key_cert_string="",
        alipay_public_key_cert_string=alipay_cert_pem,
        alipay_root_cert_string="",
        app_notify_url=None,
        sign_type="RSA2",
        debug=False,
    )
    client._app_cert_sn = app_cert_sn
    client._alipay_root_cert_sn = root_cert_sn
    client._config = config
    return client


def _call_timeout_config(base: type, limit: float) -> Any:
    """An `AliPayConfig` whose `timeout` is `limit` or what is left of the invocation, read by
    the SDK on each request (the SDK has no per-call timeout)."""

    class CallTimeout(base):  # type: ignore[misc]  # the base class is only known at run time
        @property
        def timeout(self) -> float:
            left = deadline.remaining()
            return limit if left is None else max(deadline.MIN_CALL_SECONDS, min(limit, left))

        @timeout.setter
        def timeout(self, value: float) -> None:
            pass  # AliPayConfig.__init__ sets it; ours is computed

    return CallTimeout()


def _error_body(exc: Exception, method: str = OAUTH_TOKEN) -> dict[str, Any]:
    """The `{code, msg, sub_code, sub_msg}` object of an AliPayException.

    The SDK keeps the raw reply as the exception's (name-mangled, private) message; it has no
    accessor, so we read the attribute and parse the JSON again.
    """
    raw = getattr(exc, "_AliPayException__message", "")
    try:
        doc = json.loads(raw)
    except (TypeError, ValueError):
        return {"code": str(getattr(exc, "_AliPayException__code", "") or "")}
    body = doc.get("error_response") or doc.get(method.replace(".", "_") + "_response") or {}
    return body if isinstance(body, dict) else {}


def _refusal(refusal: GatewayRefusal) -> MiniAppError:
    if refusal.sub_code.startswith(_CODE_SUB_CODE_PREFIXES):
        return InvalidAuthCode()
    return refusal.unavailable()


def _grant(reply: dict[str, Any]) -> AlipayGrant:
    # An app in openid mode gets open_id, one in its verification phase both; which user that
    # is to us is decided by services.identity, not here.
    user_id, open_id = _alipay_id(reply.get("user_id")), _alipay_id(reply.get("open_id"))
    if not (user_id or open_id):
        raise UpstreamUnavailable("Alipay reply lacks the user id or tokens")
    try:
        return AlipayGrant(
            user_id=user_id,
            open_id=open_id,
            access_token=_text(reply.get("access_token")),
            refresh_token=_text(reply.get("refresh_token")),
            # A missing number is None, whose TypeError is answered below.
            expires_in=int(reply.get("expires_in")),  # type: ignore[arg-type]  # see above
            re_expires_in=int(reply.get("re_expires_in")),  # type: ignore[arg-type]  # see above
        )
    except (TypeError, ValueError):
        raise UpstreamUnavailable("Alipay reply lacks the user id or tokens") from None


def _alipay_id(value: Any) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not ALIPAY_ID.fullmatch(value):
        raise UpstreamUnavailable("Alipay reply names the user in an unexpected form")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("missing")
    return value

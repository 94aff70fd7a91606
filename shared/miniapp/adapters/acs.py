"""One RPC endpoint of Alibaba Cloud called through `aliyunsdkcore.AcsClient` (STS AssumeRole,
KMS GetSecretValue), with the function's role credentials.

Every failure is UpstreamUnavailable; the message keeps the service's error code (e.g.
NoPermission, Forbidden.RAM, Forbidden.ResourceNotFound) so the operator can tell a missing grant
from an outage, and never a key, a token or a request parameter.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .. import deadline
from ..errors import Internal, UpstreamUnavailable
from . import sdk_imports


class RpcEndpoint:
    def __init__(
        self,
        service: str,
        endpoint: str,
        region: str,
        access_key_id: str,
        access_key_secret: str,
        security_token: str | None,
        timeout_seconds: float,
    ) -> None:
        with sdk_imports.lean():  # what the SDK imports and we never use stays off the path
            from aliyunsdkcore.auth.credentials import AccessKeyCredential, StsTokenCredential
            from aliyunsdkcore.auth.signers.sts_token_signer import StsTokenSigner
            from aliyunsdkcore.client import AcsClient
            from aliyunsdkcore.http import protocol_type

        url = urlsplit(endpoint if "://" in endpoint else "https://" + endpoint)
        if not url.netloc:
            raise Internal(f"{service} endpoint is not a URL")
        self._service = service
        self._netloc = url.netloc  # host[:port]; the request carries it, the SDK adds no port
        # The SDK compares the protocol by identity (`protocol is PT.HTTPS`), so pass its own
        # constants, never a string we parsed.
        self._protocol = protocol_type.HTTPS if url.scheme == "https" else protocol_type.HTTP
        self._timeout = timeout_seconds
        credential = (
            StsTokenCredential(access_key_id, access_key_secret, security_token)
            if security_token
            else AccessKeyCredential(access_key_id, access_key_secret)
        )
        self._client = AcsClient(
            region_id=region,
            credential=credential,
            # Nothing retries behind our back: the timeout below is the whole wait.
            auto_retry=False,
            connect_timeout=timeout_seconds,
            timeout=timeout_seconds,
        )
        # The SDK's signer factory prefers ALIYUN_ACCESS_KEY_ID/SECRET from the environment over
        # the credential we pass: with those set, the function's STS token would silently be
        # ignored. Refuse that configuration instead of signing with someone else's key.
        if security_token and not isinstance(self._client._signer, StsTokenSigner):
            raise Internal(
                "ALIYUN_ACCESS_KEY_ID/ALIYUN_ACCESS_KEY_SECRET in the environment "
                "override the function's credentials; unset them"
            )

    def call(self, request: Any, action: str) -> bytes:
        """The reply body of `request` (an aliyunsdk* RpcRequest); `action` names it in errors."""
        from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException

        what = f"{self._service} {action}"
        request.set_endpoint(self._netloc)
        request.set_protocol_type(self._protocol)
        request.set_accept_format("JSON")
        # The client's timeouts are its limit; this request gets less when the invocation has
        # less left (miniapp.deadline).
        seconds = deadline.budget(what, self._timeout)
        request.set_connect_timeout(seconds)
        request.set_read_timeout(seconds)
        try:
            body: bytes = self._client.do_action_with_exception(request)
        except ServerException as exc:
            raise UpstreamUnavailable(
                f"{what} failed: {exc.get_error_code()} (HTTP {exc.get_http_status()})"
            ) from exc
        except ClientException as exc:
            # SDK.HttpError: refused, dropped or timed out. Other client codes mean the request
            # could not even be built, which is our bug.
            if exc.get_error_code() == "SDK.HttpError":
                raise UpstreamUnavailable(f"{what} failed: unreachable") from exc
            raise Internal() from exc
        except Exception as exc:  # never let an SDK error escape untranslated
            raise Internal() from exc
        return body

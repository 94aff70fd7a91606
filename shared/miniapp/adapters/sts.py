"""CredentialIssuer on aliyun-python-sdk-sts: AssumeRole on the client role with an inline policy.

Every failure is UpstreamUnavailable; the message keeps STS's error code (e.g. NoPermission,
EntityNotExist.Role, InvalidParameter.PolicyGrammar) so the operator can tell a missing grant from
an outage, and never a key, token or the policy text.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .. import deadline
from ..domain.records import StsCredentials
from ..errors import Internal, UpstreamUnavailable


class StsCredentialIssuer:
    def __init__(self, endpoint: str, region: str, access_key_id: str, access_key_secret: str,
                 security_token: str | None, role_arn: str, timeout_seconds: float) -> None:
        from aliyunsdkcore.auth.credentials import AccessKeyCredential, StsTokenCredential
        from aliyunsdkcore.auth.signers.sts_token_signer import StsTokenSigner
        from aliyunsdkcore.client import AcsClient
        from aliyunsdkcore.http import protocol_type

        url = urlsplit(endpoint if "://" in endpoint else "https://" + endpoint)
        if not url.netloc:
            raise Internal("STS endpoint is not a URL")
        self._netloc = url.netloc  # host[:port]; the request carries it, the SDK adds no port
        # The SDK compares the protocol by identity (`protocol is PT.HTTPS`), so pass its own
        # constants, never a string we parsed.
        self._protocol = protocol_type.HTTPS if url.scheme == "https" else protocol_type.HTTP
        self._role_arn = role_arn
        self._timeout = timeout_seconds
        credential = (StsTokenCredential(access_key_id, access_key_secret, security_token)
                      if security_token else AccessKeyCredential(access_key_id, access_key_secret))
        self._client = AcsClient(
            region_id=region,
            credential=credential,
            # AssumeRole is not in the SDK's retryable list anyway; say so, so nothing retries
            # behind our back and the timeout below is the whole wait.
            auto_retry=False,
            connect_timeout=timeout_seconds,
            timeout=timeout_seconds,
        )
        # The SDK's signer factory prefers ALIYUN_ACCESS_KEY_ID/SECRET from the environment over
        # the credential we pass: with those set, the function's STS token would silently be
        # ignored. Refuse that configuration instead of signing with someone else's key.
        if security_token and not isinstance(self._client._signer, StsTokenSigner):
            raise Internal("ALIYUN_ACCESS_KEY_ID/ALIYUN_ACCESS_KEY_SECRET in the environment "
                           "override the function's credentials; unset them")

    def issue(self, session_name: str, policy: Mapping[str, object],
              duration_seconds: int) -> StsCredentials:
        from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
        from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest

        request = AssumeRoleRequest()
        request.set_endpoint(self._netloc)
        request.set_protocol_type(self._protocol)
        request.set_accept_format("JSON")
        request.set_RoleArn(self._role_arn)
        request.set_RoleSessionName(session_name)
        request.set_Policy(json.dumps(policy, separators=(",", ":")))
        request.set_DurationSeconds(int(duration_seconds))
        # The client's timeouts are its limit; this request gets less when the invocation has
        # less left (miniapp.deadline).
        seconds = deadline.budget("STS AssumeRole", self._timeout)
        request.set_connect_timeout(seconds)
        request.set_read_timeout(seconds)
        try:
            body = self._client.do_action_with_exception(request)
        except ServerException as exc:
            raise UpstreamUnavailable(
                f"STS AssumeRole failed: {exc.get_error_code()} (HTTP {exc.get_http_status()})"
            ) from exc
        except ClientException as exc:
            # SDK.HttpError: refused, dropped or timed out. Other client codes mean the request
            # could not even be built, which is our bug.
            if exc.get_error_code() == "SDK.HttpError":
                raise UpstreamUnavailable("STS AssumeRole failed: unreachable") from exc
            raise Internal() from exc
        except Exception as exc:  # never let an SDK error escape untranslated
            raise Internal() from exc
        return _credentials(body)


def _credentials(body: Any) -> StsCredentials:
    try:
        creds = json.loads(body)["Credentials"]
        return StsCredentials(
            access_key_id=_text(creds["AccessKeyId"]),
            access_key_secret=_text(creds["AccessKeySecret"]),
            security_token=_text(creds["SecurityToken"]),
            expiration=_text(creds["Expiration"]),
        )
    except (ValueError, TypeError, KeyError):
        raise UpstreamUnavailable("STS AssumeRole reply is malformed") from None


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("missing")
    return value

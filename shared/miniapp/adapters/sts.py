"""CredentialIssuer on aliyun-python-sdk-sts: AssumeRole on the client role with an inline policy.

Failures are UpstreamUnavailable with STS's error code (adapters.acs): e.g. NoPermission,
EntityNotExist.Role, InvalidParameter.PolicyGrammar; never a key, token or the policy text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..domain.records import StsCredentials
from ..errors import UpstreamUnavailable
from .acs import RpcEndpoint


class StsCredentialIssuer:
    def __init__(
        self,
        endpoint: str,
        region: str,
        access_key_id: str,
        access_key_secret: str,
        security_token: str | None,
        role_arn: str,
        timeout_seconds: float,
    ) -> None:
        self._sts = RpcEndpoint(
            "STS",
            endpoint,
            region,
            access_key_id,
            access_key_secret,
            security_token,
            timeout_seconds,
        )
        self._role_arn = role_arn

    def issue(
        self, session_name: str, policy: Mapping[str, object], duration_seconds: int
    ) -> StsCredentials:
        from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest

        request = AssumeRoleRequest()
        request.set_RoleArn(self._role_arn)
        request.set_RoleSessionName(session_name)
        request.set_Policy(json.dumps(policy, separators=(",", ":")))
        request.set_DurationSeconds(int(duration_seconds))
        return _credentials(self._sts.call(request, "AssumeRole"))


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

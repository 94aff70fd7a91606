"""Secrets from KMS Secrets Manager (aliyun-python-sdk-kms GetSecretValue), read with the
function's role credentials once per instance, when its app is built.

Failures are UpstreamUnavailable with KMS's error code (adapters.acs): Forbidden.RAM when the
role may not read the secret, Forbidden.ResourceNotFound when it does not exist; the message
names the variable that names the secret, never the value.
"""

from __future__ import annotations

import json

from ..errors import UpstreamUnavailable
from .acs import RpcEndpoint


class KmsSecrets:
    def __init__(
        self,
        endpoint: str,
        region: str,
        access_key_id: str,
        access_key_secret: str,
        security_token: str | None,
        timeout_seconds: float,
    ) -> None:
        self._kms = RpcEndpoint(
            "KMS",
            endpoint,
            region,
            access_key_id,
            access_key_secret,
            security_token,
            timeout_seconds,
        )

    def get(self, name: str, variable: str) -> str:
        """The current value of secret `name`; `variable` (the setting naming it) goes into
        error messages instead of the name."""
        from aliyunsdkkms.request.v20160120.GetSecretValueRequest import GetSecretValueRequest

        request = GetSecretValueRequest()
        request.set_SecretName(name)
        body = self._kms.call(request, f"GetSecretValue of {variable}")
        try:
            value = json.loads(body)["SecretData"]
        except (ValueError, TypeError, KeyError):
            raise UpstreamUnavailable(
                f"KMS GetSecretValue of {variable}: malformed reply"
            ) from None
        if not isinstance(value, str):
            raise UpstreamUnavailable(f"KMS GetSecretValue of {variable}: malformed reply")
        return value

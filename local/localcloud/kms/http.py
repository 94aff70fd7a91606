"""KMS's actions on the shared RPC shell (`localcloud.rpc`: Alibaba's RPC style, `POST
/?Action=GetSecretValue&...`, signature v1, JSON answers and errors) as `aliyunsdkcore.AcsClient`
sends them with `aliyunsdkkms`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..credentials import CredentialBook
from ..faults import FaultBoard, kinds_of
from ..httpshell import HttpRequest, HttpResponse
from ..rpc import RpcApi, RpcCall, RpcShell
from .core import (
    CURRENT_STAGE,
    FORBIDDEN,
    KmsError,
    RolePolicies,
    SecretBook,
    authorize,
    not_found,
    secret_arn,
)

API_VERSION = "2016-01-20"
FAULT_KINDS = kinds_of("kms")


def _iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class KmsEmulator:
    def __init__(
        self,
        *,
        credentials: CredentialBook,
        faults: FaultBoard,
        region: str,
        role_policies: RolePolicies = lambda arn: None,
    ) -> None:
        self._account_id = credentials.account.account_id
        self._region = region
        self._role_policies = role_policies
        self.secrets = SecretBook(_iso_now)
        api = RpcApi(
            product="Kms",
            host_id=f"kms.{region}.aliyuncs.com",
            version=API_VERSION,
            service="kms",
            actions={"GetSecretValue": self._get_secret_value},
            faults={
                "refuse": FORBIDDEN,
                "internal_error": KmsError(500, "InternalFailure", "Internal error occurred."),
            },
        )
        self._shell = RpcShell(api, credentials, faults)

    def set_role_policies(self, role_policies: RolePolicies) -> None:
        self._role_policies = role_policies

    def set_secrets(self, secrets: Iterable[tuple[str, str]]) -> None:
        """(name, value) of every secret the deployed templates declare."""
        self.secrets.replace_all(secrets)

    def app(self, request: HttpRequest) -> HttpResponse:
        return self._shell.app(request)

    def _get_secret_value(self, call: RpcCall) -> dict[str, Any]:
        name = call.required("SecretName")
        stage = call.params.get("VersionStage") or CURRENT_STAGE
        # Authorization first: a caller without the grant cannot learn which secrets exist.
        authorize(
            call.caller, self._role_policies, secret_arn(self._region, self._account_id, name)
        )
        version = self.secrets.current(name)
        if (
            stage != CURRENT_STAGE
            or call.params.get("VersionId", version.version_id) != version.version_id
        ):
            raise not_found()
        return {
            "SecretName": name,
            "VersionId": version.version_id,
            "CreateTime": version.created,
            "SecretData": version.data,
            "SecretDataType": "text",
            "SecretType": "Generic",
            "VersionStages": {"VersionStage": [CURRENT_STAGE]},
        }

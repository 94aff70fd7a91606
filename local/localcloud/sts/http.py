"""STS's actions on the shared RPC shell (`localcloud.rpc`: Alibaba's RPC style, `POST
/?Action=AssumeRole&...`, signature v1, JSON answers and errors) as `aliyunsdkcore.AcsClient`
sends them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..account import Account
from ..clock import Clock
from ..credentials import CredentialBook, IssuedCredentials
from ..faults import FaultBoard, kinds_of
from ..httpshell import HttpRequest, HttpResponse
from ..policy import any_allows, is_allowed
from ..rpc import INTERNAL_ERROR, RpcApi, RpcCall, RpcShell
from ..tablestore.policy import RolePolicies
from . import policy as policies
from .core import DEFAULT_DURATION, RoleAssumer, RoleSpec, StsError, assumed_role_user, role_id

FAULT_KINDS = kinds_of("sts")
API_VERSION = "2015-04-01"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_NO_PERMISSION = "You are not authorized to do this action. You should be authorized by RAM."


class StsEmulator:
    def __init__(
        self,
        *,
        account: Account,
        credentials: CredentialBook,
        clock: Clock,
        faults: FaultBoard,
        roles: Mapping[str, RoleSpec],
    ) -> None:
        self._account = account
        self._credentials = credentials
        self._clock = clock
        self._roles = RoleAssumer(account, credentials, roles)
        self._role_policies: RolePolicies = lambda arn: None
        api = RpcApi(
            product="Sts",
            host_id="sts.aliyuncs.com",
            version=API_VERSION,
            service="sts",
            actions={"AssumeRole": self._assume_role, "GetCallerIdentity": self._caller_identity},
            faults={
                "refuse": StsError(403, "NoPermission", _NO_PERMISSION),
                "internal_error": INTERNAL_ERROR,
            },
        )
        self._shell = RpcShell(api, credentials, faults)

    def set_roles(self, roles: Mapping[str, RoleSpec]) -> None:
        self._roles.set_roles(roles)

    def set_role_policies(self, role_policies: RolePolicies) -> None:
        """The template's roles: a role's session may assume another role only if its role's
        policies allow `sts:AssumeRole` on it (a role declared without policies, or not at all,
        is not restricted here: what it allows is unknown)."""
        self._role_policies = role_policies

    def assume_role(
        self, role_arn: str, session_name: str, policy: dict[str, Any] | None, duration_seconds: int
    ) -> IssuedCredentials:
        """The core call (FC issues service-role credentials with it); raises StsError."""
        return self._roles.assume_role(role_arn, session_name, policy, duration_seconds)

    def app(self, request: HttpRequest) -> HttpResponse:
        return self._shell.app(request)

    # -- actions -------------------------------------------------------------------------------
    def _assume_role(self, call: RpcCall) -> dict[str, Any]:
        caller, params = call.caller, call.params
        if caller.is_root:
            raise StsError(403, "NoPermission", "Roles may not be assumed by root accounts.")
        role_arn, session_name = call.required("RoleArn"), call.required("RoleSessionName")
        role = self._roles.role(role_arn)
        if caller.policy is not None and not is_allowed(caller.policy, "sts:AssumeRole", role.arn):
            raise StsError(403, "NoPermission", _NO_PERMISSION)
        granted = self._role_policies(caller.role_arn) if caller.role_arn else None
        if granted and not any_allows(granted, "sts:AssumeRole", role.arn):
            raise StsError(403, "NoPermission", _NO_PERMISSION)
        policy = None
        if params.get("Policy"):
            try:
                policy = policies.parse(params["Policy"])
            except policies.PolicyGrammarError as exc:
                raise StsError(
                    400,
                    "InvalidParameter.PolicyGrammar",
                    f"The parameter Policy has not passed grammar check: {exc}.",
                ) from None
        try:
            duration = int(params.get("DurationSeconds") or DEFAULT_DURATION)
        except ValueError:
            raise StsError(
                400,
                "InvalidParameter.DurationSeconds",
                "The parameter DurationSeconds must be an integer.",
            ) from None
        issued = self._roles.assume_role(role_arn, session_name, policy, duration)
        principal = issued.principal
        arn, assumed_role_id = assumed_role_user(principal)
        assert principal.expires_at is not None
        return {
            "AssumedRoleUser": {"Arn": arn, "AssumedRoleId": assumed_role_id},
            "Credentials": {
                "AccessKeyId": principal.access_key_id,
                "AccessKeySecret": principal.access_key_secret,
                "SecurityToken": issued.security_token,
                "Expiration": time.strftime(_TIME_FORMAT, time.gmtime(principal.expires_at)),
            },
        }

    def _caller_identity(self, call: RpcCall) -> dict[str, Any]:
        caller = call.caller
        account_id = self._account.account_id
        if caller.is_root:
            return {
                "IdentityType": "Account",
                "AccountId": account_id,
                "PrincipalId": account_id,
                "UserId": account_id,
                "Arn": f"acs:ram::{account_id}:root",
            }
        assert caller.role_arn is not None
        role_name = caller.role_arn.rsplit("/", 1)[-1]
        return {
            "IdentityType": "AssumedRoleUser",
            "AccountId": account_id,
            "PrincipalId": f"{role_id(caller.role_arn)}:{caller.session_name}",
            "RoleId": role_id(caller.role_arn),
            "Arn": f"acs:ram::{account_id}:assumed-role/{role_name}/{caller.session_name}",
        }

"""The STS HTTP shell: Alibaba's RPC style (`POST /?Action=AssumeRole&...`, signature v1) as
`aliyunsdkcore.AcsClient` sends it, answered in JSON as the cloud answers.

The signature (v1) is checked by `localcloud.rpcauth`, shared with the ROS emulator.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from ..account import Account
from ..clock import Clock
from ..credentials import CredentialBook, IssuedCredentials, Principal
from ..faults import DropConnection, Fault, FaultBoard
from ..httpshell import HttpRequest, HttpResponse, json_response
from ..policy import is_allowed
from ..rpcauth import RpcAuthenticator
from . import policy as policies
from .core import DEFAULT_DURATION, RoleAssumer, RoleSpec, StsError, assumed_role_user, role_id

log = logging.getLogger("localcloud.sts")

FAULT_KINDS = {
    "refuse": "answer 403 NoPermission (or the fault's `code`), as a RAM denial would",
    "unreachable": "close the connection without an answer",
    "internal_error": "answer 500 InternalError",
    "slow": "wait `seconds` before answering normally",
}
API_VERSION = "2015-04-01"
_ACTIONS = ("AssumeRole", "GetCallerIdentity")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _missing(name: str) -> StsError:
    return StsError(400, f"Missing{name}", f"{name} is mandatory for this action.")


class StsEmulator:
    def __init__(self, *, account: Account, credentials: CredentialBook, clock: Clock,
                 faults: FaultBoard, roles: Mapping[str, RoleSpec]) -> None:
        self._account = account
        self._credentials = credentials
        self._clock = clock
        self._faults = faults
        self._roles = RoleAssumer(account, credentials, roles)
        self._auth = RpcAuthenticator(credentials, API_VERSION, StsError)

    def set_roles(self, roles: Mapping[str, RoleSpec]) -> None:
        self._roles.set_roles(roles)

    def assume_role(self, role_arn: str, session_name: str, policy: dict[str, Any] | None,
                    duration_seconds: int) -> IssuedCredentials:
        """The core call (FC issues service-role credentials with it); raises StsError."""
        return self._roles.assume_role(role_arn, session_name, policy, duration_seconds)

    # ---- HTTP ----------------------------------------------------------------------------------

    def app(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4()).upper()
        try:
            params = self._params(request)
            action = params.get("Action", "")
            self._apply_fault(self._faults.pick("sts", action if action in _ACTIONS else None))
            if action not in _ACTIONS:
                raise StsError(404, "InvalidAction.NotFound",
                               "Specified api is not found, please check your url and method.")
            caller = self._authenticate(request.method, params)
            if action == "AssumeRole":
                payload = self._assume_role(caller, params)
            else:
                payload = self._caller_identity(caller)
            return json_response(200, {"RequestId": request_id, **payload})
        except StsError as exc:
            return json_response(exc.status, {
                "RequestId": request_id, "HostId": "sts.aliyuncs.com", "Code": exc.code,
                "Message": exc.message,
                "Recommend": f"https://api.aliyun.com/troubleshoot?q={exc.code}&product=Sts"})

    @staticmethod
    def _params(request: HttpRequest) -> dict[str, str]:
        params = dict(request.query)
        # The SDK puts everything in the query; a form body is accepted too, as the cloud does.
        if request.header("content-type").startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        return params

    def _apply_fault(self, fault: Fault | None) -> None:
        if fault is None:
            return
        if fault.kind == "unreachable":
            raise DropConnection()
        if fault.kind == "refuse":
            raise StsError(403, fault.code or "NoPermission",
                           "You are not authorized to do this action. You should be authorized "
                           "by RAM.")
        if fault.kind == "internal_error":
            raise StsError(500, "InternalError", "The request processing has failed due to some "
                           "unknown error, exception or failure.")
        if fault.kind == "slow":
            time.sleep(fault.seconds)
        else:
            log.warning("ignoring fault kind %r: STS supports %s", fault.kind,
                        ", ".join(FAULT_KINDS))

    def _authenticate(self, method: str, params: Mapping[str, str]) -> Principal:
        return self._auth.authenticate(method, params)

    def _assume_role(self, caller: Principal, params: Mapping[str, str]) -> dict[str, Any]:
        if caller.is_root:
            raise StsError(403, "NoPermission", "Roles may not be assumed by root accounts.")
        for name in ("RoleArn", "RoleSessionName"):
            if not params.get(name):
                raise _missing(name)
        role = self._roles.role(params["RoleArn"])
        if caller.policy is not None and not is_allowed(
                caller.policy, "sts:AssumeRole", role.arn):
            raise StsError(403, "NoPermission", "You are not authorized to do this action. You "
                           "should be authorized by RAM.")
        policy = None
        if params.get("Policy"):
            try:
                policy = policies.parse(params["Policy"])
            except policies.PolicyGrammarError as exc:
                raise StsError(400, "InvalidParameter.PolicyGrammar", "The parameter Policy has "
                               f"not passed grammar check: {exc}.") from None
        try:
            duration = int(params.get("DurationSeconds") or DEFAULT_DURATION)
        except ValueError:
            raise StsError(400, "InvalidParameter.DurationSeconds",
                           "The parameter DurationSeconds must be an integer.") from None
        issued = self._roles.assume_role(params["RoleArn"], params["RoleSessionName"], policy,
                                         duration)
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

    def _caller_identity(self, caller: Principal) -> dict[str, Any]:
        account_id = self._account.account_id
        if caller.is_root:
            return {"IdentityType": "Account", "AccountId": account_id, "PrincipalId": account_id,
                    "UserId": account_id, "Arn": f"acs:ram::{account_id}:root"}
        assert caller.role_arn is not None
        role_name = caller.role_arn.rsplit("/", 1)[-1]
        return {"IdentityType": "AssumedRoleUser", "AccountId": account_id,
                "PrincipalId": f"{role_id(caller.role_arn)}:{caller.session_name}",
                "RoleId": role_id(caller.role_arn),
                "Arn": f"acs:ram::{account_id}:assumed-role/{role_name}/{caller.session_name}"}

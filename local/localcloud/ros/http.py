"""The ROS OpenAPI (2019-09-10) as `aliyun-python-sdk-ros` sends it through `aliyunsdkcore`:
RPC style (`POST /?Action=CreateStack&...`, `TemplateBody` in the form body), signature v1
(`localcloud.rpcauth`, shared with STS), JSON answers and errors `{RequestId, HostId, Code,
Message}`.

Why this SDK and not `alibabacloud-ros20190910`: it is signed with the same RPC v1 scheme the
local STS already verifies and rides on `aliyunsdkcore`, which the functions already ship for
STS; the Tea SDK would add its own stack and the ACS3-HMAC-SHA256 scheme for the same calls.
"""
from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from ..credentials import CredentialBook, Principal
from ..httpshell import HttpRequest, HttpResponse, json_response
from ..policy import is_allowed
from ..rpcauth import RpcAuthenticator
from .core import LIVE, RosError, Stack, StackBook

API_VERSION = "2019-09-10"
HOST_ID = "ros.aliyuncs.com"
ACTIONS = ("CreateStack", "UpdateStack", "GetStack", "ListStacks", "DeleteStack",
           "ListStackResources", "ValidateTemplate")
_PARAMETER = re.compile(r"Parameters\.(\d+)\.(ParameterKey|ParameterValue)")
MAX_PAGE_SIZE = 50


def _iso(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp)) if timestamp else ""


class RosEmulator:
    def __init__(self, *, stacks: StackBook, credentials: CredentialBook, account_id: str,
                 region: str) -> None:
        self.stacks = stacks
        self._auth = RpcAuthenticator(credentials, API_VERSION, RosError)
        self._account_id = account_id
        self._region = region

    def app(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4()).upper()
        try:
            params = dict(request.query)
            if request.header("content-type").startswith("application/x-www-form-urlencoded"):
                params.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
            action = params.get("Action", "")
            if action not in ACTIONS:
                raise RosError(404, "InvalidAction.NotFound", f"Specified api is not found "
                                                              f"(emulated: {', '.join(ACTIONS)}).")
            caller = self._auth.authenticate(request.method, params)
            self._authorize(caller, action)
            payload = getattr(self, f"_{action}")(params)
            return json_response(200, {"RequestId": request_id, **payload})
        except RosError as exc:
            return json_response(exc.status, {"RequestId": request_id, "HostId": HOST_ID,
                                              "Code": exc.code, "Message": exc.message})

    def _authorize(self, caller: Principal, action: str) -> None:
        if caller.policy is not None and not is_allowed(
                caller.policy, f"ros:{action}", f"acs:ros:{self._region}:{self._account_id}:*"):
            raise RosError(403, "Forbidden", f"User not authorized to operate ros:{action}.")

    # -- actions -------------------------------------------------------------------------------
    def _CreateStack(self, params: Mapping[str, str]) -> dict[str, Any]:
        body = _required(params, "TemplateBody")
        return {"StackId": self.stacks.create(_required(params, "StackName"), body,
                                              _parameters(params))}

    def _UpdateStack(self, params: Mapping[str, str]) -> dict[str, Any]:
        use_previous = params.get("UsePreviousParameters", "false").lower() == "true"
        return {"StackId": self.stacks.update(_required(params, "StackId"),
                                              params.get("TemplateBody"), _parameters(params),
                                              use_previous)}

    def _GetStack(self, params: Mapping[str, str]) -> dict[str, Any]:
        stack = self.stacks.get(_required(params, "StackId"))
        return {**self._summary(stack),
                "Parameters": [{"ParameterKey": k,
                                "ParameterValue": "****" if k in stack.no_echo else str(v)}
                               for k, v in stack.parameters.items()],
                "Outputs": [{"OutputKey": k, "OutputValue": v, "Description": ""}
                            for k, v in stack.outputs.items()]}

    def _ListStacks(self, params: Mapping[str, str]) -> dict[str, Any]:
        names = {v for k, v in params.items() if k.startswith("StackName.")}
        statuses = {v for k, v in params.items() if k.startswith("Status.")}
        page = _int(params, "PageNumber", 1, 1, 10**6)
        size = _int(params, "PageSize", 10, 1, MAX_PAGE_SIZE)
        stacks = [s for s in self.stacks.list()
                  if (not names or s.name in names)
                  and (s.status in statuses if statuses else s.status in LIVE
                       or s.status.endswith("FAILED"))]
        shown = stacks[(page - 1) * size: page * size]
        return {"Stacks": [self._summary(s) for s in shown], "TotalCount": len(stacks),
                "PageNumber": page, "PageSize": size}

    def _DeleteStack(self, params: Mapping[str, str]) -> dict[str, Any]:
        self.stacks.delete(_required(params, "StackId"))
        return {}

    def _ListStackResources(self, params: Mapping[str, str]) -> dict[str, Any]:
        stack = self.stacks.get(_required(params, "StackId"))
        return {"Resources": [{"LogicalResourceId": r.logical_id, "ResourceType": r.type,
                               "Status": r.status, "StatusReason": r.reason,
                               "PhysicalResourceId": r.physical_id, "StackId": stack.id,
                               "StackName": stack.name} for r in stack.resources]}

    def _ValidateTemplate(self, params: Mapping[str, str]) -> dict[str, Any]:
        return self.stacks.validate(_required(params, "TemplateBody"))

    def _summary(self, stack: Stack) -> dict[str, Any]:
        return {"StackId": stack.id, "StackName": stack.name, "Status": stack.status,
                "StatusReason": stack.reason, "RegionId": self._region,
                "CreateTime": _iso(stack.created), "UpdateTime": _iso(stack.updated),
                "DisableRollback": True}


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise RosError(400, f"Missing{name}", f"{name} is mandatory for this action.")
    return value


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(params.get(name) or default)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise RosError(400, "InvalidParameter", f"{name} must be {low}..{high}.")
    return value


def _parameters(params: Mapping[str, str]) -> dict[str, str]:
    """`Parameters.N.ParameterKey` / `.ParameterValue` pairs, as the SDK flattens them."""
    keys: dict[str, str] = {}
    values: dict[str, str] = {}
    for name, value in params.items():
        match = _PARAMETER.fullmatch(name)
        if match:
            (keys if match.group(2) == "ParameterKey" else values)[match.group(1)] = value
    if set(keys) != set(values):
        raise RosError(400, "InvalidParameter", "every Parameters.N needs a ParameterKey and a "
                                                "ParameterValue")
    return {keys[n]: values[n] for n in sorted(keys, key=int)}

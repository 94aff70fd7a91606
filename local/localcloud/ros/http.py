"""The ROS OpenAPI (2019-09-10) as `aliyun-python-sdk-ros` sends it through `aliyunsdkcore`, on
the shared RPC shell (`localcloud.rpc`: `POST /?Action=CreateStack&...`, `TemplateBody` in the
form body, signature v1, JSON answers and errors `{RequestId, HostId, Code, Message}`).

Why this SDK and not `alibabacloud-ros20190910`: it is signed with the same RPC v1 scheme the
local STS already verifies and rides on `aliyunsdkcore`, which the functions already ship for
STS; the Tea SDK would add its own stack and the ACS3-HMAC-SHA256 scheme for the same calls.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from ..credentials import CredentialBook, Principal
from ..httpshell import HttpRequest, HttpResponse
from ..policy import is_allowed
from ..rpc import Action, RpcApi, RpcCall, RpcShell
from .core import LIVE, RosError, Stack, StackBook
from .sources import TemplateSource

API_VERSION = "2019-09-10"
HOST_ID = "ros.aliyuncs.com"
_RETAIN = re.compile(r"RetainResources\.\d+")
_PARAMETER = re.compile(r"Parameters\.(\d+)\.(ParameterKey|ParameterValue)")
MAX_PAGE_SIZE = 50


def _iso(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp)) if timestamp else ""


class RosEmulator:
    def __init__(
        self,
        *,
        stacks: StackBook,
        credentials: CredentialBook,
        account_id: str,
        region: str,
        source: TemplateSource | None = None,
    ) -> None:
        self.stacks = stacks
        self._account_id = account_id
        self._region = region
        self._source = source  # where a TemplateURL is read (None: TemplateURL is refused)
        actions: dict[str, Action] = {
            "CreateStack": self._create_stack,
            "UpdateStack": self._update_stack,
            "GetStack": self._get_stack,
            "ListStacks": self._list_stacks,
            "DeleteStack": self._delete_stack,
            "GetTemplate": self._get_template,
            "ListStackResources": self._list_stack_resources,
            "ValidateTemplate": self._validate_template,
            "GetTemplateParameterConstraints": self._parameter_constraints,
        }
        self._shell = RpcShell(
            RpcApi(
                product="ROS",
                host_id=HOST_ID,
                version=API_VERSION,
                actions={name: self._authorized(name, action) for name, action in actions.items()},
            ),
            credentials,
        )

    def app(self, request: HttpRequest) -> HttpResponse:
        return self._shell.app(request)

    def _authorized(self, name: str, action: Action) -> Action:
        """Every ROS action asks RAM for `ros:<Action>` on the account's stacks first."""

        def checked(call: RpcCall) -> Mapping[str, Any]:
            policy = call.caller.policy
            if policy is not None and not is_allowed(
                policy, f"ros:{name}", f"acs:ros:{self._region}:{self._account_id}:*"
            ):
                raise RosError(403, "Forbidden", f"User not authorized to operate ros:{name}.")
            return action(call)

        return checked

    # -- actions -------------------------------------------------------------------------------
    def read_template(self, url: str, caller: Principal, region: str | None = None) -> str:
        """The template at `url`, read as `caller` (TemplateURL's rules, `ros.sources`; an
        `oss://` URL's region defaults to `region`, else this ROS's)."""
        if self._source is None:
            raise RosError(400, "InvalidParameter", "TemplateURL is not served here.")
        return self._source.read(url, caller, region)

    def template(self, call: RpcCall, required: bool = True) -> str | None:
        """The call's template: its TemplateBody, or what its TemplateURL points at (exactly one
        of them, as ROS documents); None when neither is given and none is `required`."""
        body, url = call.params.get("TemplateBody"), call.params.get("TemplateURL")
        if body and url:
            raise RosError(
                400,
                "InvalidParameter",
                "Specify only one of TemplateBody and TemplateURL.",
            )
        if url:
            return self.read_template(url, call.caller, call.params.get("RegionId") or None)
        if body or not required:
            return body or None
        raise RosError(
            400, "MissingTemplateBody", "TemplateBody or TemplateURL is mandatory for this action."
        )

    def _create_stack(self, call: RpcCall) -> dict[str, Any]:
        body = self.template(call)
        assert body is not None
        name = call.required("StackName")
        return {"StackId": self.stacks.create(name, body, _parameters(call.params))}

    def _update_stack(self, call: RpcCall) -> dict[str, Any]:
        use_previous = call.params.get("UsePreviousParameters", "false").lower() == "true"
        stack_id = call.required("StackId")
        return {
            "StackId": self.stacks.update(
                stack_id,
                self.template(call, required=False),
                _parameters(call.params),
                use_previous,
            )
        }

    def _get_stack(self, call: RpcCall) -> dict[str, Any]:
        stack = self.stacks.get(call.required("StackId"))
        return {
            **self._summary(stack),
            "Parameters": [
                {"ParameterKey": k, "ParameterValue": "****" if k in stack.no_echo else str(v)}
                for k, v in stack.parameters.items()
            ],
            "Outputs": [
                {"OutputKey": k, "OutputValue": v, "Description": ""}
                for k, v in stack.outputs.items()
            ],
        }

    def _list_stacks(self, call: RpcCall) -> dict[str, Any]:
        params = call.params
        names = {v for k, v in params.items() if k.startswith("StackName.")}
        statuses = {v for k, v in params.items() if k.startswith("Status.")}
        page = _int(params, "PageNumber", 1, 1, 10**6)
        size = _int(params, "PageSize", 10, 1, MAX_PAGE_SIZE)
        stacks = [
            s
            for s in self.stacks.list()
            if (not names or s.name in names)
            and (
                s.status in statuses
                if statuses
                else s.status in LIVE or s.status.endswith("FAILED")
            )
        ]
        shown = stacks[(page - 1) * size : page * size]
        return {
            "Stacks": [self._summary(s) for s in shown],
            "TotalCount": len(stacks),
            "PageNumber": page,
            "PageSize": size,
        }

    def _delete_stack(self, call: RpcCall) -> dict[str, Any]:
        params = call.params
        retain = tuple(
            params[k] for k in sorted(params, key=_index) if _RETAIN.fullmatch(k) and params[k]
        )
        self.stacks.delete(
            call.required("StackId"),
            retain,
            params.get("RetainAllResources", "false").lower() == "true",
        )
        return {}

    def _get_template(self, call: RpcCall) -> dict[str, Any]:
        """GetTemplate of a stack (StackId): the template body it was last created or updated
        with. Templates kept in ROS's own template library (TemplateId) are not emulated."""
        stack = self.stacks.get(call.required("StackId"))
        return {"TemplateBody": stack.template}

    def _list_stack_resources(self, call: RpcCall) -> dict[str, Any]:
        stack = self.stacks.get(call.required("StackId"))
        return {
            "Resources": [
                {
                    "LogicalResourceId": r.logical_id,
                    "ResourceType": r.type,
                    "Status": r.status,
                    "StatusReason": r.reason,
                    "PhysicalResourceId": r.physical_id,
                    "StackId": stack.id,
                    "StackName": stack.name,
                }
                for r in stack.resources
            ]
        }

    def _validate_template(self, call: RpcCall) -> dict[str, Any]:
        body = self.template(call)
        assert body is not None
        return self.stacks.validate(body)

    def _parameter_constraints(self, call: RpcCall) -> dict[str, Any]:
        body = self.template(call)
        assert body is not None
        keys = _json_list(call.params, "ParametersKeyFilter")
        return {
            "ParameterConstraints": self.stacks.constraints(body, keys, _parameters(call.params))
        }

    def _summary(self, stack: Stack) -> dict[str, Any]:
        return {
            "StackId": stack.id,
            "StackName": stack.name,
            "Status": stack.status,
            "StatusReason": stack.reason,
            "RegionId": self._region,
            "CreateTime": _iso(stack.created),
            "UpdateTime": _iso(stack.updated),
            "DisableRollback": True,
        }


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(params.get(name) or default)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise RosError(400, "InvalidParameter", f"{name} must be {low}..{high}.")
    return value


def _json_list(params: Mapping[str, str], name: str) -> list[str] | None:
    """A parameter the SDK sends as a JSON list of strings (ParametersKeyFilter)."""
    import json

    raw = params.get(name)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RosError(400, "InvalidParameter", f"{name} must be a JSON list of strings.")
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
        raise RosError(
            400, "InvalidParameter", "every Parameters.N needs a ParameterKey and a ParameterValue"
        )
    return {keys[n]: values[n] for n in sorted(keys, key=int)}


def _index(name: str) -> int:
    """N of a `Name.N` parameter (the SDK numbers a list's items from 1)."""
    return int(name.rsplit(".", 1)[-1]) if name.rsplit(".", 1)[-1].isdigit() else 0

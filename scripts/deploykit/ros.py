"""ROS through `aliyun-python-sdk-ros`: the calls a deploy and an undeploy make, and following a
stack resource by resource until it settles."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import yaml

from .errors import DeployError, RosRefused, is_credential_code
from .inputs import Credentials

if TYPE_CHECKING:
    from localcloud.template.changes import Changes


class Ros:
    def __init__(self, creds: Credentials, region: str, endpoint: str | None) -> None:
        from aliyunsdkcore.client import AcsClient

        if creds.security_token:
            from aliyunsdkcore.auth.credentials import StsTokenCredential

            self._client = AcsClient(
                region_id=region,
                credential=StsTokenCredential(
                    creds.access_key_id, creds.access_key_secret, creds.security_token
                ),
            )
        else:
            self._client = AcsClient(creds.access_key_id, creds.access_key_secret, region)
        self._endpoint = urlparse(endpoint) if endpoint else None
        self.where = endpoint or f"the ROS endpoint of {region}"

    def call(self, request: Any) -> dict[str, Any]:
        from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException

        if self._endpoint is not None:
            request.set_endpoint(self._endpoint.netloc)
            request.set_protocol_type(self._endpoint.scheme or "https")
        try:
            return json.loads(self._client.do_action_with_exception(request))
        except ClientException as exc:
            raise DeployError(
                f"cannot reach ROS at {self.where} ({exc.get_error_msg()}); "
                f"check ROS_ENDPOINT and your network"
            ) from None
        except ServerException as exc:
            code, message = str(exc.get_error_code()), str(exc.get_error_msg())
            if is_credential_code(code):
                raise DeployError(
                    f"ROS refused the credentials: {code}: {message}; check "
                    f"ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or your "
                    f"`aliyun configure` profile) and the key's ROS permissions"
                ) from None
            raise RosRefused(code, message) from None

    def validate(self, body: str) -> None:
        """ValidateTemplate: the template as ROS reads it (format, sections, resource types),
        before anything is uploaded."""
        from aliyunsdkros.request.v20190910 import ValidateTemplateRequest

        request = ValidateTemplateRequest.ValidateTemplateRequest()
        request.set_TemplateBody(body)
        self.call(request)

    def find(self, name: str) -> str | None:
        """The id of the live stack `name` (ListStacks: the one cheap authenticated call that
        proves the credentials before anything is created)."""
        from aliyunsdkros.request.v20190910 import ListStacksRequest

        request = ListStacksRequest.ListStacksRequest()
        request.set_StackNames([name])
        stacks = [s for s in self.call(request)["Stacks"] if s["Status"] != "DELETE_COMPLETE"]
        return stacks[0]["StackId"] if stacks else None

    def get(self, stack_id: str) -> dict[str, Any]:
        from aliyunsdkros.request.v20190910 import GetStackRequest

        request = GetStackRequest.GetStackRequest()
        request.set_StackId(stack_id)
        return self.call(request)

    def template(self, stack_id: str) -> str:
        """The template body the stack was last created or updated with (GetTemplate)."""
        from aliyunsdkros.request.v20190910 import GetTemplateRequest

        request = GetTemplateRequest.GetTemplateRequest()
        request.set_StackId(stack_id)
        return str(self.call(request)["TemplateBody"])

    def changes(
        self, stack_id: str | None, template: Mapping[str, Any], values: Mapping[str, str]
    ) -> Changes:
        """What updating the stack to `template` with `values` changes, from the template and
        parameters ROS has for it now (GetTemplate, GetStack): localcloud.template.changes says
        how. A new stack creates every resource. GetStack masks NoEcho values, which are left
        out of the comparison; SecretsVersion, the hash of the secrets, stands for them."""
        from localcloud.template.changes import Changes, changes

        resources = template.get("Resources") or {}
        if stack_id is None:
            return Changes(tuple(resources), (), (), ())
        old = yaml.safe_load(self.template(stack_id)) or {}
        given = {p["ParameterKey"]: p["ParameterValue"] for p in self.get(stack_id)["Parameters"]}
        hidden = {
            name
            for doc in (old, template)
            for name, spec in (doc.get("Parameters") or {}).items()
            if str((spec or {}).get("NoEcho", "")).lower() == "true"
        }
        return changes(
            old.get("Resources") or {},
            {
                **_defaults(old),
                **{k: v for k, v in given.items() if k in (old.get("Parameters") or {})},
            },
            resources,
            {**_defaults(template), **values},
            unknown=hidden,
        )

    def delete(self, stack_id: str, retain: list[str]) -> None:
        """DeleteStack; `retain` names resources to keep beyond those the template retains."""
        from aliyunsdkros.request.v20190910 import DeleteStackRequest

        request = DeleteStackRequest.DeleteStackRequest()
        request.set_StackId(stack_id)
        if retain:
            request.set_RetainResourcess(retain)
        self.call(request)

    def resources(self, stack_id: str) -> list[dict[str, Any]]:
        from aliyunsdkros.request.v20190910 import ListStackResourcesRequest

        request = ListStackResourcesRequest.ListStackResourcesRequest()
        request.set_StackId(stack_id)
        return list(self.call(request)["Resources"])

    def statuses(self, stack_id: str) -> dict[str, str]:
        return {r["LogicalResourceId"]: r["Status"] for r in self.resources(stack_id)}

    def create_or_update(
        self, name: str, existing: str | None, body: str, params: Mapping[str, str]
    ) -> str:
        from aliyunsdkros.request.v20190910 import CreateStackRequest, UpdateStackRequest

        request: Any
        if existing is None:
            request = CreateStackRequest.CreateStackRequest()
            request.set_StackName(name)
        else:
            request = UpdateStackRequest.UpdateStackRequest()
            request.set_StackId(existing)
        request.set_TemplateBody(body)
        request.set_Parameterss(
            [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]
        )
        print(f"{'creating' if existing is None else 'updating'} stack {name}")
        try:
            return str(self.call(request)["StackId"])
        except RosRefused as exc:
            # ROS refuses an update that changes nothing: 400 NotSupported, "Update the
            # completely same stack ..." (what Alibaba's ROS CDK CLI and Serverless Devs match
            # on; not checked against the cloud from here). The stack already runs exactly this
            # template, parameters and code, so it is up to date: follow it as it is.
            if (
                existing is not None
                and exc.code == "NotSupported"
                and exc.ros_message.startswith("Update the completely same stack")
            ):
                print(f"  stack {name} is up to date: nothing changed")
                return existing
            raise

    def follow(self, stack_id: str, poll: float, seen: dict[str, str]) -> dict[str, Any]:
        """Print each resource as its status changes from what `seen` holds (a resource waiting
        to be created, INIT_COMPLETE, is not news), until the stack settles."""
        seen = dict(seen)
        while True:
            stack = self.get(stack_id)
            for resource in self.resources(stack_id):
                key, status = resource["LogicalResourceId"], resource["Status"]
                if seen.get(key, "INIT_COMPLETE") != status:
                    seen[key] = status
                    reason = f"  {resource['StatusReason']}" if status.endswith("FAILED") else ""
                    print(f"  {key:<20} {resource['ResourceType']:<24} {status}{reason}")
            if not stack["Status"].endswith("_IN_PROGRESS"):
                return stack
            time.sleep(poll)


def _defaults(template: Mapping[str, Any]) -> dict[str, Any]:
    params = template.get("Parameters") or {}
    return {k: v["Default"] for k, v in params.items() if isinstance(v, dict) and "Default" in v}

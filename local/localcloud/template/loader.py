"""`load_template`: read a ROS `template.yml` and resolve it into a `Template` value.

Every construct is either understood or refused with its YAML path; nothing is silently skipped,
because a local cloud that quietly ignores part of the template would pass tests the real
deployment fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import fcplain, ros
from .fcplain import CodeLocator
from .intrinsics import Resolver
from .model import Template, TemplateError
from .parameters import resolve_parameters
from .resources import KINDS, RawResource, ResourceGraph, Stack
from .yamlio import read_yaml

FORMAT_VERSION = "2015-09-01"
_TOP_LEVEL = {
    "ROSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Resources",
    "Outputs",
}
_RESOURCE_KEYS = {"Type", "Properties", "DependsOn", "Metadata", "DeletionPolicy"}


def load_template(
    path: Path | str,
    parameters: Mapping[str, str] = {},
    *,
    account_id: str,
    region: str,
    stack_name: str = "localcloud",
    code: CodeLocator | None = None,
) -> Template:
    """`code` finds the unpacked package of an `ALIYUN::FC::Function`'s OSS object."""
    path = Path(path).resolve()
    doc = read_yaml(path)
    if "Transform" in doc:
        raise TemplateError(
            "Transform",
            "the Aliyun::Serverless transform is not supported "
            "locally: declare ALIYUN::FC::Service, "
            "ALIYUN::FC::Function and ALIYUN::FC::Trigger",
        )
    for key in doc:
        if key not in _TOP_LEVEL:
            raise TemplateError(str(key), "top-level section not supported locally")
    if str(doc.get("ROSTemplateFormatVersion")) != FORMAT_VERSION:
        raise TemplateError("ROSTemplateFormatVersion", f"must be '{FORMAT_VERSION}'")
    stack = Stack(account_id, region, stack_name)
    raw = _collect(doc.get("Resources"))
    params = resolve_parameters(doc.get("Parameters"), parameters)
    pseudo = {
        "ALIYUN::AccountId": account_id,
        "ALIYUN::Region": region,
        "ALIYUN::StackName": stack_name,
        "ALIYUN::StackId": f"localcloud-{stack_name}",
    }
    graph = ResourceGraph(raw, stack)
    resolver = Resolver(params.values, pseudo, graph)
    graph.resolver = resolver
    for logical_id in raw:  # resolve everything, so an error anywhere is reported
        graph.resolved(logical_id)

    roles = ros.RoleBook(graph, stack)
    services = fcplain.services(graph, code)
    names = [s.name for s in services]
    for name in names:
        if names.count(name) > 1:
            raise TemplateError("Resources", f"two services are named {name!r}")
    return Template(
        services=services,
        tables=ros.tables(graph),
        logstores=ros.logstores(graph),
        roles=roles.freeze(),
        parameters=dict(params.values),
        outputs=_outputs(doc.get("Outputs"), resolver),
        ots_instances=ros.names(graph, "ALIYUN::OTS::Instance", "InstanceName"),
        log_projects=ros.names(graph, "ALIYUN::SLS::Project", "Name"),
        no_echo=params.no_echo,
        secrets=ros.secrets(graph),
        buckets=ros.buckets(graph),
    )


def _collect(resources: Any) -> dict[str, RawResource]:
    if not isinstance(resources, dict) or not resources:
        raise TemplateError("Resources", "a template needs a mapping of resources")
    raw: dict[str, RawResource] = {}
    for logical_id, node in resources.items():
        path = f"Resources.{logical_id}"
        if not isinstance(node, dict) or "Type" not in node:
            raise TemplateError(path, "a resource is a mapping with a Type")
        rtype = node["Type"]
        if rtype in KINDS:
            extra = sorted(set(node) - _RESOURCE_KEYS)
            if extra:
                raise TemplateError(f"{path}.{extra[0]}", "resource key not supported locally")
            raw[logical_id] = RawResource(
                logical_id, rtype, {"Properties": node.get("Properties") or {}}, path
            )
        else:
            known = ", ".join(sorted(KINDS))
            raise TemplateError(
                f"{path}.Type",
                f"resource type {rtype!r} is not supported locally (supported: {known})",
            )
    return raw


def _outputs(outputs: Any, resolver: Resolver) -> dict[str, Any]:
    if outputs is None:
        return {}
    if not isinstance(outputs, dict):
        raise TemplateError("Outputs", "must be a mapping")
    result = {}
    for name, spec in outputs.items():
        path = f"Outputs.{name}"
        if not isinstance(spec, dict) or "Value" not in spec:
            raise TemplateError(path, "an output is {Value, Description}")
        extra = sorted(set(spec) - {"Value", "Description", "Label"})
        if extra:
            raise TemplateError(f"{path}.{extra[0]}", "output key not supported locally")
        result[str(name)] = resolver.resolve(spec["Value"], f"{path}.Value")
    return result

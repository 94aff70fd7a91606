"""The resource types the local cloud understands: their allowed properties (as ROS documents
them), what `Ref` returns and which `Fn::GetAtt` attributes they have.

`ResourceGraph` resolves a resource's properties on first use, so references between resources
work in any order; a property a type does not document is an error, never silently ignored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .intrinsics import Resolver
from .model import TemplateError

FC_SERVICE = "ALIYUN::FC::Service"
FC_FUNCTION = "ALIYUN::FC::Function"
FC_TRIGGER = "ALIYUN::FC::Trigger"
FC_PROVISION = "ALIYUN::FC::ProvisionConfig"


@dataclass(frozen=True)
class Stack:
    account_id: str
    region: str
    name: str


@dataclass(frozen=True)
class RawResource:
    logical_id: str
    type: str
    node: Mapping[str, Any]  # the part that gets resolved (Properties)
    path: str


Attr = Callable[[Stack, str, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Kind:
    properties: frozenset[str]
    required: frozenset[str]
    ref: Attr
    attributes: Mapping[str, Attr]
    # documented properties we refuse, with the reason
    unsupported: Mapping[str, str] = field(default_factory=dict)


def _prop(name: str) -> Attr:
    return lambda stack, lid, props: props[name]


def role_arn(account_id: str, role_name: str) -> str:
    # RAM writes role names lower-case in ARNs (e.g. role/aliyunfcdefaultrole).
    return f"acs:ram::{account_id}:role/{role_name.lower()}"


def _fake_id(*parts: str) -> str:
    return str(int(hashlib.sha256("/".join(parts).encode()).hexdigest()[:15], 16))


def _ots_endpoint(kind: str) -> Attr:
    hosts = {
        "PublicEndpoint": "ots.aliyuncs.com",
        "PrivateEndpoint": "ots-internal.aliyuncs.com",
        "VpcEndpoint": "vpc.tablestore.aliyuncs.com",
    }
    return lambda s, lid, p: f"https://{p['InstanceName']}.{s.region}.{hosts[kind]}"


def _fc_service_arn(s: Stack, lid: str, p: Mapping[str, Any]) -> str:
    return f"acs:fc:{s.region}:{s.account_id}:services/{p['ServiceName']}"


def _fc_function_arn(s: Stack, lid: str, p: Mapping[str, Any]) -> str:
    return (
        f"acs:fc:{s.region}:{s.account_id}:services/{p['ServiceName']}"
        f"/functions/{p['FunctionName']}"
    )


def _fc_trigger_url(s: Stack, p: Mapping[str, Any], host: str) -> str:
    return (
        f"https://{s.account_id}.{s.region}{host}.fc.aliyuncs.com/2016-08-15/proxy/"
        f"{p['ServiceName']}/{p['FunctionName']}/"
    )


KINDS: dict[str, Kind] = {
    # OSS buckets: the local OSS honours the name, a private ACL and lifecycle expiration rules
    # (template/ros.py says what else is accepted and not enforced).
    "ALIYUN::OSS::Bucket": Kind(
        frozenset(
            {
                "BucketName",
                "AccessControl",
                "BlockPublicAccess",
                "DeletionForce",
                "LifecycleConfiguration",
                "ServerSideEncryptionConfiguration",
                "Tags",
                "StorageClass",
                "RedundancyType",
                "ResourceGroupId",
                "CORSConfiguration",
                "LoggingConfiguration",
                "Policy",
                "RefererConfiguration",
                "VersioningConfiguration",
                "WebsiteConfigurationV2",
                "EnableOssHdfsService",
            }
        ),
        frozenset({"BucketName"}),
        _prop("BucketName"),
        {
            "Name": _prop("BucketName"),
            "Arn": lambda s, lid, p: f"acs:oss:*:{s.account_id}:{p['BucketName']}",
            "DomainName": lambda s, lid, p: f"{p['BucketName']}.oss-{s.region}.aliyuncs.com",
            "InternalDomainName": lambda s, lid, p: (
                f"{p['BucketName']}.oss-{s.region}-internal.aliyuncs.com"
            ),
        },
        {
            "CORSConfiguration": "no CORS locally (mini programs upload and read without it)",
            "LoggingConfiguration": "no access logs locally",
            "Policy": "no bucket policies locally: grant access with RAM roles",
            "RefererConfiguration": "no referer checks locally",
            "VersioningConfiguration": "no versions locally",
            "WebsiteConfigurationV2": "no static websites locally",
            "EnableOssHdfsService": "no HDFS locally",
        },
    ),
    # KMS Secrets Manager (ROS documents Ref as the secret's name).
    "ALIYUN::KMS::Secret": Kind(
        frozenset(
            {
                "SecretName",
                "SecretData",
                "VersionId",
                "SecretDataType",
                "Description",
                "EncryptionKeyId",
                "Tags",
                "RecoveryWindowInDays",
                "ForceDeleteWithoutRecovery",
                "SecretType",
                "ExtendedConfig",
                "EnableAutomaticRotation",
                "RotationInterval",
                "DKMSInstanceId",
                "Policy",
            }
        ),
        frozenset({"SecretName", "SecretData", "VersionId"}),
        _prop("SecretName"),
        {
            "SecretName": _prop("SecretName"),
            "Arn": lambda s, lid, p: f"acs:kms:{s.region}:{s.account_id}:secret/{p['SecretName']}",
        },
        {
            "EnableAutomaticRotation": "only Generic secrets are emulated",
            "ExtendedConfig": "only Generic secrets are emulated",
            "DKMSInstanceId": "no dedicated KMS instances locally",
        },
    ),
    "ALIYUN::OTS::Instance": Kind(
        frozenset({"InstanceName", "Description", "ClusterType", "Network", "Tags"}),
        frozenset({"InstanceName"}),
        _prop("InstanceName"),
        {
            "InstanceName": _prop("InstanceName"),
            "PublicEndpoint": _ots_endpoint("PublicEndpoint"),
            "PrivateEndpoint": _ots_endpoint("PrivateEndpoint"),
            "VpcEndpoint": _ots_endpoint("VpcEndpoint"),
        },
    ),
    "ALIYUN::OTS::Table": Kind(
        frozenset(
            {
                "InstanceName",
                "TableName",
                "PrimaryKey",
                "TimeToLive",
                "MaxVersions",
                "ReservedThroughput",
                "DeviationCellVersionInSec",
                "Columns",
            }
        ),
        frozenset({"InstanceName", "TableName", "PrimaryKey"}),
        _prop("TableName"),
        {"TableName": _prop("TableName")},
        {"SecondaryIndices": "the local Tablestore has no secondary indexes"},
    ),
    "ALIYUN::SLS::Project": Kind(
        frozenset({"Name", "Description", "Tags"}),
        frozenset({"Name"}),
        _prop("Name"),
        {"Name": _prop("Name")},
    ),
    "ALIYUN::SLS::Logstore": Kind(
        frozenset(
            {
                "ProjectName",
                "LogstoreName",
                "TTL",
                "ShardCount",
                "AutoSplit",
                "MaxSplitShard",
                "AppendMeta",
                "EnableTracking",
                "PreserveStorage",
                "EncryptConf",
                "Mode",
            }
        ),
        frozenset({"ProjectName", "LogstoreName"}),
        _prop("LogstoreName"),
        {"LogstoreName": _prop("LogstoreName"), "ProjectName": _prop("ProjectName")},
    ),
    "ALIYUN::SLS::Index": Kind(
        frozenset(
            {
                "ProjectName",
                "LogstoreName",
                "FullTextIndex",
                "KeyIndices",
                "LogReduce",
                "LogReduceBlackList",
                "LogReduceWhiteList",
            }
        ),
        frozenset({"ProjectName", "LogstoreName"}),
        lambda s, lid, p: f"{p['ProjectName']}/{p['LogstoreName']}",
        {},
    ),
    "ALIYUN::RAM::Role": Kind(
        frozenset(
            {
                "RoleName",
                "Description",
                "AssumeRolePolicyDocument",
                "MaxSessionDuration",
                "Policies",
                "IgnoreExisting",
                "DeletionForce",
                "PolicyAttachments",
            }
        ),
        frozenset({"RoleName", "AssumeRolePolicyDocument"}),
        _prop("RoleName"),
        {
            "RoleName": _prop("RoleName"),
            "Arn": lambda s, lid, p: role_arn(s.account_id, str(p["RoleName"])),
            "RoleId": lambda s, lid, p: _fake_id(s.account_id, "role", str(p["RoleName"]).lower()),
        },
    ),
    "ALIYUN::RAM::ManagedPolicy": Kind(
        frozenset(
            {
                "PolicyName",
                "Description",
                "PolicyDocument",
                "Groups",
                "Roles",
                "Users",
                "IgnoreExisting",
            }
        ),
        frozenset({"PolicyName", "PolicyDocument"}),
        _prop("PolicyName"),
        {"PolicyName": _prop("PolicyName")},
    ),
    "ALIYUN::RAM::AttachPolicyToRole": Kind(
        frozenset({"PolicyName", "PolicyType", "RoleName"}),
        frozenset({"PolicyName", "PolicyType", "RoleName"}),
        lambda s, lid, p: f"{p['RoleName']}/{p['PolicyName']}",
        {},
    ),
    # Plain ROS Function Compute resources (property names as the ROS CDK's fc package has them).
    FC_SERVICE: Kind(
        frozenset(
            {
                "ServiceName",
                "Description",
                "Role",
                "LogConfig",
                "InternetAccess",
                "Tags",
                "DeletionForce",
                "VpcConfig",
                "NasConfig",
                "TracingConfig",
                "VpcBindings",
                "OssMountConfig",
            }
        ),
        frozenset({"ServiceName"}),
        # ROS documents no Ref value for FC services; the id, as for most ROS resources.
        lambda s, lid, p: _fake_id(s.account_id, "service", str(p["ServiceName"])),
        {
            "ServiceName": _prop("ServiceName"),
            "ServiceId": lambda s, lid, p: _fake_id(s.account_id, "service", str(p["ServiceName"])),
            "ARN": _fc_service_arn,
            "Role": lambda s, lid, p: p.get("Role", ""),
            "LogProject": lambda s, lid, p: (p.get("LogConfig") or {}).get("Project", ""),
            "Logstore": lambda s, lid, p: (p.get("LogConfig") or {}).get("Logstore", ""),
            "InternetAccess": lambda s, lid, p: p.get("InternetAccess", True),
        },
        {
            "VpcConfig": "no VPCs locally",
            "NasConfig": "no NAS locally",
            "TracingConfig": "no tracing locally",
            "VpcBindings": "no VPCs locally",
            "OssMountConfig": "no OSS mounts locally",
        },
    ),
    FC_FUNCTION: Kind(
        frozenset(
            {
                "ServiceName",
                "FunctionName",
                "Handler",
                "Runtime",
                "Code",
                "Initializer",
                "InitializationTimeout",
                "Timeout",
                "MemorySize",
                "InstanceConcurrency",
                "EnvironmentVariables",
                "Description",
                "InstanceType",
                "CAPort",
                "Cpu",
                "DiskSize",
                "GpuMemorySize",
                "CustomContainerConfig",
                "CustomDNS",
                "CustomHealthCheckConfig",
                "CustomRuntimeConfig",
                "AsyncConfiguration",
                "InstanceLifecycleConfig",
                "InstanceSoftConcurrency",
            }
        ),
        frozenset({"ServiceName", "FunctionName", "Handler", "Runtime"}),
        lambda s, lid, p: _fake_id(
            s.account_id, "function", str(p["ServiceName"]), str(p["FunctionName"])
        ),
        {
            "FunctionName": _prop("FunctionName"),
            "ServiceName": _prop("ServiceName"),
            "FunctionId": lambda s, lid, p: _fake_id(
                s.account_id, "function", str(p["ServiceName"]), str(p["FunctionName"])
            ),
            "ServiceId": lambda s, lid, p: _fake_id(s.account_id, "service", str(p["ServiceName"])),
            "ARN": _fc_function_arn,
        },
        {
            "CAPort": "custom runtimes are not emulated",
            "CustomContainerConfig": "custom containers are not emulated",
            "CustomRuntimeConfig": "custom runtimes are not emulated",
            "CustomDNS": "not emulated",
            "CustomHealthCheckConfig": "not emulated",
            "AsyncConfiguration": "not emulated",
            "InstanceLifecycleConfig": "not emulated",
            "GpuMemorySize": "no GPUs locally",
        },
    ),
    FC_TRIGGER: Kind(
        frozenset(
            {
                "ServiceName",
                "FunctionName",
                "TriggerName",
                "TriggerType",
                "TriggerConfig",
                "Qualifier",
                "InvocationRole",
                "SourceArn",
            }
        ),
        frozenset({"ServiceName", "FunctionName", "TriggerName", "TriggerType", "TriggerConfig"}),
        lambda s, lid, p: _fake_id(
            s.account_id,
            "trigger",
            str(p["ServiceName"]),
            str(p["FunctionName"]),
            str(p["TriggerName"]),
        ),
        {
            "TriggerName": _prop("TriggerName"),
            "FunctionName": _prop("FunctionName"),
            "ServiceName": _prop("ServiceName"),
            "TriggerId": lambda s, lid, p: _fake_id(
                s.account_id,
                "trigger",
                str(p["ServiceName"]),
                str(p["FunctionName"]),
                str(p["TriggerName"]),
            ),
            "UrlInternet": lambda s, lid, p: _fc_trigger_url(s, p, ""),
            "UrlIntranet": lambda s, lid, p: _fc_trigger_url(s, p, "-internal"),
        },
        {
            "InvocationRole": "only HTTP and timer triggers are emulated",
            "SourceArn": "only HTTP and timer triggers are emulated",
        },
    ),
    # Provisioned instances of a function (fcplain checks the function and the qualifier).
    FC_PROVISION: Kind(
        frozenset({"ServiceName", "FunctionName", "Qualifier", "Target"}),
        frozenset({"ServiceName", "FunctionName", "Qualifier", "Target"}),
        lambda s, lid, p: _fake_id(
            s.account_id, "provision", str(p["ServiceName"]), str(p["FunctionName"])
        ),
        {
            "ServiceName": _prop("ServiceName"),
            "FunctionName": _prop("FunctionName"),
            "Qualifier": _prop("Qualifier"),
            "Target": _prop("Target"),
            "Resource": lambda s, lid, p: (
                f"services/{p['ServiceName']}.{p['Qualifier']}/functions/{p['FunctionName']}"
            ),
        },
    ),
}


class ResourceGraph:
    """Resolves resources on demand; implements `intrinsics.ResourceLookup`."""

    def __init__(self, raw: Mapping[str, RawResource], stack: Stack) -> None:
        self._raw = raw
        self._stack = stack
        self._resolved: dict[str, dict[str, Any]] = {}
        self._in_progress: list[str] = []
        self.resolver: Resolver | None = None

    def has(self, logical_id: str) -> bool:
        return logical_id in self._raw

    def raw(self, logical_id: str) -> RawResource:
        return self._raw[logical_id]

    def of_type(self, type_name: str) -> list[RawResource]:
        return [r for r in self._raw.values() if r.type == type_name]

    def resolved(self, logical_id: str) -> dict[str, Any]:
        """The resource's node with every intrinsic resolved and its properties checked."""
        if logical_id in self._resolved:
            return self._resolved[logical_id]
        raw = self._raw[logical_id]
        if logical_id in self._in_progress:
            cycle = " -> ".join(
                self._in_progress[self._in_progress.index(logical_id) :] + [logical_id]
            )
            raise TemplateError(raw.path, f"reference cycle: {cycle}")
        assert self.resolver is not None
        self._in_progress.append(logical_id)
        try:
            node = self.resolver.resolve(dict(raw.node), raw.path)
        finally:
            self._in_progress.pop()
        self._check_properties(raw, node.get("Properties") or {})
        self._resolved[logical_id] = node
        return node

    def properties(self, logical_id: str) -> dict[str, Any]:
        return self.resolved(logical_id).get("Properties") or {}

    def ref(self, logical_id: str, path: str) -> Any:
        raw = self._raw[logical_id]
        return KINDS[raw.type].ref(self._stack, logical_id, self.properties(logical_id))

    def get_att(self, logical_id: str, attribute: str, path: str) -> Any:
        raw = self._raw[logical_id]
        kind = KINDS[raw.type]
        getter = kind.attributes.get(attribute)
        if getter is None:
            known = ", ".join(sorted(kind.attributes)) or "none"
            raise TemplateError(
                path, f"{raw.type} has no attribute {attribute!r} locally (known: {known})"
            )
        return getter(self._stack, logical_id, self.properties(logical_id))

    def _check_properties(self, raw: RawResource, props: Mapping[str, Any]) -> None:
        kind = KINDS[raw.type]
        path = f"{raw.path}.Properties"
        if not isinstance(props, Mapping):
            raise TemplateError(path, "Properties must be a mapping")
        for name in props:
            if name in kind.unsupported:
                raise TemplateError(
                    f"{path}.{name}", f"not supported locally: {kind.unsupported[name]}"
                )
            if name not in kind.properties:
                raise TemplateError(f"{path}.{name}", f"unknown property of {raw.type}")
        missing = sorted(kind.required - set(props))
        if missing:
            raise TemplateError(path, f"{raw.type} needs {', '.join(missing)}")

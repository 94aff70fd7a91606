"""Plain ROS resources turned into declarations: Tablestore tables, Log Service logstores and RAM
roles (with the policies attached to them inline, by name or by separate attachment resources)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..policy import SYSTEM_POLICIES
from .model import (
    BucketDecl,
    ExpirationRule,
    LogstoreDecl,
    RoleDecl,
    SecretDecl,
    TableDecl,
    TemplateError,
)
from .resources import ResourceGraph, Stack, role_arn

PK_TYPES = ("STRING", "INTEGER", "BINARY")


def integer(
    path: str, value: Any, default: int, low: int | None = None, high: int | None = None
) -> int:
    if value is None:
        return default
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        number = int(value)
    except (TypeError, ValueError):
        raise TemplateError(path, f"{value!r} is not an integer") from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise TemplateError(path, f"{number} is outside {low}..{high}")
    return number


def tables(graph: ResourceGraph) -> tuple[TableDecl, ...]:
    result = []
    for raw in graph.of_type("ALIYUN::OTS::Table"):
        props = graph.properties(raw.logical_id)
        path = f"{raw.path}.Properties"
        pk = props["PrimaryKey"]
        if not isinstance(pk, list) or not 1 <= len(pk) <= 4:
            raise TemplateError(f"{path}.PrimaryKey", "a list of 1 to 4 {Name, Type} columns")
        columns = []
        for i, column in enumerate(pk):
            cpath = f"{path}.PrimaryKey[{i}]"
            if not isinstance(column, dict) or set(column) != {"Name", "Type"}:
                raise TemplateError(cpath, "a primary key column is {Name, Type}")
            ctype = str(column["Type"]).upper()
            if ctype not in PK_TYPES:
                raise TemplateError(f"{cpath}.Type", f"one of {', '.join(PK_TYPES)}")
            columns.append((str(column["Name"]), ctype))
        result.append(
            TableDecl(
                instance=str(props["InstanceName"]),
                name=str(props["TableName"]),
                primary_key=tuple(columns),
                ttl_seconds=integer(f"{path}.TimeToLive", props.get("TimeToLive"), -1, -1),
                max_versions=integer(f"{path}.MaxVersions", props.get("MaxVersions"), 1, 1),
            )
        )
    return tuple(result)


def logstores(graph: ResourceGraph) -> tuple[LogstoreDecl, ...]:
    indexes = {
        (str(p["ProjectName"]), str(p["LogstoreName"])): p
        for raw in graph.of_type("ALIYUN::SLS::Index")
        for p in [graph.properties(raw.logical_id)]
    }
    return tuple(
        LogstoreDecl(
            project=str(p["ProjectName"]),
            name=str(p["LogstoreName"]),
            ttl_days=integer(f"{raw.path}.Properties.TTL", p.get("TTL"), 30, 1, 3650),
            index=indexes.get((str(p["ProjectName"]), str(p["LogstoreName"]))),
        )
        for raw in graph.of_type("ALIYUN::SLS::Logstore")
        for p in [graph.properties(raw.logical_id)]
    )


def secrets(graph: ResourceGraph) -> tuple[SecretDecl, ...]:
    result = []
    for raw in graph.of_type("ALIYUN::KMS::Secret"):
        props = graph.properties(raw.logical_id)
        data_type = str(props.get("SecretDataType") or "text")
        if data_type != "text":
            raise TemplateError(
                f"{raw.path}.Properties.SecretDataType", "only text secrets are emulated"
            )
        result.append(
            SecretDecl(str(props["SecretName"]), str(props["SecretData"]), str(props["VersionId"]))
        )
    names = [s.name for s in result]
    for name in names:
        if names.count(name) > 1:
            raise TemplateError("Resources", f"two KMS secrets are named {name!r}")
    return tuple(result)


# A bucket's lifecycle rule: what the local OSS evaluates (Prefix, Expiration.Days) and what it
# accepts without evaluating (an ID, a Status, AbortMultipartUpload: no multipart upload is left
# open long enough locally to matter).
_RULE_KEYS = {"ID", "Prefix", "Status", "Expiration", "AbortMultipartUpload"}


def buckets(graph: ResourceGraph) -> tuple[BucketDecl, ...]:
    """The template's OSS buckets. Private is the only ACL locally (a public bucket would be
    served to anyone, which the local cloud refuses); server-side encryption, tags, storage class
    and redundancy are accepted and not enforced (the bytes are 0600 files under .local/oss)."""
    result = []
    for raw in graph.of_type("ALIYUN::OSS::Bucket"):
        props = graph.properties(raw.logical_id)
        path = f"{raw.path}.Properties"
        name = str(props["BucketName"])
        if props.get("AccessControl", "private") != "private":
            raise TemplateError(f"{path}.AccessControl", "only private buckets locally")
        rules = []
        lifecycle = props.get("LifecycleConfiguration") or {}
        for i, rule in enumerate(
            lifecycle.get("Rule") or [] if isinstance(lifecycle, dict) else []
        ):
            rpath = f"{path}.LifecycleConfiguration.Rule[{i}]"
            if not isinstance(rule, dict) or set(rule) - _RULE_KEYS or "Prefix" not in rule:
                raise TemplateError(
                    rpath, f"a rule is {{{', '.join(sorted(_RULE_KEYS))}}} with a Prefix locally"
                )
            if rule.get("Status", "Enabled") == "Disabled":
                continue
            expiration = rule.get("Expiration") or {}
            if set(expiration) != {"Days"}:
                raise TemplateError(f"{rpath}.Expiration", "only Expiration.Days is evaluated")
            days = integer(f"{rpath}.Expiration.Days", expiration["Days"], 1, 1)
            rules.append(
                ExpirationRule(str(rule.get("ID", f"rule-{i}")), str(rule["Prefix"]), days)
            )
        result.append(BucketDecl(name, tuple(rules)))
    names = [b.name for b in result]
    for name in names:
        if names.count(name) > 1:
            raise TemplateError("Resources", f"two OSS buckets are named {name!r}")
    return tuple(result)


def names(graph: ResourceGraph, type_name: str, prop: str) -> tuple[str, ...]:
    return tuple(str(graph.properties(r.logical_id)[prop]) for r in graph.of_type(type_name))


def policy_document(path: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or "Statement" not in value:
        raise TemplateError(path, "a policy document is {Version, Statement}")
    return value


def system_policy(path: str, name: Any) -> dict[str, Any]:
    if name not in SYSTEM_POLICIES:
        raise TemplateError(
            path,
            f"system policy {name!r} is unknown locally (known: "
            f"{', '.join(sorted(SYSTEM_POLICIES))})",
        )
    return SYSTEM_POLICIES[name]


class RoleBook:
    """Collects every policy attached to each template role, then freezes them as RoleDecls."""

    def __init__(self, graph: ResourceGraph, stack: Stack) -> None:
        self._graph = graph
        self._stack = stack
        self._roles: dict[str, dict[str, Any]] = {}  # lower-case role name -> fields
        self._managed = {}
        for raw in graph.of_type("ALIYUN::RAM::ManagedPolicy"):
            props = graph.properties(raw.logical_id)
            doc = policy_document(f"{raw.path}.Properties.PolicyDocument", props["PolicyDocument"])
            self._managed[str(props["PolicyName"])] = doc
        for raw in graph.of_type("ALIYUN::RAM::Role"):
            self._add_role(raw.logical_id)
        for raw in graph.of_type("ALIYUN::RAM::ManagedPolicy"):
            props = graph.properties(raw.logical_id)
            for i, role in enumerate(props.get("Roles") or []):
                self.attach(
                    f"{raw.path}.Properties.Roles[{i}]",
                    str(role),
                    self._managed[str(props["PolicyName"])],
                )
        for raw in graph.of_type("ALIYUN::RAM::AttachPolicyToRole"):
            props = graph.properties(raw.logical_id)
            path = f"{raw.path}.Properties"
            self.attach(
                path,
                str(props["RoleName"]),
                self._named_policy(path, props["PolicyType"], props["PolicyName"]),
            )

    def _add_role(self, logical_id: str) -> None:
        raw = self._graph.raw(logical_id)
        props = self._graph.properties(logical_id)
        path = f"{raw.path}.Properties"
        name = str(props["RoleName"])
        policies = []
        for i, item in enumerate(props.get("Policies") or []):
            ipath = f"{path}.Policies[{i}]"
            if not isinstance(item, dict) or "PolicyDocument" not in item:
                raise TemplateError(ipath, "a role policy is {PolicyName, PolicyDocument}")
            policies.append(policy_document(f"{ipath}.PolicyDocument", item["PolicyDocument"]))
        attachments = props.get("PolicyAttachments") or {}
        if not isinstance(attachments, dict) or set(attachments) - {"System", "Custom"}:
            raise TemplateError(f"{path}.PolicyAttachments", "a mapping of System and Custom lists")
        for kind in ("System", "Custom"):
            for i, policy in enumerate(attachments.get(kind) or []):
                policies.append(
                    self._named_policy(f"{path}.PolicyAttachments.{kind}[{i}]", kind, policy)
                )
        trust = props["AssumeRolePolicyDocument"]
        self._roles[name.lower()] = {
            "name": name,
            "arn": role_arn(self._stack.account_id, name),
            "max_session_duration": integer(
                f"{path}.MaxSessionDuration", props.get("MaxSessionDuration"), 3600, 900, 43200
            ),
            "policies": policies,
            "assume_role_policy": trust if isinstance(trust, dict) else None,
        }

    def _named_policy(self, path: str, kind: Any, name: Any) -> dict[str, Any]:
        if kind == "System":
            return system_policy(path, name)
        if kind == "Custom":
            if name not in self._managed:
                raise TemplateError(
                    path,
                    f"custom policy {name!r} is not declared in the "
                    f"template (ALIYUN::RAM::ManagedPolicy)",
                )
            return self._managed[name]
        raise TemplateError(path, f"PolicyType must be System or Custom, not {kind!r}")

    def has_arn(self, arn: str) -> bool:
        return any(r["arn"].lower() == arn.lower() for r in self._roles.values())

    def attach(self, path: str, role_name: str, policy: Mapping[str, Any]) -> None:
        role = self._roles.get(role_name.lower())
        if role is None:
            raise TemplateError(path, f"role {role_name!r} is not declared in the template")
        role["policies"].append(dict(policy))

    def freeze(self) -> tuple[RoleDecl, ...]:
        return tuple(
            RoleDecl(
                r["name"],
                r["arn"],
                r["max_session_duration"],
                tuple(r["policies"]),
                r["assume_role_policy"],
            )
            for r in self._roles.values()
        )

"""The values the template reader produces: what the local cloud needs to know about a stack,
with every intrinsic already resolved. Frozen, so emulators can share them freely."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class TemplateError(ValueError):
    """A template the local cloud cannot honour; `path` is the YAML path of the offending node."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class HttpTriggerDecl:
    name: str
    auth_type: str  # "ANONYMOUS" | "FUNCTION"
    methods: tuple[str, ...]  # upper-case HTTP methods


@dataclass(frozen=True)
class TimerDecl:
    name: str
    cron_expression: str
    enable: bool
    payload: str


@dataclass(frozen=True)
class FunctionDecl:
    name: str
    handler: str
    runtime: str
    code_dir: Path
    initializer: str | None
    initialization_timeout: int
    timeout: int
    memory_size: int
    instance_concurrency: int
    environment: Mapping[str, str] = field(repr=False)  # may hold secrets
    http_trigger: HttpTriggerDecl | None
    timers: tuple[TimerDecl, ...]
    description: str = ""
    # ALIYUN::FC::ProvisionConfig's Target: instances FC keeps started (0: none, on demand only)
    provisioned: int = 0


@dataclass(frozen=True)
class ServiceDecl:
    name: str
    role_arn: str | None
    log_project: str | None
    log_store: str | None
    functions: tuple[FunctionDecl, ...]
    description: str = ""
    internet_access: bool = True

    def function(self, name: str) -> FunctionDecl | None:
        return next((f for f in self.functions if f.name == name), None)


@dataclass(frozen=True)
class TableDecl:
    instance: str
    name: str
    primary_key: tuple[tuple[str, str], ...]  # (name, "STRING" | "INTEGER" | "BINARY")
    ttl_seconds: int = -1
    max_versions: int = 1


@dataclass(frozen=True)
class LogstoreDecl:
    project: str
    name: str
    ttl_days: int = 30
    # the logstore's ALIYUN::SLS::Index properties (resolved), if the template declares one
    index: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RoleDecl:
    name: str
    arn: str
    max_session_duration: int
    policies: tuple[dict[str, Any], ...]  # policy documents attached to the role, resolved
    assume_role_policy: dict[str, Any] | None = None  # the trust policy, for STS if it wants it


@dataclass(frozen=True)
class SecretDecl:
    """An `ALIYUN::KMS::Secret`: its name and current value (a secret: kept out of repr)."""

    name: str
    data: str = field(repr=False)
    version_id: str = ""


@dataclass(frozen=True)
class ExpirationRule:
    """A lifecycle rule of a bucket: objects under `prefix` expire `days` after their last
    change."""

    rule_id: str
    prefix: str
    days: int


@dataclass(frozen=True)
class BucketDecl:
    """An `ALIYUN::OSS::Bucket`: its name and the lifecycle rules the local OSS evaluates."""

    name: str
    expiration: tuple[ExpirationRule, ...] = ()


@dataclass(frozen=True)
class Template:
    services: tuple[ServiceDecl, ...]
    tables: tuple[TableDecl, ...]
    logstores: tuple[LogstoreDecl, ...]
    roles: tuple[RoleDecl, ...]
    # resolved values (str, or int/float for Type: Number); kept out of repr: may hold secrets
    parameters: Mapping[str, Any] = field(repr=False)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    ots_instances: tuple[str, ...] = ()
    log_projects: tuple[str, ...] = ()
    no_echo: frozenset[str] = field(default_factory=frozenset)  # parameter names not to print
    secrets: tuple[SecretDecl, ...] = ()  # KMS secrets (ALIYUN::KMS::Secret)
    buckets: tuple[BucketDecl, ...] = ()  # OSS buckets (ALIYUN::OSS::Bucket)

    def service(self, name: str) -> ServiceDecl | None:
        return next((s for s in self.services if s.name == name), None)

    def role_by_arn(self, arn: str) -> RoleDecl | None:
        # RAM role names are case-insensitive, and so are the ARNs built from them.
        return next((r for r in self.roles if r.arn.lower() == arn.lower()), None)

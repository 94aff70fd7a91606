"""KMS rules without HTTP: which secrets exist, their current value, and who may read them.

Errors use KMS's documented codes: `Forbidden.ResourceNotFound` (404) for a secret that does not
exist, `Forbidden.RAM` (403) for a principal RAM does not allow.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..credentials import Principal
from ..policy import PolicyError, any_allows, is_allowed
from ..rpc import RpcError

ACTION = "kms:GetSecretValue"
CURRENT_STAGE = "ACSCurrent"
# A role's attached policies, by role ARN (None: the role is not declared anywhere).
RolePolicies = Callable[[str], "tuple[Mapping[str, Any], ...] | None"]


class KmsError(RpcError):
    """A refusal in KMS's own terms; the RPC shell renders it as `{Code, Message}`."""


FORBIDDEN = KmsError(
    403,
    "Forbidden.RAM",
    "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
)


def not_found() -> KmsError:
    return KmsError(404, "Forbidden.ResourceNotFound", "The resource not found.")


def secret_arn(region: str, account_id: str, name: str) -> str:
    return f"acs:kms:{region}:{account_id}:secret/{name}"


@dataclass(frozen=True)
class SecretVersion:
    name: str
    data: str = field(repr=False)
    version_id: str
    created: str  # ISO 8601, as KMS shows CreateTime


class SecretBook:
    """The secrets of every deployed stack: name -> current version. A value that changes gets
    a new version id (what an update of the stack's secret does on the cloud)."""

    def __init__(self, now: Callable[[], str]) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._secrets: dict[str, SecretVersion] = {}

    def replace_all(self, secrets: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            fresh: dict[str, SecretVersion] = {}
            for name, data in secrets:
                old = self._secrets.get(name)
                fresh[name] = (
                    old
                    if old is not None and old.data == data
                    else SecretVersion(name, data, uuid.uuid4().hex, self._now())
                )
            self._secrets = fresh

    def current(self, name: str) -> SecretVersion:
        with self._lock:
            found = self._secrets.get(name)
        if found is None:
            raise not_found()
        return found

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._secrets)


def authorize(principal: Principal, role_policies: RolePolicies, resource: str) -> None:
    """Root may read any secret. STS credentials need their role's policies to allow the read
    (an undeclared role allows nothing: KMS grants only what RAM says) and their inline policy,
    if any, too."""
    if principal.is_root:
        return
    policies = role_policies(principal.role_arn) if principal.role_arn else None
    try:
        allowed = (
            bool(policies)
            and any_allows(policies or (), ACTION, resource)
            and (principal.policy is None or is_allowed(principal.policy, ACTION, resource))
        )
    except PolicyError:
        allowed = False
    if not allowed:
        raise FORBIDDEN

"""Whether an STS principal may call a Tablestore API on a table: its inline policy, and the
policies of its role when the template declares the role with policies, must both allow it.

The action is `ots:{Api}` and the resource
`acs:ots:{region}:{account}:instance/{instance}/table/{table}` (the instance itself for
ListTable); `localcloud.policy` applies RAM's rules. The root key is not restricted, nor is a role
the template does not declare or declares without a policy (what it allows is unknown here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..credentials import Principal
from ..policy import any_allows, is_allowed
from .model import TablestoreError

# A role's policies by role ARN; None (or no policy) when the template does not say.
RolePolicies = Callable[[str], "tuple[Mapping[str, Any], ...] | None"]


def resource_arn(region: str, account_id: str, instance: str, table: str | None) -> str:
    base = f"acs:ots:{region}:{account_id}:instance/{instance}"
    return base if table is None else f"{base}/table/{table}"


def authorize(
    principal: Principal,
    region: str,
    account_id: str,
    instance: str,
    api: str,
    table: str | None,
    role_policies: RolePolicies = lambda arn: None,
) -> None:
    resource = resource_arn(region, account_id, instance, table)
    policies = role_policies(principal.role_arn) if principal.role_arn else None
    inline_ok = principal.policy is None or is_allowed(principal.policy, f"ots:{api}", resource)
    if not inline_ok or (policies and not any_allows(policies, f"ots:{api}", resource)):
        raise TablestoreError(
            "OTSNoPermissionAccess",
            "You have no permission to access the "
            "requested resource, please contact the resource owner.",
        )

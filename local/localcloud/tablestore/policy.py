"""Whether an STS principal's inline policy lets it call a Tablestore API on a table.

The action is `ots:{Api}` and the resource
`acs:ots:{region}:{account}:instance/{instance}/table/{table}` (the instance itself for
ListTable); `localcloud.policy.is_allowed` applies RAM's rules. Principals without an inline policy
(the root key, or a role assumed without one) are not restricted here, because the local STS
keeps no role policies.
"""
from __future__ import annotations

from ..credentials import Principal
from ..policy import is_allowed
from .model import TablestoreError


def resource_arn(region: str, account_id: str, instance: str, table: str | None) -> str:
    base = f"acs:ots:{region}:{account_id}:instance/{instance}"
    return base if table is None else f"{base}/table/{table}"


def authorize(principal: Principal, region: str, account_id: str, instance: str, api: str,
              table: str | None) -> None:
    if principal.policy is None:
        return
    resource = resource_arn(region, account_id, instance, table)
    if not is_allowed(principal.policy, f"ots:{api}", resource):
        raise TablestoreError("OTSNoPermissionAccess", "You have no permission to access the "
                              "requested resource, please contact the resource owner.")

"""Whether an STS principal's inline policy lets it call a Tablestore API on a table.

RAM's rules, reduced to what a local cloud needs: an explicit Deny wins, else some Allow must
match both action (`ots:GetRow`, wildcards, case-insensitive) and resource
(`acs:ots:{region}:{account}:instance/{instance}/table/{table}`; the instance itself for
ListTable). Statement `Condition` blocks are not evaluated. Principals without an inline policy
(the root key, or a role assumed without one) are not restricted here, because the local STS
keeps no role policies.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..credentials import Principal
from .model import TablestoreError


@lru_cache(maxsize=256)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    regex = re.escape(glob).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(regex, re.IGNORECASE if ignore_case else 0)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _matches(statement: dict[str, Any], action: str, resource: str) -> bool:
    actions = _as_list(statement.get("Action"))
    resources = _as_list(statement.get("Resource"))
    return (any(_pattern(a, True).fullmatch(action) for a in actions)
            and any(_pattern(r, False).fullmatch(resource) for r in resources))


def allows(policy: dict[str, Any], action: str, resource: str) -> bool:
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    relevant = [s for s in statements if isinstance(s, dict) and _matches(s, action, resource)]
    if any(str(s.get("Effect", "")).lower() == "deny" for s in relevant):
        return False
    return any(str(s.get("Effect", "")).lower() == "allow" for s in relevant)


def resource_arn(region: str, account_id: str, instance: str, table: str | None) -> str:
    base = f"acs:ots:{region}:{account_id}:instance/{instance}"
    return base if table is None else f"{base}/table/{table}"


def authorize(principal: Principal, region: str, account_id: str, instance: str, api: str,
              table: str | None) -> None:
    if principal.policy is None:
        return
    resource = resource_arn(region, account_id, instance, table)
    if not allows(principal.policy, f"ots:{api}", resource):
        raise TablestoreError("OTSNoPermissionAccess", "You have no permission to access the "
                              "requested resource, please contact the resource owner.")

"""RAM policy evaluation, as the local cloud needs it: may this principal do `action` on `resource`?

Rules (RAM's, reduced to what the emulators use):
- A policy is `{"Version": "1", "Statement": [...]}`; `Statement` may also be a single object.
- A statement matches when its `Action` (or `NotAction`) and `Resource` (or `NotResource`) match.
  Actions match case-insensitively, resources case-sensitively; both take `*` and `?` wildcards.
- An explicit Deny wins over any Allow; no matching Allow is an implicit deny.
- `Condition` blocks are evaluated against the request's context keys (an emulator passes what
  it knows, e.g. OSS's `oss:Prefix` and `oss:Delimiter` on ListObjects): `StringEquals`,
  `StringNotEquals`, `StringEqualsIgnoreCase`, `StringNotEqualsIgnoreCase`, `StringLike` and
  `StringNotLike` (`*` and `?`), every operator and every key of a block must hold, any value of
  a list may match. A key the request does not carry fails its condition (as RAM does). What is
  not evaluated here (another operator, a key no emulator passes) stays on the safe side: such an
  Allow never grants and such a Deny always applies, so locally you can only be refused too
  often, never let in by mistake.

`SYSTEM_POLICIES` holds the few Alibaba-managed policies a template may attach by name; a template
naming another one is refused by the template reader rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

# Alibaba's system policies as published (only the statements that matter locally).
SYSTEM_POLICIES: dict[str, dict[str, Any]] = {
    "AliyunFCFullAccess": {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": "fc:*", "Resource": "*"}],
    },
    "AliyunFCInvocationAccess": {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": ["fc:InvokeFunction"], "Resource": "*"}],
    },
    "AliyunFCReadOnlyAccess": {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": ["fc:Get*", "fc:List*"], "Resource": "*"}],
    },
    "AliyunOTSFullAccess": {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": "ots:*", "Resource": "*"}],
    },
    "AliyunOTSReadOnlyAccess": {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ots:BatchGet*", "ots:Describe*", "ots:Get*", "ots:List*"],
                "Resource": "*",
            }
        ],
    },
    "AliyunLogFullAccess": {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": "log:*", "Resource": "*"}],
    },
    "AliyunLogReadOnlyAccess": {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": ["log:Get*", "log:List*"], "Resource": "*"}],
    },
    "AliyunSTSAssumeRoleAccess": {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
    },
    "AliyunRAMReadOnlyAccess": {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": ["ram:Get*", "ram:List*"], "Resource": "*"}],
    },
}


class PolicyError(ValueError):
    """The policy document is not a RAM policy (wrong shape or Effect)."""


def fc_function_resource(
    region: str, account_id: str, service: str, function: str, qualifier: str | None = None
) -> str:
    """The resource string FC checks for InvokeFunction; a qualified call names
    `{service}.{qualifier}`, an unqualified one the bare service."""
    svc = f"{service}.{qualifier}" if qualifier else service
    return f"acs:fc:{region}:{account_id}:services/{svc}/functions/{function}"


def role_policies_of(roles: Iterable[Any]) -> Callable[[str], tuple[Any, ...] | None]:
    """A lookup of declared roles' policies by role ARN (RAM ARNs are case-insensitive); None for
    a role not declared. `roles` are the template's RoleDecls."""
    table = {r.arn.lower(): tuple(r.policies) for r in roles}

    def lookup(arn: str) -> tuple[Any, ...] | None:
        return table.get(arn.lower())

    return lookup


Context = Mapping[str, str]
# The string operators evaluated, each (ignore case, like-patterns, negated).
_OPERATORS = {
    "StringEquals": (False, False, False),
    "StringNotEquals": (False, False, True),
    "StringEqualsIgnoreCase": (True, False, False),
    "StringNotEqualsIgnoreCase": (True, False, True),
    "StringLike": (False, True, False),
    "StringNotLike": (False, True, True),
}


def is_allowed(
    policy: Mapping[str, Any], action: str, resource: str, context: Context | None = None
) -> bool:
    """True when some statement allows `action` on `resource` and none denies it; `context`
    holds the request's condition keys (none: every conditional statement is judged unknown)."""
    allowed = False
    for statement in _statements(policy):
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"statement Effect must be Allow or Deny, not {effect!r}")
        if not _statement_matches(statement, action, resource):
            continue
        held = _conditions_hold(statement.get("Condition"), context or {})
        if effect == "Deny":
            if held is not False:  # holds, or cannot be told: the Deny applies
                return False
        elif held is True:
            allowed = True
    return allowed


def all_allow(
    policies: Iterable[Mapping[str, Any]],
    action: str,
    resource: str,
    context: Context | None = None,
) -> bool:
    """The intersection rule of STS: every policy in the chain must allow."""
    return all(is_allowed(p, action, resource, context) for p in policies)


def any_allows(
    policies: Iterable[Mapping[str, Any]],
    action: str,
    resource: str,
    context: Context | None = None,
) -> bool:
    """Several policies attached to one identity: allowed when one allows and none denies."""
    docs = list(policies)
    merged = {"Version": "1", "Statement": [s for p in docs for s in _statements(p)]}
    return is_allowed(merged, action, resource, context)


def _conditions_hold(block: Any, context: Context) -> bool | None:
    """True or False for a block evaluated here; None for one that is not (see the module
    docstring: the caller then stays on the safe side)."""
    if not block:
        return True
    if not isinstance(block, Mapping):
        raise PolicyError("Condition must be an object")
    for operator, tests in block.items():
        if operator not in _OPERATORS or not isinstance(tests, Mapping):
            return None
        ignore_case, like, negated = _OPERATORS[operator]
        for key, expected in tests.items():
            value = context.get(str(key)) if isinstance(key, str) else None
            if value is None:
                if key in _KNOWN_KEYS:
                    return False  # a key this request does not carry fails its condition
                return None
            patterns = expected if isinstance(expected, list) else [expected]
            matched = any(_value_matches(str(p), value, ignore_case, like) for p in patterns)
            if matched == negated:
                return False
    return True


def _value_matches(pattern: str, value: str, ignore_case: bool, like: bool) -> bool:
    if like:
        return _pattern(pattern, ignore_case).fullmatch(value) is not None
    return pattern.lower() == value.lower() if ignore_case else pattern == value


# Condition keys some emulator passes for the requests they apply to.
_KNOWN_KEYS = frozenset({"oss:Prefix", "oss:Delimiter"})


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if not isinstance(policy, Mapping):
        raise PolicyError("a policy must be a JSON object")
    statements = policy.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, Mapping) for s in statements):
        raise PolicyError("Statement must be an object or a list of objects")
    return statements


def _statement_matches(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        action_ok = _any_match(statement["Action"], action, ignore_case=True)
    elif "NotAction" in statement:
        action_ok = not _any_match(statement["NotAction"], action, ignore_case=True)
    else:
        return False
    if not action_ok:
        return False
    if "Resource" in statement:
        return _any_match(statement["Resource"], resource, ignore_case=False)
    if "NotResource" in statement:
        return not _any_match(statement["NotResource"], resource, ignore_case=False)
    return False


def _any_match(patterns: Any, value: str, *, ignore_case: bool) -> bool:
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list):
        raise PolicyError("Action and Resource must be a string or a list of strings")
    return any(_pattern(str(p), ignore_case).fullmatch(value) for p in patterns)


@lru_cache(maxsize=512)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)

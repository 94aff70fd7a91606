"""RAM policy documents as AssumeRole accepts them, and how an inline policy is evaluated.

STS owns the grammar (it refuses a bad `Policy` with InvalidParameter.PolicyGrammar); every
emulator that serves STS credentials asks `policy_allows` whether the inline policy lets the
caller do an action on a resource. Explicit Deny wins, then any Allow; nothing matching means
deny. `Condition` blocks are not evaluated: a statement carrying one is skipped.
"""
from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any, Mapping

MAX_POLICY_LENGTH = 2048  # characters of the Policy parameter (older docs said 1024)
_EFFECTS = ("Allow", "Deny")


class PolicyGrammarError(ValueError):
    pass


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return None


def check_grammar(policy: Any) -> None:
    """Raise PolicyGrammarError unless `policy` is `{"Version": "1", "Statement": [...]}` with
    each statement naming an Effect, Action(s) and Resource(s)."""
    if not isinstance(policy, Mapping):
        raise PolicyGrammarError("the policy must be a JSON object")
    if policy.get("Version") != "1":
        raise PolicyGrammarError('the policy Version must be "1"')
    statements = policy.get("Statement")
    if not isinstance(statements, list) or not statements:
        raise PolicyGrammarError("the policy Statement must be a non-empty list")
    for statement in statements:
        if not isinstance(statement, Mapping):
            raise PolicyGrammarError("each Statement must be an object")
        if statement.get("Effect") not in _EFFECTS:
            raise PolicyGrammarError("each Statement needs Effect Allow or Deny")
        if _strings(statement.get("Action", statement.get("NotAction"))) is None:
            raise PolicyGrammarError("each Statement needs Action as a string or list of strings")
        if _strings(statement.get("Resource", statement.get("NotResource"))) is None:
            raise PolicyGrammarError("each Statement needs Resource as a string or list of strings")


def parse(text: str) -> dict[str, Any]:
    """The policy in an AssumeRole `Policy` parameter, checked; PolicyGrammarError otherwise."""
    if len(text) > MAX_POLICY_LENGTH:
        raise PolicyGrammarError(f"the policy is {len(text)} characters long; at most "
                                 f"{MAX_POLICY_LENGTH} are allowed")
    try:
        policy = json.loads(text)
    except ValueError:
        raise PolicyGrammarError("the policy is not valid JSON") from None
    check_grammar(policy)
    return policy


def compact_length(policy: Mapping[str, Any]) -> int:
    return len(json.dumps(policy, separators=(",", ":"), ensure_ascii=False))


def _matches(patterns: list[str], value: str, *, ignore_case: bool) -> bool:
    if ignore_case:
        return any(fnmatchcase(value.lower(), p.lower()) for p in patterns)
    return any(fnmatchcase(value, p) for p in patterns)


def _statement_matches(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    if statement.get("Condition"):
        return False
    if "NotAction" in statement:
        action_ok = not _matches(_strings(statement["NotAction"]) or [], action, ignore_case=True)
    else:
        action_ok = _matches(_strings(statement.get("Action")) or [], action, ignore_case=True)
    if "NotResource" in statement:
        resource_ok = not _matches(_strings(statement["NotResource"]) or [], resource,
                                   ignore_case=False)
    else:
        resource_ok = _matches(_strings(statement.get("Resource")) or [], resource,
                               ignore_case=False)
    return action_ok and resource_ok


def policy_allows(policy: Mapping[str, Any], action: str, resource: str) -> bool:
    statements = [s for s in policy.get("Statement", []) if isinstance(s, Mapping)]
    matching = [s for s in statements if _statement_matches(s, action, resource)]
    if any(s.get("Effect") == "Deny" for s in matching):
        return False
    return any(s.get("Effect") == "Allow" for s in matching)

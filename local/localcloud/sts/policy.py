"""RAM policy documents as AssumeRole accepts them: STS owns the grammar (it refuses a bad
`Policy` with InvalidParameter.PolicyGrammar). Evaluating a policy is `localcloud.policy`'s job,
shared by every emulator that serves STS credentials.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

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
        raise PolicyGrammarError(
            f"the policy is {len(text)} characters long; at most {MAX_POLICY_LENGTH} are allowed"
        )
    try:
        policy = json.loads(text)
    except ValueError:
        raise PolicyGrammarError("the policy is not valid JSON") from None
    check_grammar(policy)
    return policy


def compact_length(policy: Mapping[str, Any]) -> int:
    return len(json.dumps(policy, separators=(",", ":"), ensure_ascii=False))

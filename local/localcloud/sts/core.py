"""STS rules without HTTP: which roles exist and what AssumeRole accepts.

The limits are Alibaba's documented ones: DurationSeconds from 900 to the role's
MaxSessionDuration (3600 to 43200, default 3600); RoleSessionName 2-32 characters of
`[A-Za-z0-9.@_-]`; Policy a grammar-checked document of at most 2048 characters. Issued
credentials live in the shared `CredentialBook`, which remembers their role and inline policy.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..account import Account
from ..credentials import CredentialBook, IssuedCredentials, Principal
from ..rpc import RpcError
from . import policy as policies

MIN_DURATION = 900
DEFAULT_DURATION = 3600
MAX_ROLE_SESSION_DURATION = 43200
_ROLE_ARN = re.compile(r"^acs:ram::(?P<account>[0-9]+):role/(?P<name>[^/\s]+)$")
_SESSION_NAME = re.compile(r"^[A-Za-z0-9.@_-]{2,32}$")


class StsError(RpcError):
    """A refusal in STS's own terms; the RPC shell renders it as `{Code, Message}`."""


@dataclass(frozen=True)
class RoleSpec:
    name: str
    arn: str
    max_session_duration: int = DEFAULT_DURATION

    def __post_init__(self) -> None:
        if not DEFAULT_DURATION <= self.max_session_duration <= MAX_ROLE_SESSION_DURATION:
            raise ValueError(
                f"max_session_duration must be in [{DEFAULT_DURATION}, {MAX_ROLE_SESSION_DURATION}]"
            )
        match = _ROLE_ARN.match(self.arn)
        if match is None or match["name"].lower() != self.name.lower():
            raise ValueError(f"role ARN {self.arn!r} must be acs:ram::{{account}}:role/{self.name}")


def role_id(role_arn: str) -> str:
    """A stable numeric role id, as RAM shows in AssumedRoleId (`{roleId}:{session}`)."""
    digest = int(hashlib.sha256(role_arn.lower().encode()).hexdigest(), 16)
    return str(10**18 + digest % (9 * 10**18))  # 19 digits, never a leading zero


def assumed_role_user(principal: Principal) -> tuple[str, str]:
    """(Arn, AssumedRoleId) of an STS principal, as AssumeRole's AssumedRoleUser shows them."""
    assert principal.role_arn is not None and principal.session_name is not None
    return (
        f"{principal.role_arn}/{principal.session_name}",
        f"{role_id(principal.role_arn)}:{principal.session_name}",
    )


def _invalid(name: str, message: str) -> StsError:
    return StsError(400, f"InvalidParameter.{name}", message)


class RoleAssumer:
    def __init__(
        self, account: Account, credentials: CredentialBook, roles: Mapping[str, RoleSpec]
    ) -> None:
        self._account = account
        self._credentials = credentials
        self._lock = threading.Lock()
        self._roles: dict[str, RoleSpec] = {}
        self.set_roles(roles)

    def set_roles(self, roles: Mapping[str, RoleSpec]) -> None:
        with self._lock:
            self._roles = {name.lower(): spec for name, spec in roles.items()}

    def role(self, role_arn: str) -> RoleSpec:
        match = _ROLE_ARN.match(role_arn or "")
        if match is None:
            raise _invalid("RoleArn", "The parameter RoleArn is wrongly formed.")
        with self._lock:
            spec = self._roles.get(match["name"].lower())
        if spec is None or match["account"] != self._account.account_id:
            raise StsError(404, "EntityNotExist.Role", f"The role not exists: {role_arn}.")
        return spec

    def assume_role(
        self, role_arn: str, session_name: str, policy: dict[str, Any] | None, duration_seconds: int
    ) -> IssuedCredentials:
        spec = self.role(role_arn)
        if not _SESSION_NAME.match(session_name or ""):
            raise _invalid("RoleSessionName", "The parameter RoleSessionName is wrongly formed.")
        if not MIN_DURATION <= duration_seconds <= spec.max_session_duration:
            raise _invalid(
                "DurationSeconds",
                f"The Min/Max value of DurationSeconds is "
                f"{MIN_DURATION}/{spec.max_session_duration} seconds.",
            )
        if policy is not None:
            try:
                policies.check_grammar(policy)
            except policies.PolicyGrammarError as exc:
                raise _invalid(
                    "PolicyGrammar", f"The parameter Policy has not passed grammar check: {exc}."
                ) from None
            if policies.compact_length(policy) > policies.MAX_POLICY_LENGTH:
                raise _invalid(
                    "PolicyGrammar",
                    f"The parameter Policy is longer than {policies.MAX_POLICY_LENGTH} characters.",
                )
        # The canonical ARN (the role's own spelling), whatever case the caller used.
        return self._credentials.issue(spec.arn, session_name, policy, duration_seconds)

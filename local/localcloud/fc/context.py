"""What a function instance is given: FC's context object (as a JSON-able dict the worker turns
into `FCContext`), FC's system environment variables, and the service role's credentials.

Role credentials come from the injected issuer (the local STS) and are cached until five minutes
before they expire, as FC refreshes them; a service without a role gets empty credentials.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..clock import Clock
from ..credentials import IssuedCredentials
from ..template import FunctionDecl, ServiceDecl

REFRESH_MARGIN = 300.0  # seconds before expiry at which credentials are no longer handed out
ROLE_SESSION_SECONDS = 3600
# The host variables a Python process needs to start; nothing else leaks from the parent.
_HOST_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT")


class CredentialIssuer(Protocol):
    def assume_role(
        self, role_arn: str, session_name: str, policy: dict[str, Any] | None, duration_seconds: int
    ) -> IssuedCredentials: ...


@dataclass(frozen=True)
class RoleCredentials:
    access_key_id: str
    access_key_secret: str
    security_token: str
    expires_at: float | None  # None: no role, nothing expires

    def as_dict(self) -> dict[str, str]:
        return {
            "access_key_id": self.access_key_id,
            "access_key_secret": self.access_key_secret,
            "security_token": self.security_token,
        }


NO_CREDENTIALS = RoleCredentials("", "", "", None)


class RoleCredentialCache:
    def __init__(self, issuer: CredentialIssuer, clock: Clock) -> None:
        self._issuer = issuer
        self._clock = clock
        self._cache: dict[str, RoleCredentials] = {}
        self._lock = threading.Lock()

    def for_service(self, service: ServiceDecl) -> RoleCredentials:
        if not service.role_arn:
            return NO_CREDENTIALS
        with self._lock:
            cached = self._cache.get(service.role_arn)
            if (
                cached
                and cached.expires_at
                and cached.expires_at - self._clock.now() > REFRESH_MARGIN
            ):
                return cached
            issued = self._issuer.assume_role(
                service.role_arn, _session_name(service.name), None, ROLE_SESSION_SECONDS
            )
            p = issued.principal
            fresh = RoleCredentials(
                p.access_key_id, p.access_key_secret, issued.security_token, p.expires_at
            )
            self._cache[service.role_arn] = fresh
            return fresh

    def usable(self, credentials: RoleCredentials) -> bool:
        """May an instance started with these credentials still take requests?"""
        return (
            credentials.expires_at is None
            or credentials.expires_at - self._clock.now() > REFRESH_MARGIN
        )


def _session_name(service: str) -> str:
    # STS session names: 2-32 characters of [A-Za-z0-9.@_-].
    cleaned = "".join(c if c.isalnum() or c in ".@_-" else "-" for c in f"fc-{service}")
    return cleaned[:32]


def context_dict(
    *,
    request_id: str,
    service: ServiceDecl,
    function: FunctionDecl,
    credentials: RoleCredentials,
    qualifier: str,
    region: str,
    account_id: str,
) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "credentials": credentials.as_dict(),
        "function": {
            "name": function.name,
            "handler": function.handler,
            "memory": function.memory_size,
            "timeout": function.timeout,
            "initializer": function.initializer or "",
            "initialization_timeout": function.initialization_timeout,
        },
        "service": {
            "name": service.name,
            "log_project": service.log_project or "",
            "log_store": service.log_store or "",
            "qualifier": qualifier,
            "version_id": "",
        },
        "region": region,
        "account_id": account_id,
    }


def instance_environment(
    *,
    service: ServiceDecl,
    function: FunctionDecl,
    credentials: RoleCredentials,
    extra_env: Mapping[str, str],
    qualifier: str,
    region: str,
    account_id: str,
    instance_id: str,
) -> dict[str, str]:
    """The environment FC gives an instance: the template's variables, the local endpoints
    (extra_env), then FC's reserved system variables, which nothing may override."""
    env = {k: os.environ[k] for k in _HOST_VARIABLES if k in os.environ}
    env.update(function.environment)
    env.update(extra_env)
    env.update(
        {
            "FC_FUNC_CODE_PATH": str(function.code_dir),
            "FC_ACCOUNT_ID": account_id,
            "FC_REGION": region,
            "FC_SERVICE_NAME": service.name,
            "FC_FUNCTION_NAME": function.name,
            "FC_FUNCTION_HANDLER": function.handler,
            "FC_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "FC_QUALIFIER": qualifier,
            "FC_INSTANCE_ID": instance_id,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": credentials.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": credentials.access_key_secret,
            "ALIBABA_CLOUD_SECURITY_TOKEN": credentials.security_token,
            # The older names FC still sets for its runtimes.
            "accessKeyID": credentials.access_key_id,
            "accessKeySecret": credentials.access_key_secret,
            "securityToken": credentials.security_token,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env

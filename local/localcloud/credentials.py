"""Who signed a request: the account's root key, or credentials issued by the local STS.

STS credentials are kept here (not in the STS emulator) because every other emulator must resolve
them: an access key id `STS.xxx` is only valid together with its security token, until it expires,
and it carries the role and inline policy it was issued with so Function Compute can evaluate them.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .account import Account
from .clock import Clock
from .state import Database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sts_credentials (
    access_key_id TEXT PRIMARY KEY,
    access_key_secret TEXT NOT NULL,
    security_token TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    session_name TEXT NOT NULL,
    policy TEXT,
    expires_at REAL NOT NULL
)
"""


class CredentialError(Exception):
    """Base of the reasons a credential is refused; each emulator maps them to its own codes."""


class UnknownAccessKey(CredentialError):
    pass


class InvalidSecurityToken(CredentialError):
    pass


class ExpiredSecurityToken(CredentialError):
    pass


@dataclass(frozen=True)
class Principal:
    access_key_id: str
    access_key_secret: str
    is_root: bool
    role_arn: str | None = None
    session_name: str | None = None
    policy: dict[str, Any] | None = None  # the inline policy AssumeRole was given, if any
    expires_at: float | None = None


@dataclass(frozen=True)
class IssuedCredentials:
    principal: Principal
    security_token: str


def _random(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


class CredentialBook:
    def __init__(self, account: Account, db_path: Path | str, clock: Clock) -> None:
        self._account = account
        self._db = Database(db_path, _SCHEMA)
        self._clock = clock

    @property
    def account(self) -> Account:
        return self._account

    def issue(
        self, role_arn: str, session_name: str, policy: dict[str, Any] | None, duration_seconds: int
    ) -> IssuedCredentials:
        alnum = string.ascii_letters + string.digits
        principal = Principal(
            access_key_id="STS." + _random(alnum, 28),
            access_key_secret=_random(alnum, 44),
            is_root=False,
            role_arn=role_arn,
            session_name=session_name,
            policy=policy,
            expires_at=self._clock.now() + duration_seconds,
        )
        token = "CAIS" + _random(alnum + "+/", 300)
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO sts_credentials VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    principal.access_key_id,
                    principal.access_key_secret,
                    token,
                    role_arn,
                    session_name,
                    json.dumps(policy) if policy is not None else None,
                    principal.expires_at,
                ),
            )
        return IssuedCredentials(principal, token)

    def resolve(self, access_key_id: str, security_token: str | None) -> Principal:
        """The principal behind a key id, or a CredentialError saying why it is refused."""
        if access_key_id == self._account.access_key_id:
            return Principal(access_key_id, self._account.access_key_secret, is_root=True)
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM sts_credentials WHERE access_key_id = ?", (access_key_id,)
            ).fetchone()
        if row is None:
            raise UnknownAccessKey(access_key_id)
        if not security_token or not secrets.compare_digest(security_token, row["security_token"]):
            raise InvalidSecurityToken(access_key_id)
        if self._clock.now() >= row["expires_at"]:
            raise ExpiredSecurityToken(access_key_id)
        return Principal(
            access_key_id=row["access_key_id"],
            access_key_secret=row["access_key_secret"],
            is_root=False,
            role_arn=row["role_arn"],
            session_name=row["session_name"],
            policy=json.loads(row["policy"]) if row["policy"] else None,
            expires_at=row["expires_at"],
        )

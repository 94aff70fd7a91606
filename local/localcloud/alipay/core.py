"""The rules of Alipay user authorisation, without HTTP: test users, single-use auth codes, and
the access/refresh token pairs `alipay.system.oauth.token` hands out.

What the platform documents and we keep:
- an auth code works once, and is spent by any attempt to use it, successful or not; unused it
  lapses after between 3 minutes and 24 hours (we take the 3-minute floor, so code paths that
  sit on a code fail here first);
- refreshing rotates the pair: the old refresh token stops working at once;
- an access token granted with scope `auth_base` only identifies the user: `alipay.user.info.share`
  refuses it with aop.invalid-auth-token, exactly as for an unknown token;
- codes and tokens belong to the app they were issued for: another app presenting them is told
  they do not exist (and cannot spend them).
Expiry reads the injected clock, so tests move time instead of waiting.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from dataclasses import dataclass

from ..clock import Clock
from ..state import Database
from . import errors
from .errors import AlipayError

AUTH_CODE_TTL = 180  # seconds
ACCESS_TOKEN_TTL = 14 * 24 * 3600  # expires_in seen from the real platform
REFRESH_TOKEN_TTL = 180 * 24 * 3600  # re_expires_in, likewise
SCOPES = ("auth_base", "auth_user")
DEFAULT_SCOPES = ("auth_base",)  # what my.getAuthCode asks for when the mini program names none
USER_ID = re.compile(r"2088\d{12}")  # Alipay user ids: 16 digits starting 2088

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    nick_name TEXT NOT NULL,
    avatar TEXT NOT NULL,
    gender TEXT NOT NULL,
    province TEXT NOT NULL,
    city TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS auth_codes (
    code TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at REAL NOT NULL,
    app_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS access_tokens (
    token TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at REAL NOT NULL,
    app_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at REAL NOT NULL,
    app_id TEXT NOT NULL DEFAULT ''
)
"""
TABLES_WITH_APP = ("auth_codes", "access_tokens", "refresh_tokens")


def migrate(db: Database, default_app_id: str) -> None:
    """State written before the gateway knew several apps has no `app_id` column: add it and give
    the existing codes and tokens to the app there was then (`default_app_id`)."""
    with db.transaction() as conn:
        for table in TABLES_WITH_APP:
            columns = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
            if "app_id" not in columns:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN app_id TEXT NOT NULL DEFAULT ''")
            conn.execute(f"UPDATE {table} SET app_id = ? WHERE app_id = ''", (default_app_id,))


class InvalidSandboxRequest(ValueError):
    """The sandbox was asked for an auth code with a malformed user id or scope list."""


@dataclass(frozen=True)
class User:
    user_id: str
    nick_name: str
    avatar: str
    gender: str  # "M" | "F", as the platform spells it
    province: str
    city: str


@dataclass(frozen=True)
class TokenGrant:
    app_id: str
    user_id: str
    access_token: str
    expires_in: int
    refresh_token: str
    re_expires_in: int
    auth_start: float  # epoch seconds, from the injected clock


class AuthorizationServer:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def mint_auth_code(
        self, app_id: str, user_id: object, scopes: object = None
    ) -> tuple[str, tuple[str, ...]]:
        """What the Alipay app does when a user authorises the mini program `app_id` (sandbox
        only; the caller checks the app exists)."""
        if not isinstance(user_id, str) or not USER_ID.fullmatch(user_id):
            raise InvalidSandboxRequest("user_id must be 16 digits starting with 2088")
        granted = _validate_scopes(scopes)
        code = secrets.token_hex(16)
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO users (user_id, nick_name, avatar, gender, province, city)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                _profile_for(user_id),
            )
            conn.execute(
                "INSERT INTO auth_codes (code, user_id, scopes, expires_at, app_id)"
                " VALUES (?, ?, ?, ?, ?)",
                (code, user_id, ",".join(granted), self._clock.now() + AUTH_CODE_TTL, app_id),
            )
        return code, granted

    def exchange_code(self, app_id: str, code: str) -> TokenGrant:
        now = self._clock.now()
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT user_id, scopes, expires_at FROM auth_codes WHERE code = ? AND app_id = ?",
                (code, app_id),
            ).fetchone()
            # Spent by this attempt whatever its outcome (an error here must not roll it back).
            conn.execute("DELETE FROM auth_codes WHERE code = ? AND app_id = ?", (code, app_id))
            grant = None
            if row is not None and row["expires_at"] > now:
                grant = self._issue(conn, app_id, row["user_id"], row["scopes"], now)
        if grant is None:
            raise AlipayError(errors.CODE_INVALID)
        return grant

    def refresh(self, app_id: str, refresh_token: str) -> TokenGrant:
        now = self._clock.now()
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT user_id, scopes, expires_at FROM refresh_tokens"
                " WHERE token = ? AND app_id = ?",
                (refresh_token, app_id),
            ).fetchone()
            if row is None:
                failure = errors.REFRESH_TOKEN_INVALID
            elif row["expires_at"] <= now:
                failure = errors.REFRESH_TOKEN_TIME_OUT
            else:
                conn.execute("DELETE FROM refresh_tokens WHERE token = ?", (refresh_token,))
                return self._issue(conn, app_id, row["user_id"], row["scopes"], now)
        raise AlipayError(failure)

    def user_info(self, app_id: str, access_token: str) -> User:
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT u.*, t.scopes, t.expires_at FROM access_tokens t"
                " JOIN users u ON u.user_id = t.user_id WHERE t.token = ? AND t.app_id = ?",
                (access_token, app_id),
            ).fetchone()
        if row is None or "auth_user" not in row["scopes"].split(","):
            raise AlipayError(errors.INVALID_AUTH_TOKEN)
        if row["expires_at"] <= self._clock.now():
            raise AlipayError(errors.AUTH_TOKEN_TIME_OUT)
        return User(
            row["user_id"],
            row["nick_name"],
            row["avatar"],
            row["gender"],
            row["province"],
            row["city"],
        )

    def _issue(
        self, conn: sqlite3.Connection, app_id: str, user_id: str, scopes: str, now: float
    ) -> TokenGrant:
        # The real tokens carry the scope in their prefix (authbseB… / authusrB…); so do ours.
        prefix = "authusrB" if "auth_user" in scopes.split(",") else "authbseB"
        grant = TokenGrant(
            app_id=app_id,
            user_id=user_id,
            access_token=prefix + secrets.token_hex(16),
            expires_in=ACCESS_TOKEN_TTL,
            refresh_token=prefix + secrets.token_hex(16),
            re_expires_in=REFRESH_TOKEN_TTL,
            auth_start=now,
        )
        conn.execute(
            "INSERT INTO access_tokens (token, user_id, scopes, expires_at, app_id)"
            " VALUES (?, ?, ?, ?, ?)",
            (grant.access_token, user_id, scopes, now + ACCESS_TOKEN_TTL, app_id),
        )
        conn.execute(
            "INSERT INTO refresh_tokens (token, user_id, scopes, expires_at, app_id)"
            " VALUES (?, ?, ?, ?, ?)",
            (grant.refresh_token, user_id, scopes, now + REFRESH_TOKEN_TTL, app_id),
        )
        return grant


def _validate_scopes(scopes: object) -> tuple[str, ...]:
    if scopes is None:
        return DEFAULT_SCOPES
    if (
        not isinstance(scopes, (list, tuple))
        or not scopes
        or not all(isinstance(s, str) and s in SCOPES for s in scopes)
    ):
        raise InvalidSandboxRequest(f"scopes must be a non-empty list of {', '.join(SCOPES)}")
    return tuple(dict.fromkeys(scopes))


def _profile_for(user_id: str) -> tuple[str, ...]:
    """A stable made-up profile, so the same test user always looks the same."""
    digest = hashlib.sha256(user_id.encode()).hexdigest()
    gender = "F" if int(digest[0], 16) % 2 else "M"
    # Not fetchable; the platform's avatars are CDN URLs of this shape.
    avatar = f"https://tfs.alipayobjects.com/images/partner/local{digest[:24]}"
    return (user_id, f"沙箱用户{user_id[-4:]}", avatar, gender, "浙江省", "杭州市")

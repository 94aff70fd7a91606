"""Opening, refreshing and closing sessions: what the session function does.

`open_session` orders its steps so that a session is never half-created:
  1. rate limit per client IP (before Alipay is called, so a bot cannot burn our Alipay quota);
  2. exchange the auth code with Alipay (single use: a replay is InvalidAuthCode);
  3. resolve Alipay's user_id / open_id to the internal user id (`services.identity`), which
     keys everything after: the rate limit, the credentials' session name, the session row;
  4. rate limit per user;
  5. issue the STS credentials;
  6. write the session row, last.
Every step runs against one deadline for the invocation (`miniapp.deadline`): a step with too
little time left is not started, and a row written after the deadline is deleted again, so the
client always gets an answer inside the function's timeout and no row exists whose id it did not
receive.
Credentials are issued before the row is written because they are the step most likely to fail
(STS refusing, role misconfigured). If they fail there is no row to undo; if the row write fails
afterwards, the credentials were never shown to anyone and can only invoke the db function, which
refuses every sessionId without a row. `Sessions.save_new` deletes a row whose write failed
ambiguously, so no row ever outlives a failed request.

Upstream requests: a warm instance's login of a user it has seen makes 5 (the two limits'
UpdateRows, Alipay, STS, the session row's PutRow): step 3 is answered from what the instance
remembers of the identity links. A first login, or a login on a new instance, also reads the link
(6), and creates it the first time. docs/design/identity-links.md says why that is safe and why
not the other ways to 5.

A refresh makes 3: the session row's GetRow, its two limits (per session, per user) in one
BatchWriteRow, STS. Its user is known only from the row, so the limits follow the read; they
share one batch because both are plain increments with no order between them (a refused one is
not counted, the other still is, as a login refused per user still counts against its IP).
Logging out counts nothing: it only ends what a login created.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .. import deadline
from ..crypto import TokenCipher, UserHasher
from ..domain.access import DbFunctionRef, client_policy, role_session_name
from ..domain.records import RateLimit, StsCredentials
from ..domain.session_id import new_session_id, session_key
from ..errors import RateLimited, UpstreamUnavailable
from ..ports import CredentialIssuer, IdentityProvider, RateLimiter
from .identity import Identities
from .sessions import Sessions


@dataclass(frozen=True)
class LoginLimits:
    """Logins allowed per client IP and per user, and refreshes per session and per user, in
    each window."""

    per_ip: int = 30
    per_user: int = 10
    window_seconds: int = 60
    refresh_per_session: int = 10
    refresh_per_user: int = 30


@dataclass(frozen=True)
class OpenedSession:
    """What a login answers: the new session and its STS credentials."""

    session_id: str
    credentials: StsCredentials
    user_id: str

    def __repr__(self) -> str:
        return "OpenedSession(<redacted>)"


@dataclass(frozen=True)
class RefreshedSession:
    """What a refresh answers: new STS credentials for the same session."""

    credentials: StsCredentials
    user_id: str

    def __repr__(self) -> str:
        return "RefreshedSession(<redacted>)"


class Login:
    def __init__(
        self,
        *,
        identity: IdentityProvider,
        identities: Identities,
        issuer: CredentialIssuer,
        sessions: Sessions,
        limiter: RateLimiter,
        cipher: TokenCipher,
        hasher: UserHasher,
        db_function: DbFunctionRef,
        sts_duration_seconds: int = 900,
        limits: LoginLimits = LoginLimits(),
        new_session_id: Callable[[], str] = new_session_id,
    ) -> None:
        self._identity = identity
        self._identities = identities
        self._issuer = issuer
        self._sessions = sessions
        self._limiter = limiter
        self._cipher = cipher
        self._hasher = hasher
        self._policy = client_policy(db_function)
        self._duration = sts_duration_seconds
        self._limits = limits
        self._new_session_id = new_session_id

    def open_session(
        self,
        auth_code: str,
        client_ip: str,
        on_identified: Callable[[str], None] = lambda user_id: None,
    ) -> OpenedSession:
        """`on_identified` learns the user as soon as Alipay names it, so a login that fails
        after that point can still be audited against the user."""
        limits = self._limits
        self._hit(
            f"ip:{client_ip or 'unknown'}",
            limits.per_ip,
            limits.window_seconds,
            "from this IP address",
        )
        grant = self._identity.exchange_auth_code(auth_code)
        user_id = self._identities.resolve(grant.user_id, grant.open_id)
        on_identified(user_id)
        self._hit(
            f"user:{self._hasher(user_id)}", limits.per_user, limits.window_seconds, "for this user"
        )
        credentials = self._issue(user_id)
        session_id = self._new_session_id()
        key = session_key(session_id)
        # Nothing else from Alipay's reply is kept: the tokens (sealed to this row) and the user
        # as Alipay named them (the buyer of the trades they pay, services/orders.py).
        record = self._sessions.new_record(
            key,
            user_id,
            access_token_enc=self._cipher.seal(grant.access_token, key),
            refresh_token_enc=self._cipher.seal(grant.refresh_token, key),
            alipay_user_id=grant.user_id,
            alipay_open_id=grant.open_id,
        )
        self._sessions.save_new(record)
        if deadline.expired():
            # The row landed too late for the answer to reach the client in time: a session
            # whose id nobody received must not exist.
            self._sessions.discard(key)
            raise UpstreamUnavailable("the session could not be opened within the timeout")
        return OpenedSession(session_id, credentials, user_id)

    def refresh(
        self, session_id: str, on_identified: Callable[[str], None] = lambda user_id: None
    ) -> RefreshedSession:
        """Counted per session and per user once the session is found live (an unknown id
        counts nothing), in one request, before STS is asked."""
        record = self._sessions.resolve(session_id)
        on_identified(record.user_id)
        limits = self._limits
        checked = (
            (
                RateLimit(
                    f"refresh-session:{record.key}",
                    limits.refresh_per_session,
                    limits.window_seconds,
                ),
                "of this session",
            ),
            (
                RateLimit(
                    f"refresh-user:{self._hasher(record.user_id)}",
                    limits.refresh_per_user,
                    limits.window_seconds,
                ),
                "for this user",
            ),
        )
        refused = self._limiter.hit_all([limit for limit, _ in checked])
        for (limit, whose), retry_after in zip(checked, refused, strict=True):
            if retry_after is not None:
                raise _too_many("refreshes", whose, limit, retry_after)
        return RefreshedSession(self._issue(record.user_id), record.user_id)

    def logout(self, session_id: str) -> str | None:
        """The user whose session was ended, or None if there was no such session (logging out
        twice is not an error: the client's goal, no live session, is met)."""
        record = self._sessions.end(session_id)
        return None if record is None else record.user_id

    def _hit(self, bucket: str, capacity: int, window_seconds: int, whose: str) -> None:
        """Count one login in `bucket`."""
        try:
            self._limiter.hit(bucket, capacity, window_seconds)
        except RateLimited as exc:
            raise _too_many(
                "logins", whose, RateLimit(bucket, capacity, window_seconds), exc.retry_after
            ) from None

    def _issue(self, user_id: str) -> StsCredentials:
        return self._issuer.issue(
            role_session_name(self._hasher(user_id)), self._policy, self._duration
        )


def _too_many(what: str, whose: str, limit: RateLimit, retry_after: int) -> RateLimited:
    """The refusal says which limit was hit, so a developer (and a user behind a shared address)
    can tell an IP limit from a user limit."""
    return RateLimited(
        retry_after,
        f"too many {what} {whose} (at most {limit.capacity} per "
        f"{limit.window_seconds} s); retry after {retry_after} s",
    )

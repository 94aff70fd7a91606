"""The session lifecycle rules: a session lives at most `absolute` after it was opened and dies
after `idle` without activity. Activity is recorded at most once a `touch_every` so that a busy
client does not turn every read into a write."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from .. import deadline, prefetch
from ..domain.records import FirstRead, SessionRecord
from ..domain.session_id import is_session_id, session_key
from ..errors import Conflict, MiniAppError, SessionExpired, SessionNotFound, UpstreamUnavailable
from ..ports import Clock, SessionItemReader, SessionStore

DEFAULT_ABSOLUTE_SECONDS = 7 * 24 * 3600
DEFAULT_IDLE_SECONDS = 24 * 3600
REMEMBERED_SESSIONS = 4096  # about 0.5 MB: one 64-character key and one user id each


@dataclass(frozen=True)
class SessionLifetime:
    """How long a session lives, idles, and how often its use is written down."""

    absolute_ms: int = DEFAULT_ABSOLUTE_SECONDS * 1000
    idle_ms: int = DEFAULT_IDLE_SECONDS * 1000
    touch_every_ms: int = 60_000


class Sessions:
    def __init__(
        self,
        store: SessionStore,
        clock: Clock,
        lifetime: SessionLifetime,
        reader: SessionItemReader | None = None,
        *,
        delete_expired: bool = True,
    ) -> None:
        """`reader`: reads the session row with a request's first rows (`resolve`);
        `delete_expired`: False where the role may not delete session rows."""
        self._store = store
        self._clock = clock
        self._lifetime = lifetime
        self._reader = reader
        self._delete_expired = delete_expired
        # session key -> user id, for the sessions this instance served (resolve)
        self._users: OrderedDict[str, str] = OrderedDict()
        self._users_lock = threading.Lock()

    def new_record(
        self,
        key: str,
        user_id: str,
        access_token_enc: bytes,
        refresh_token_enc: bytes,
        *,
        alipay_user_id: str = "",
        alipay_open_id: str = "",
    ) -> SessionRecord:
        now = self._clock.now_ms()
        return SessionRecord(
            key=key,
            user_id=user_id,
            created_at_ms=now,
            last_seen_ms=now,
            expires_at_ms=now + self._lifetime.absolute_ms,
            access_token_enc=access_token_enc,
            refresh_token_enc=refresh_token_enc,
            alipay_user_id=alipay_user_id,
            alipay_open_id=alipay_open_id,
        )

    def save_new(self, record: SessionRecord) -> None:
        """Write a new session row, or leave none: a failed or timed-out write may still have
        landed, so it is deleted (best effort) before the error goes up. The write leaves time
        of the invocation's deadline for that delete."""
        try:
            with deadline.keeping_back(deadline.CLEANUP_SECONDS):
                self._store.create(record)
        except Conflict:
            raise  # the row is not ours (a 2^-256 id collision): never delete it
        except BaseException:
            self.discard(record.key)
            raise

    def discard(self, key: str) -> None:
        """Delete a row that must not outlive the request that wrote it, even past the deadline."""
        with deadline.cleanup():
            self._forget(key)

    def resolve(self, session_id: str, first_reads: tuple[FirstRead, ...] = ()) -> SessionRecord:
        """The live session, with its activity recorded; SessionNotFound or SessionExpired.

        `first_reads`: rows the caller will read next. When this instance has seen the session
        before, it knows the user (whose id the rows' keys hold) and reads them with the session
        row, in one request, for `prefetch` to answer. Only the session -> user pairing is
        remembered, which never changes for a session row: whether the session is still live is
        decided by the row read in that same request, so a logout or expiry counts at once."""
        if not is_session_id(session_id):
            raise SessionNotFound()
        key = session_key(session_id)
        with self._users_lock:
            user_id = self._users.get(key)
        if user_id is None or not first_reads or self._reader is None:
            return self._live(key, self._store.get(key))
        record, read = self._reader.session_and(key, user_id, first_reads)
        live = self._live(key, record)
        if live.user_id != user_id:  # cannot happen: a session row's user never changes
            self._forget_user(key)
            raise SessionNotFound()
        prefetch.keep(user_id, read)
        return live

    def _live(self, key: str, record: SessionRecord | None) -> SessionRecord:
        if record is None:
            self._forget_user(key)
            raise SessionNotFound()
        now = self._clock.now_ms()
        if now >= record.expires_at_ms:
            self._forget(key)
            raise SessionExpired("session expired: it reached its maximum lifetime")
        if now - record.last_seen_ms >= self._lifetime.idle_ms:
            self._forget(key)
            raise SessionExpired("session expired: it was idle too long")
        if now - record.last_seen_ms >= self._lifetime.touch_every_ms:
            try:
                self._store.touch(key, now)
            except UpstreamUnavailable:
                pass  # recording activity is worth less than answering; the next request retries
        self._remember(key, record.user_id)
        return record

    def _remember(self, key: str, user_id: str) -> None:
        with self._users_lock:
            self._users[key] = user_id
            self._users.move_to_end(key)
            while len(self._users) > REMEMBERED_SESSIONS:
                self._users.popitem(last=False)

    def _forget_user(self, key: str) -> None:
        with self._users_lock:
            self._users.pop(key, None)

    def end(self, session_id: str) -> SessionRecord | None:
        """Delete the session; the record it had (for the audit log), or None if there was none."""
        if not is_session_id(session_id):
            return None
        key = session_key(session_id)
        record = self._store.get(key)
        if record is None:
            return None
        self._store.delete(key)
        return record

    def _forget(self, key: str) -> None:
        # An expired session is deleted when found, so it cannot be refreshed in the window before
        # the table's TTL sweeps it; failing to delete it changes nothing for the caller.
        if not self._delete_expired:
            return
        try:
            self._store.delete(key)
        except MiniAppError:
            pass

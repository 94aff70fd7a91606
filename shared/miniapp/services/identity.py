"""Resolving the user Alipay named to the backend's internal id (the rule is in
`domain/identity.py`). Round trips to the identity table per login:

    user_id only (the app before its move)        1 read
    both, already linked                          1 read
    both, first time                              2 reads + 1 conditional write
    open_id only, known                           1 read
    open_id only, first time (a new user)         1 read + 1 conditional write
    any of these again on a warm instance         none (remembered, see below)

A warm instance remembers what it resolved, per (user_id, open_id) pair exactly as Alipay named
the user, for `REMEMBER_SECONDS`, the `REMEMBERED_USERS` most recent pairs: a returning user's
warm login is 5 upstream requests instead of 6. That is safe because links are only ever added;
the one answer that can change (a user_id-only pair resolved by the absence of its link) is
updated at once by this instance and within `REMEMBER_SECONDS` by the others
(docs/design/identity-links.md has the whole argument, and the other ways to 5 that were weighed).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ..domain.identity import new_internal_id, open_id_link, user_id_link
from ..errors import UpstreamUnavailable
from ..ports import IdentityLinks

REMEMBERED_USERS = 4096  # a few hundred bytes each: about 1 MB, 2.5 MB with 128-character ids
REMEMBER_SECONDS = 600


def _monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class Identities:
    def __init__(
        self,
        links: IdentityLinks,
        app_id: str,
        new_id: Callable[[], str] = new_internal_id,
        now_ms: Callable[[], int] = _monotonic_ms,
    ) -> None:
        self._links = links
        self._app_id = app_id
        self._new_id = new_id
        self._now_ms = now_ms
        # (user_id, open_id) -> (internal id, when resolved), least recently used first
        self._known: OrderedDict[tuple[str, str], tuple[str, int]] = OrderedDict()
        self._known_lock = threading.Lock()

    def resolve(self, user_id: str, open_id: str) -> str:
        """The internal id of the user Alipay named by `user_id`, `open_id` or both ("" for an
        absent one; the adapter guarantees at least one)."""
        if not open_id and not user_id:
            raise UpstreamUnavailable("Alipay reply names no user")
        pair = (user_id, open_id)
        known = self._recall(pair)
        if known is not None:
            return known
        asked_ms = self._now_ms()
        internal = self._resolve(user_id, open_id)
        # Not over an entry written since we asked: with InstanceConcurrency above 1, a login
        # naming both ids may have added the uid# link after our read found none.
        self._remember(pair, internal, unless_since_ms=asked_ms)
        return internal

    def _resolve(self, user_id: str, open_id: str) -> str:
        if not open_id:
            return self._of_user_id(user_id)
        link = open_id_link(self._app_id, open_id)
        internal = self._links.get(link)
        if internal is None:
            candidate = self._of_user_id(user_id) if user_id else self._new_id()
            # Only if absent: of two first logins racing, the second reads the first one's id.
            internal = self._links.claim(link, candidate)
        if user_id and internal != user_id:
            # A user first seen by open_id and now also by user_id: link that too, so a login
            # that names the user_id alone (another app, or a rollback) finds them as well.
            bound = self._links.claim(user_id_link(user_id), internal)
            # What a user_id-only login resolves to from now on (see the module doc).
            self._remember((user_id, ""), bound)
        return internal

    def _of_user_id(self, user_id: str) -> str:
        # No link row means the legacy rule: the user_id is the internal id.
        return self._links.get(user_id_link(user_id)) or user_id

    def _recall(self, pair: tuple[str, str]) -> str | None:
        with self._known_lock:
            entry = self._known.get(pair)
            if entry is None:
                return None
            internal, since_ms = entry
            if self._now_ms() - since_ms >= REMEMBER_SECONDS * 1000:
                del self._known[pair]
                return None
            self._known.move_to_end(pair)
            return internal

    def _remember(
        self, pair: tuple[str, str], internal: str, unless_since_ms: int | None = None
    ) -> None:
        with self._known_lock:
            entry = self._known.get(pair)
            if entry is not None and unless_since_ms is not None and entry[1] >= unless_since_ms:
                return
            self._known[pair] = (internal, self._now_ms())
            self._known.move_to_end(pair)
            while len(self._known) > REMEMBERED_USERS:
                self._known.popitem(last=False)

"""Resolving the user Alipay named to the backend's internal id (the rule is in
`domain/identity.py`). Round trips to the identity table per login:

    user_id only (the app before its move)        1 read
    both, already linked                          1 read
    both, first time                              2 reads + 1 conditional write
    open_id only, known                           1 read
    open_id only, first time (a new user)         1 read + 1 conditional write
"""
from __future__ import annotations

from collections.abc import Callable

from ..domain.identity import new_internal_id, open_id_link, user_id_link
from ..errors import UpstreamUnavailable
from ..ports import IdentityLinks


class Identities:
    def __init__(self, links: IdentityLinks, app_id: str,
                 new_id: Callable[[], str] = new_internal_id) -> None:
        self._links = links
        self._app_id = app_id
        self._new_id = new_id

    def resolve(self, user_id: str, open_id: str) -> str:
        """The internal id of the user Alipay named by `user_id`, `open_id` or both ("" for an
        absent one; the adapter guarantees at least one)."""
        if not open_id:
            if not user_id:
                raise UpstreamUnavailable("Alipay reply names no user")
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
            self._links.claim(user_id_link(user_id), internal)
        return internal

    def _of_user_id(self, user_id: str) -> str:
        # No link row means the legacy rule: the user_id is the internal id.
        return self._links.get(user_id_link(user_id)) or user_id

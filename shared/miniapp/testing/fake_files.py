"""FileObjects in memory (ports.FileObjects): a bucket of objects, upload tickets held to their
POST policy when a test posts them (`post`, what OSS does with my.uploadFile's form), and the
per-user scope a signature carries, which the fake checks as STS and OSS would: a URL for a key
outside `files/{user}/` is an AssertionError (a service bug, not a client's doing).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.files import (
    FILES,
    Declared,
    SignedUrl,
    StoredObject,
    Ticket,
    upload_key,
)
from ..errors import NotFound
from .fakes import FakeClock, Faults


@dataclass(frozen=True)
class Stored:
    """One object: its bytes, content type and x-oss-meta-* headers."""

    content: bytes
    content_type: str
    meta: dict[str, str]


class PostRefused(Exception):
    """OSS refused the form (its error code: AccessDenied, EntityTooLarge, ...)."""


class FakeFileObjects(Faults):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self._clock = clock
        self.objects: dict[str, Stored] = {}
        self.tickets: dict[str, tuple[str, Declared, int]] = {}  # key -> (user, declared, expiry)
        self.signed: list[tuple[str, str]] = []  # (user, key) of every URL signed
        self.copies = 0

    # -- signed for the client ----------------------------------------------------------------
    def ticket(self, user_id: str, file_id: str, declared: Declared, seconds: int) -> Ticket:
        with self._lock:
            self._enter("ticket")
            key = upload_key(user_id, file_id)
            expires_ms = self._clock.now_ms() + seconds * 1000
            self.tickets[key] = (user_id, declared, expires_ms)
            form = {"key": key, "Content-Type": declared.content_type, **declared.meta()}
            self._leave("ticket")
            return Ticket(file_id, "https://files.oss.fake/", form, expires_ms)

    def post(self, ticket: Ticket, content: bytes, key: str | None = None) -> None:
        """The form posted as OSS checks it: the ticket's key only, its size and type, before it
        expires; PostRefused otherwise, and nothing stored."""
        key = ticket.form["key"] if key is None else key
        with self._lock:
            held = self.tickets.get(ticket.form["key"])
            if held is None or key != ticket.form["key"]:
                raise PostRefused("AccessDenied")
            _, declared, expires_ms = held
            if self._clock.now_ms() >= expires_ms:
                raise PostRefused("AccessDenied")
            if len(content) != declared.size:
                raise PostRefused(
                    "EntityTooLarge" if len(content) > declared.size else "EntityTooSmall"
                )
            meta = {k: v for k, v in ticket.form.items() if k.startswith("x-oss-meta-")}
            self.objects[key] = Stored(content, ticket.form["Content-Type"], meta)

    def signed_url(self, user_id: str, key: str, seconds: int) -> SignedUrl:
        with self._lock:
            self._enter("signed_url")
            assert key.startswith(f"{FILES}{user_id}/"), f"a URL of {key} signed for {user_id}"
            self.signed.append((user_id, key))
            expires_ms = self._clock.now_ms() + seconds * 1000
            return SignedUrl(
                f"https://files.oss.fake/{key}?Expires={expires_ms // 1000}", expires_ms
            )

    # -- the db function's own calls ------------------------------------------------------------
    def head(self, key: str) -> StoredObject | None:
        with self._lock:
            self._enter("head")
            found = self.objects.get(key)
            if found is None:
                return None
            return StoredObject(len(found.content), found.content_type, dict(found.meta))

    def copy(self, source_key: str, target_key: str) -> None:
        with self._lock:
            self._enter("copy")
            found = self.objects.get(source_key)
            if found is None:
                raise NotFound("the upload is gone")
            self.objects[target_key] = found
            self.copies += 1
            self._leave("copy")

    def delete(self, key: str) -> None:
        with self._lock:
            self._enter("delete")
            self.objects.pop(key, None)
            self._leave("delete")

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

"""A file collection's operations (docs/files.md): an upload ticket, the commit that turns an
uploaded object into an item, signed URLs, and a remove that deletes the object too. The items
(name, contentType, size) are the collection's own, kept by its `CollectionService`; the bytes are
in OSS (`ports.FileObjects`). The user is the session's, always.

Quotas: the collection's item quota, the declared bytes per user and bytes per file. Used bytes
are the sizes of the user's committed files, summed when a ticket is asked for and again at the
commit; two commits racing near the quota may each pass, so a user can end above it by the files
committed at that same moment (at most one file each), never by more.

A commit is safe to repeat: a file committed already is answered as it is; a commit cut short
after the copy copies again (the same bytes) and writes the item; the staging upload is dropped
last, and the bucket's lifecycle rule removes it a day later should that fail.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from ..domain.files import (
    Declared,
    FileRules,
    SignedUrl,
    Ticket,
    check_declared,
    file_key,
    upload_key,
)
from ..domain.ids import new_item_id
from ..domain.schema import Item
from ..errors import Conflict, MiniAppError, NotFound, QuotaExceeded
from ..ports import Clock, FileObjects
from .collection import CollectionService

log = logging.getLogger("miniapp.files")


class FileService:
    def __init__(
        self,
        items: CollectionService,
        objects: FileObjects,
        clock: Clock,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        rules = items.declaration.files
        if rules is None:
            raise ValueError(f"{items.name} is not a file collection")
        self.items = items
        self.rules: FileRules = rules
        self._objects = objects
        self._clock = clock
        self._random_bytes = random_bytes

    def prepare_upload(self, user_id: str, name: str, content_type: str, size: int) -> Ticket:
        declared = check_declared(self.rules, name, content_type, size)
        self._check_quota(user_id, size)
        file_id = new_item_id(self._clock.now_ms(), self._random_bytes)
        return self._objects.ticket(user_id, file_id, declared, self.rules.ticket_seconds)

    def commit(self, user_id: str, file_id: str) -> Item:
        committed = self.items.get_or_none(user_id, file_id)
        if committed is not None:
            return committed  # a repeated commit (its first reply was lost)
        staged = upload_key(user_id, file_id)
        stored = self._objects.head(staged)
        if stored is None:
            raise NotFound("no upload of this file: post the ticket's form first (or it expired)")
        declared = Declared.from_meta(stored.meta)
        problem = self._mismatch(declared, stored.size, stored.content_type)
        if problem:
            self._objects.delete(staged)  # it can never be committed
            raise Conflict(f"the upload does not match its ticket: {problem}")
        assert declared is not None
        self._check_quota(user_id, declared.size)
        target = file_key(user_id, file_id)
        self._objects.copy(staged, target)
        values = {
            "name": declared.name,
            "contentType": declared.content_type,
            "size": declared.size,
        }
        try:
            item = self.items.add_as(user_id, file_id, values)
        except QuotaExceeded:
            self._objects.delete(target)
            raise
        self._drop(staged)
        return item

    def url(self, user_id: str, file_id: str) -> SignedUrl:
        self.items.get(user_id, file_id)  # NotFound for anyone else's file
        return self._objects.signed_url(user_id, file_key(user_id, file_id), self.rules.url_seconds)

    def remove(self, user_id: str, file_id: str) -> None:
        """The object first, then the item: a failure in between leaves an item whose remove
        can be repeated, never an object no item names."""
        if self.items.get_or_none(user_id, file_id) is None:
            raise NotFound("no such item")
        self._objects.delete(file_key(user_id, file_id))
        self.items.remove(user_id, file_id)

    def _mismatch(self, declared: Declared | None, size: int, content_type: str) -> str:
        if declared is None:
            return "it carries no declaration"
        if size != declared.size:
            return f"{size} bytes, declared {declared.size}"
        if content_type != declared.content_type:
            return f"type {content_type!r}, declared {declared.content_type!r}"
        if content_type not in self.rules.content_types or size > self.rules.max_file_bytes:
            return "its type or size is not one this collection takes"
        return ""

    def _check_quota(self, user_id: str, size: int) -> None:
        if not 1 <= size <= self.rules.max_file_bytes:
            raise QuotaExceeded(f"a file must hold 1 to {self.rules.max_file_bytes} bytes")
        count, used = 0, 0
        for item in self.items.every_item(user_id):
            count += 1
            size_held = item.values.get("size")
            used += size_held if isinstance(size_held, int) else 0
        if count >= self.items.quota:
            raise QuotaExceeded(f"a user may keep at most {self.items.quota} files")
        if used + size > self.rules.quota_bytes:
            raise QuotaExceeded(
                f"{used} of {self.rules.quota_bytes} bytes are used: {size} more do not fit"
            )

    def _drop(self, key: str) -> None:
        try:
            self._objects.delete(key)
        except MiniAppError as exc:  # the lifecycle rule removes it a day later
            log.warning("a committed upload stays until the lifecycle rule: %s", exc.message)

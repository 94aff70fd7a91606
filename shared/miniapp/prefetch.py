"""The rows an invocation read ahead, with the session row: its unit of work's reads.

A command names the rows it reads first (`FirstRead`); on a warm instance the session resolution
reads them in the session row's request (services/sessions.py) and keeps them here for the
invocation. The adapters' reads of those rows (`row`, `tally`) then answer from here instead of
asking storage. Each is answered once: a later read of the same row (an update's retry, a
recount, an adapter's check after a conditional write) asks storage, as the row may have changed
since.

It also keeps the session the invocation resolved (`caller`): a service that needs more of the
caller than the user id (the buyer of a trade, as Alipay named them at login) takes it from here
rather than from anything the client sent.

Ambient (a context variable), as `deadline`: the SDK-facing adapters are where reads happen, and
no service signature changes with it. Outside an open `invocation` nothing is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from .domain.records import ReadAhead, Row, SessionRecord, Tally


@dataclass
class _Kept:
    """One invocation's reads, keyed by the user they belong to as well."""

    tallies: dict[tuple[str, str], Tally | None] = field(default_factory=dict)
    rows: dict[tuple[str, str, str], Row | None] = field(default_factory=dict)
    caller: SessionRecord | None = None


_current: ContextVar[_Kept | None] = ContextVar("miniapp_prefetch", default=None)


@contextmanager
def invocation() -> Iterator[None]:
    """One invocation's scope: what is kept inside it is gone when it ends."""
    token = _current.set(_Kept())
    try:
        yield
    finally:
        _current.reset(token)


def keep(user_id: str, read: ReadAhead) -> None:
    """Keep what was read with the session row, for the rest of this invocation."""
    kept = _current.get()
    if kept is None:
        return
    kept.tallies.update({(user_id, scope): t for scope, t in read.tallies.items()})
    kept.rows.update({(user_id, scope, item_id): r for (scope, item_id), r in read.rows.items()})


def keep_caller(record: SessionRecord) -> None:
    """The session this invocation resolved (DbApp.handle)."""
    kept = _current.get()
    if kept is not None:
        kept.caller = record


def caller() -> SessionRecord | None:
    """The session this invocation resolved, None outside one."""
    kept = _current.get()
    return None if kept is None else kept.caller


def row(user_id: str, scope: str, item_id: str, read: Callable[[], Row | None]) -> Row | None:
    """The row read ahead (once), else `read()`."""
    kept = _current.get()
    key = (user_id, scope, item_id)
    if kept is not None and key in kept.rows:
        return kept.rows.pop(key)
    return read()


def tally(user_id: str, scope: str, read: Callable[[], Tally | None]) -> Tally | None:
    """The tally read ahead (once), else `read()`."""
    kept = _current.get()
    key = (user_id, scope)
    if kept is not None and key in kept.tallies:
        return kept.tallies.pop(key)
    return read()


def row_was_there(user_id: str, scope: str, item_id: str) -> bool | None:
    """Whether the row existed when read ahead (once, as `row`); None if it was not read."""
    kept = _current.get()
    key = (user_id, scope, item_id)
    if kept is None or key not in kept.rows:
        return None
    return kept.rows.pop(key) is not None

"""When Python's cyclic garbage collector runs: paused while a handler imports and builds its app
(then what was built is frozen: it lives as long as the instance), and while a request builds a
large answer of plain data (a 2020 list: no cycles, many survivors). One module, so that a pause
of one kind never ends a pause of the other. Pauses nest and may overlap across threads:
collection resumes when the last one ends, and only if it was enabled when the first began.
docs/design/gc-pause.md has the measurements behind both pauses.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_resume = False


@contextmanager
def paused() -> Iterator[None]:
    global _holders, _resume
    with _lock:
        if _holders == 0:
            _resume = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _resume:
                gc.enable()


def hold_for_start() -> None:
    """No collection from the handler's first import to the end of its first app build."""
    gc.disable()


@contextmanager
def building() -> Iterator[None]:
    """An app build: paused, then everything built so far frozen and collection resumed (ending
    the start-up hold), whether the build succeeded or not; under a request's pause, only once
    that pause ends."""
    global _resume
    try:
        with paused():
            yield
    finally:
        with _lock:
            gc.freeze()
            if _holders == 0:
                gc.enable()
            else:
                _resume = True


def thaw() -> None:
    """Before a rebuild: collect what the last build froze (a frozen object is never collected)."""
    gc.unfreeze()
    gc.collect()

"""When Python's cyclic garbage collector runs: paused while a handler imports and builds its app
(then what was built is frozen), and while a request builds a large answer of plain data. One
module, so that a pause of one kind never ends a pause of the other.

Start-up (issue 10, cold start). The handlers call `hold_for_start` before their imports, and
`AppCache` builds inside `building`: the SDKs' modules and the app live as long as the instance,
so collecting them again and again finds nothing (3% of a db cold start's instructions on
python3.10 here). After a build they are set aside for good (`gc.freeze`); reference counting
still frees what is dropped, and a rebuild (new service-role credentials) first collects what the
last build froze (`thaw`): a collection service holds its own bound method, and with it an SDK
client and its connections, which would otherwise stay for the instance's life, one app per
rotation.

Answers.
Why: a 2020 `list` of 10,000 rows creates some 100,000 container objects (the SDK's rows, our
items and objects) that all stay alive until the answer is sent. CPython starts a collection
every few hundred new containers, and as these survivors pile up its older-generation passes
traverse them again and again, finding nothing: in the packaged db function that was more CPU
than decoding and encoding the rows together. Nothing the list builds holds a reference cycle,
so reference counting frees all of it; collection resumes afterwards.

Pauses nest and may overlap across threads (an instance may serve several requests at once):
collection resumes when the last one ends, and only if it was enabled when the first began.
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

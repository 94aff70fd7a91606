"""Pausing Python's cyclic garbage collector while a request builds a large answer of plain data.

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

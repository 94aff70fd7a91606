"""The declared collections: each module of this folder declares one `Collection` (see
domain/schema.py and docs/extending.md), and `REGISTERED` names the modules the db function
serves. Adding a collection is one file here and one line below; nothing else changes.
"""
from __future__ import annotations

import importlib

from ..domain.schema import Collection

REGISTERED = (
    "todos",
)


def declared(names: tuple[str, ...] = REGISTERED) -> tuple[Collection, ...]:
    """The declarations, in registration order. Each module exposes its declaration as
    `COLLECTION`; its name must be the module's name, so the registry line says what it serves."""
    found = []
    for name in names:
        collection = importlib.import_module(f"{__name__}.{name}").COLLECTION
        if not isinstance(collection, Collection) or collection.name != name:
            raise ValueError(f"{__name__}.{name}.COLLECTION must be a Collection named {name!r}")
        found.append(collection)
    return tuple(found)

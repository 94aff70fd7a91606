"""The declared collections: each module of this folder declares one `Collection` (see
domain/schema.py and docs/extending.md), and `REGISTERED` names the modules the db function
serves. Adding a collection is one file here and one line below; nothing else changes.
"""

from __future__ import annotations

import importlib

from ..config import ConfigError
from ..domain.schema import Collection, DeclarationError

REGISTERED = (
    "todos",
    "orders",
    "files",
    # one line per collection module (docs/extending.md)
)


REGISTRY_FILE = "shared/miniapp/collections/__init__.py"


class DeclarationsInvalid(ConfigError):
    """A registered declaration cannot be served; `problems` names each broken rule as
    `file: field: rule`."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        super().__init__(
            "the collection declarations break their rules: " + "; ".join(problems), problems
        )


def declared(names: tuple[str, ...] = REGISTERED) -> tuple[Collection, ...]:
    """The declarations, in registration order. Each module exposes its declaration as
    `COLLECTION`; its name must be the module's name, so the registry line says what it serves.
    Raises DeclarationsInvalid naming every problem of every module at once."""
    found, problems = [], []
    for name in names:
        collection, broken = _load(name)
        problems += broken
        if collection is not None:
            found.append(collection)
    if len(set(names)) != len(names):
        problems.append(f"{REGISTRY_FILE}: REGISTERED: a name is listed twice")
    if problems:
        raise DeclarationsInvalid(tuple(problems))
    return tuple(found)


def problems(names: tuple[str, ...] = REGISTERED) -> tuple[str, ...]:
    """Every broken rule of the registered declarations (none: they can be served)."""
    try:
        declared(names)
    except DeclarationsInvalid as exc:
        return exc.problems
    return ()


def _load(name: str) -> tuple[Collection | None, list[str]]:
    where = f"shared/miniapp/collections/{name}.py"
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except DeclarationError as exc:
        return None, [f"{where}: COLLECTION.{problem}" for problem in exc.problems]
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            return None, [f"{where}: {type(exc).__name__}: {exc}"]
        return None, [f"{REGISTRY_FILE}: REGISTERED: names {name!r}, but {where} does not exist"]
    except Exception as exc:  # noqa: BLE001 - whatever the module raises is its problem to name
        return None, [f"{where}: {type(exc).__name__}: {exc}"]
    collection = getattr(module, "COLLECTION", None)
    if not isinstance(collection, Collection):
        return None, [f"{where}: COLLECTION: must be a Collection"]
    if collection.name != name:
        return None, [
            f"{where}: COLLECTION.name: {collection.name!r} must equal the module name {name!r}"
        ]
    return collection, []

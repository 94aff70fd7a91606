"""Stand-ins for two dependencies of the tablestore SDK that the packages leave out
(functions/*/excludes.txt), because only SDK features the functions never use need them.

`import tablestore` imports, at module level:
- `aiohttp`, for `AsyncOTSClient`'s transport (`tablestore.connection`): 0.36 s of a db cold
  start's 0.56 s of imports on python3.10 here, with its seven dependencies;
- `crc32c`, to checksum time-series rows (`tablestore.encoder`): 38 ms more, most of it the
  `importlib.metadata` and `argparse` its own `__init__` imports.

We do not patch the SDK. The packages do not carry these distributions, and this module puts a
stand-in under each name first, holding only the names the SDK refers to. Using one (building an
`AsyncOTSClient`, writing a time-series row) raises at once with a message that says why, so
nothing can silently run on it. Where the real distribution is installed (the developer's
virtualenv) it is left alone.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

_WHY = (
    "is not in this package: the functions use tablestore's synchronous OTSClient on wide-"
    "column tables only (miniapp/adapters/tablestore/stand_ins.py)"
)
# module -> the names the SDK refers to in it
STAND_INS = {"aiohttp": ("ClientTimeout", "ClientSession", "TCPConnector"), "crc32c": ("crc32c",)}


def _refusing(module: str, name: str) -> type:
    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"{module} {_WHY}")

    return type(name, (), {"__init__": refuse})


def install() -> None:
    """Put each stand-in in place unless that module is imported or importable."""
    for module, names in STAND_INS.items():
        if module in sys.modules or importlib.util.find_spec(module) is not None:
            continue
        stand_in = types.ModuleType(module, f"{module} {_WHY}")
        for name in names:
            setattr(stand_in, name, _refusing(module, name))
        sys.modules[module] = stand_in

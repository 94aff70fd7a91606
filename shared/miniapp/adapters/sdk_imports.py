"""How the adapters import the SDKs. An SDK imports, at the top of its modules, code for features
the functions never use; every cold start would pay for it. The SDKs are not patched: around
their import (`with lean():`) four lists below say what happens instead, each entry naming the
feature it serves (docs/speed.md says what each saves).

- DEFERRED: a module the package carries (or the standard library has) that one SDK module
  imports and uses only on a feature's path. It is created at once and runs when something
  first reads one of its attributes (`importlib.util.LazyLoader`): an instance that never takes
  that path never runs it, one that does gets the real module. Only a module imported once
  qualifies: on Python 3.10 importing a lazy module a second time runs it (`import` reads its
  `__spec__`).
- REFUSED: an optional import an SDK tries and falls back from: it raises ImportError, and the
  SDK takes the fallback it documents.
- STAND_INS: a distribution the packages leave out (functions/*/excludes.txt): a module holding
  the names the SDK takes from it, each refusing loudly when used. Only where it is absent.
- PACKAGE_STAND_INS: a package whose `__init__` alone is replaced, the same way; its folder
  stays its `__path__`, so its other modules import as shipped.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

DEFERRED = {
    # tablestore.client: AsyncOTSClient's retry sleep; the functions use the synchronous OTSClient.
    "asyncio": "tablestore's AsyncOTSClient",
    # aliyunsdkcore's signer_factory: the RSA key-pair signer (SHA256withRSA, with cryptography).
    # The functions sign with their role's STS token (HMAC-SHA1, sha_hmac1).
    "aliyunsdkcore.auth.algorithm.sha_hmac256": "aliyun-python-sdk-core's RSA key-pair signer",
    # The vendored requests: guessing a reply's charset (Response.text without one); the SDK
    # reads `Response.content`.
    "aliyunsdkcore.vendored.requests.packages.chardet": "requests' charset guessing",
    # aliyun-python-sdk-core's XML bodies; the adapters ask for JSON (`set_accept_format`).
    "xml.etree.cElementTree": "aliyun-python-sdk-core's XML format",
    # python-alipay-sdk: certificate mode only (`DCAliPay`, the certificates' serial numbers).
    "OpenSSL": "python-alipay-sdk's certificate mode",
}

REFUSED = {
    # requests 2.18 (vendored by aliyun-python-sdk-core) injects pyOpenSSL into its urllib3 when
    # it can import it, for Pythons whose ssl module lacks SNI; python3.10's has it. Refused, the
    # vendored urllib3 uses the standard ssl module, as requests >= 2.24 does wherever ssl has SNI.
    "aliyunsdkcore.vendored.requests.packages.urllib3.contrib.pyopenssl": (
        "requests' pyOpenSSL injection is not used: the standard ssl module has SNI"
    ),
}

_WHY = "miniapp/adapters/sdk_imports.py"

# module -> (why it is not there, the names the SDK takes from it)
STAND_INS = {
    # tablestore.connection: AsyncOTSClient's transport (left out of the packages).
    "aiohttp": (
        "is not in this package: the functions use tablestore's synchronous OTSClient",
        ("ClientTimeout", "ClientSession", "TCPConnector"),
    ),
    # tablestore.encoder: checksums of time-series rows (left out of the packages).
    "crc32c": (
        "is not in this package: the functions write wide-column rows, not time series",
        ("crc32c",),
    ),
}
# Packages whose `__init__` alone is replaced: their folder stays their `__path__`, so their
# other modules import as shipped.
PACKAGE_STAND_INS = {
    # urllib3 (tablestore's transport): `urllib3.http2`'s `__init__` imports importlib.metadata
    # to check h2's version for the HTTP/2 opt-in. h2 is not in the packages and the functions
    # speak HTTP/1.1; `urllib3.http2.probe`, which urllib3.connection imports, loads as shipped.
    "urllib3.http2": (
        "is not used: HTTP/2 needs h2, which is not in this package",
        ("inject_into_urllib3", "extract_from_urllib3"),
    ),
}

_scope = threading.local()


def _refusing(module: str, name: str, why: str) -> type:
    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"{module} {why} ({_WHY})")

    return type(name, (), {"__init__": refuse, "__doc__": f"{module} {why}"})


class _StandInLoader(importlib.abc.Loader):
    def __init__(self, why: str, names: Sequence[str]) -> None:
        self._why = why
        self._names = names

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # the default module, with the spec's attributes (`__path__` included)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__doc__ = f"{module.__name__} {self._why}"
        for name in self._names:
            setattr(module, name, _refusing(module.__name__, name, self._why))


class _Finder(importlib.abc.MetaPathFinder):
    """On the meta path for good; acts only for imports made inside `lean()`, by that thread."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not getattr(_scope, "depth", 0):
            return None
        if fullname in REFUSED:
            raise ImportError(f"{fullname}: {REFUSED[fullname]} ({_WHY})", name=fullname)
        if fullname not in DEFERRED and fullname not in PACKAGE_STAND_INS:
            return None
        spec = _real_spec(self, fullname, path, target)
        if spec is None or spec.loader is None:
            return spec
        if fullname in PACKAGE_STAND_INS:
            shell = importlib.machinery.ModuleSpec(
                fullname, _StandInLoader(*PACKAGE_STAND_INS[fullname]), is_package=True
            )
            shell.submodule_search_locations = spec.submodule_search_locations
            return shell
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def _real_spec(
    finder: _Finder, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None
) -> importlib.machinery.ModuleSpec | None:
    for other in sys.meta_path:
        if other is finder or not hasattr(other, "find_spec"):
            continue
        spec: importlib.machinery.ModuleSpec | None = other.find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


_FINDER = _Finder()
_install_lock = threading.Lock()


def install_stand_ins() -> None:
    """Put the stand-in of each distribution this package leaves out in place, unless the
    distribution is there."""
    for module, (why, names) in STAND_INS.items():
        if module in sys.modules or importlib.util.find_spec(module) is not None:
            continue
        created = types.ModuleType(module)
        _StandInLoader(why, names).exec_module(created)
        sys.modules[module] = created


@contextmanager
def lean() -> Iterator[None]:
    """Import an SDK inside this block: DEFERRED modules are lazy, REFUSED ones raise ImportError,
    the stand-ins are in place."""
    with _install_lock:
        if _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)
        install_stand_ins()
    _scope.depth = getattr(_scope, "depth", 0) + 1
    try:
        yield
    finally:
        _scope.depth -= 1


def is_deferred(module: types.ModuleType) -> bool:
    """Whether `module` was imported lazily and has not run yet. Reads nothing from the module
    (any attribute would run it): LazyLoader gives it a class of its own until then."""
    return type(module).__name__ == "_LazyModule"

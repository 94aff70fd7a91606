"""What a cold instance runs to answer its first request, counted in module files (make bench
times it): the db function's todo path and the session function's login in key mode load only
what they use. What an SDK imports for a feature they never use stays off that path
(miniapp/adapters/sdk_imports.py): deferred, refused or stood in for; what only another path of
the function needs (orders: python-alipay-sdk; files: oss2) is imported on that path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localcloud.miniprogram import MiniProgram
from tests.conftest import ROOT, build_packages

# A module file under one of these folders (of the package or of the standard library) on a cold
# path means something it never uses came back; each says what would bring it.
NEVER_USED = {
    "asyncio": "tablestore's AsyncOTSClient (sdk_imports.DEFERRED)",
    "importlib/metadata": "urllib3.http2's h2 version check (sdk_imports.PACKAGE_STAND_INS)",
    "aliyunsdkcore/vendored/requests/packages/chardet": "requests' charset guessing (DEFERRED)",
    "aliyunsdkcore/auth/algorithm/sha_hmac256.py": "the RSA key-pair signer (DEFERRED)",
    "xml/etree/ElementTree.py": "aliyun-python-sdk-core's XML format (DEFERRED)",
    "aiohttp": "left out of the packages (sdk_imports.STAND_INS)",
    "crc32c": "left out of the packages (sdk_imports.STAND_INS)",
    "OpenSSL": "pyOpenSSL: Alipay's certificate mode only (DEFERRED)",
    "oss2": "the OSS SDK: the db function's files path only",
    "cryptography/hazmat/primitives/serialization": (
        "cryptography's key serialization, with its SSH and X.509 code: the session function's "
        "key check reads the key with pycryptodomex's decoders (adapters/keys.py)"
    ),
}
# What only the db function's other paths use: orders (python-alipay-sdk with pycryptodomex, and
# cryptography in Alipay's certificate mode) and files (OSS, STS).
NOT_ON_THE_TODO_PATH = {
    "alipay": "python-alipay-sdk: orders",
    "Cryptodome": "pycryptodomex, python-alipay-sdk's",
    "cryptography": "Alipay's certificate mode (its certificate); the todo path signs with STS",
    "cffi": "cryptography's",
    "aliyunsdksts": "files",
    "miniapp/adapters/alipay.py": "orders",
}


def _folders(files: set[str], roots: list[Path]) -> set[str]:
    """Each file as its path below the package or the standard library, in `/` form."""
    found = set()
    for file in files:
        path = Path(file).resolve()
        for root in roots:
            if path.is_relative_to(root):
                found.add(path.relative_to(root).as_posix())
    return found


def _loaded_by(found: set[str], folder: str) -> list[str]:
    """The files below `folder` (or the module file `folder` names)."""
    return sorted(f for f in found if f in (folder, f"{folder}.py") or f.startswith(f"{folder}/"))


@pytest.fixture(scope="module")
def cold(local_cloud: Any) -> dict[str, set[str]]:
    """A cold db instance answering a todo list and add; a cold session instance's login."""
    build_packages()
    config = local_cloud.cloud_config()
    app = MiniProgram(config)
    local_cloud.fc.recycle()
    session = app.login()
    assert "items" in app.db(session, "list", v=2)["data"]
    assert app.db(session, "add", v=2, text="cold")["data"]["text"] == "cold"
    stdlib = Path(local_cloud.fc.interpreters["python3.10"].path).resolve().parent.parent
    found = {}
    for function, service, name in (
        ("db", config["serviceName"], config["dbFunctionName"]),
        ("session", config["sessionServiceName"], config["sessionFunctionName"]),
    ):
        files, _ = local_cloud.fc.loaded_modules(service, name)
        roots = [(ROOT / "build" / function).resolve(), *sorted(stdlib.glob("lib/python3.*"))]
        found[function] = _folders(files, roots)
    return found


@pytest.mark.parametrize("folder", sorted({**NEVER_USED, **NOT_ON_THE_TODO_PATH}))
def test_the_db_todo_path_loads_nothing_it_never_uses(cold: dict[str, set[str]], folder) -> None:
    assert _loaded_by(cold["db"], folder) == []


@pytest.mark.parametrize("folder", sorted(NEVER_USED))
def test_a_login_in_key_mode_loads_nothing_it_never_uses(cold: dict[str, set[str]], folder) -> None:
    assert _loaded_by(cold["session"], folder) == []


@pytest.mark.parametrize("function", ["db", "session"])
def test_what_a_cold_path_uses_is_counted(cold: dict[str, set[str]], function: str) -> None:
    """The lists above name real folders: what the path does use is found the same way."""
    assert _loaded_by(cold[function], "tablestore")
    assert _loaded_by(cold[function], "aliyunsdkcore/vendored/requests")
    assert _loaded_by(cold[function], "index") == ["index.py"]
    assert _loaded_by(cold[function], "http/client.py") == ["http/client.py"]
    if function == "session":
        assert _loaded_by(cold[function], "alipay") and _loaded_by(cold[function], "cryptography")

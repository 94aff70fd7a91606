"""`make package` builds what FC's python3.10 runtime can run, and the local cloud runs exactly
that: each function's worker is a Python 3.10 process whose path is the standard library and its
package, nothing else. Each package carries only the distributions its function imports, with
compiled extensions for cp310 manylinux x86_64 and bytecode compiled by 3.10, and its zip is the
folder byte for byte."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from localcloud.miniprogram import MiniProgram
from tests.conftest import ROOT, build_packages
from tests.contract.osskit import upload_file

FUNCTIONS = ("session", "db", "payments")
ELF_X86_64 = 62  # e_machine of an x86-64 ELF file


def _package(function: str) -> Path:
    build_packages()
    return ROOT / "build" / function


def _record_files(dist_info: Path) -> set[Path]:
    base = dist_info.parent
    return {
        (base / line.split(",")[0]).resolve()
        for line in (dist_info / "RECORD").read_text().splitlines()
        if line
    }


def _used_by_a_request(local_cloud: Any) -> dict[str, tuple[set[str], set[str]]]:
    """Log in (session), write and read a todo, open an order, upload and show a file (db); what
    each function's workers imported, and what the db function had imported after the todos
    (`db-todos`) and after the order (`db-orders`)."""
    config = local_cloud.cloud_config()
    app = MiniProgram(config)
    session = app.login()
    local_cloud.fc.recycle()  # a cold db instance, whatever ran before in this process
    session = app.login()
    assert app.db(session, "put", obj={"id": "pkg-probe", "title": "probe"}) == {"data": None}
    assert app.db(session, "get", id="pkg-probe")["data"]["title"] == "probe"
    names = {
        "session": (config["sessionServiceName"], config["sessionFunctionName"]),
        "db": (config["serviceName"], config["dbFunctionName"]),
    }
    todos_only = local_cloud.fc.loaded_modules(*names["db"])
    order = app.db(session, "create", v=2, collection="orders", sku="pro", idempotencyKey="pkg")
    assert order["data"]["status"] == "CREATED", order
    orders_too = local_cloud.fc.loaded_modules(*names["db"])
    _a_file_round_trip(app, session)
    used = {fn: local_cloud.fc.loaded_modules(*names[fn]) for fn in ("session", "db")}
    return {
        **used,
        "payments": _used_by_payments(local_cloud),
        "db-todos": todos_only,
        "db-orders": orders_too,
    }


def _used_by_payments(local_cloud: Any) -> tuple[set[str], set[str]]:
    """The payments package runs two functions: a notify (refused, but the app is built) and
    the operator's list; what their workers imported, together."""
    import json
    import urllib.request

    import fc2

    config = local_cloud.cloud_config()
    request = urllib.request.Request(
        config["notifyUrl"],
        data=b"a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.read() == b"fail"
    client = fc2.Client(
        endpoint=config["fcEndpoint"],
        accessKeyID=config["accessKeyId"],
        accessKeySecret=config["accessKeySecret"],
    )
    listed = client.invoke_function(
        config["ordersServiceName"], config["ordersFunctionName"], payload=b'{"op": "list"}'
    )
    assert "data" in json.loads(listed.data)
    notify_files, notify_path = local_cloud.fc.loaded_modules(
        config["notifyUrl"].rstrip("/").split("/")[-2], "notify"
    )
    orders_files, orders_path = local_cloud.fc.loaded_modules(
        config["ordersServiceName"], config["ordersFunctionName"]
    )
    return notify_files | orders_files, notify_path | orders_path


def _a_file_round_trip(app: MiniProgram, session: Any) -> None:
    """prepareUpload, the form posted to the local OSS, commit and a signed URL: the files path."""
    picture = b"\x89PNG\r\n\x1a\n" + bytes(64)
    committed = upload_file(app, session, "p.png", picture)
    assert committed["size"] == len(picture), committed
    url = app.db(session, "url", v=2, collection="files", id=committed["id"])["data"]["url"]
    assert requests.get(url, timeout=30).content == picture


@pytest.fixture(scope="module")
def used(local_cloud: Any) -> dict[str, tuple[set[str], set[str]]]:
    return _used_by_a_request(local_cloud)


def test_functions_run_on_python_3_10(local_cloud: Any) -> None:
    interpreter = local_cloud.fc.interpreters["python3.10"]
    assert interpreter.version.startswith("3.10.")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_worker_imports_from_its_package_and_the_standard_library_only(
    used: dict[str, tuple[set[str], set[str]]], local_cloud: Any, function: str
) -> None:
    files, path = used[function]
    package = _package(function)
    stdlib = Path(local_cloud.fc.interpreters["python3.10"].path).resolve().parent.parent
    runtime = ROOT / "local" / "localcloud" / "fc"
    assert str(package) in path
    assert all(p == str(package) or Path(p).resolve().is_relative_to(stdlib) for p in path), path
    assert str(package / "index.py") in files
    strays = [
        f
        for f in files
        if not (
            Path(f).is_relative_to(package)
            or Path(f).resolve().is_relative_to(stdlib)
            or Path(f).parent == runtime
        )
    ]
    assert strays == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_package_holds_no_distribution_its_function_never_imports(
    used: dict[str, tuple[set[str], set[str]]], function: str
) -> None:
    loaded = {Path(f).resolve() for f in used[function][0]}
    dists = sorted(_package(function).glob("*.dist-info"))
    unused = [d.name for d in dists if not _record_files(d) & loaded]
    # pyOpenSSL (and typing_extensions, which only it imports here) runs in Alipay's certificate
    # mode only (miniapp/adapters/sdk_imports.py, DEFERRED); these requests are in key mode, and
    # tests/e2e/test_alipay_certificates.py proves certificate mode runs it. The db and payments
    # functions use cryptography (with cffi's backend) only there too, to read Alipay's public
    # key certificate (adapters/keys.certificate_pem): the key check reads the app's private key
    # with pycryptodomex. The session function seals Alipay's tokens with it in either mode.
    certificate_mode: tuple[str, ...] = ("pyopenssl-", "typing_extensions-")
    if function != "session":
        certificate_mode += ("cryptography-", "cffi-")
    assert dists and [d for d in unused if not d.startswith(certificate_mode)] == []


def test_db_carries_no_fc_sdk_or_numpy() -> None:
    # aliyun-python-sdk-core (and the cryptography it declares) came with KMS: the db function
    # reads its hash key with aliyun-python-sdk-kms. python-alipay-sdk opens orders' trades;
    # oss2 and aliyun-python-sdk-sts serve users' files (the files role, assumed per user).
    names = {d.name.split("-")[0].lower() for d in _package("db").glob("*.dist-info")}
    assert names.isdisjoint({"aliyun_fc2", "numpy"}), names
    assert {"oss2", "aliyun_python_sdk_sts"} <= names, names
    assert not (_package("db") / "numpy").exists()


def test_todos_never_import_the_alipay_sdk(used: dict[str, tuple[set[str], set[str]]]) -> None:
    """The db function's todo path (a cold start, a put, a get) loads no Alipay SDK: only an
    order does (`_used_by_a_request` makes one after)."""
    before_orders = used["db-todos"][0]
    assert not [f for f in before_orders if "/alipay/" in f or "Cryptodome" in f]
    assert [f for f in used["db"][0] if "/alipay/" in f]


# What only the files path may load: oss2, what it brings (requests and its helpers, crcmod,
# pycryptodome) and the STS SDK. Counted by module file, not timed.
_FILES_ONLY = ("oss2", "requests", "charset_normalizer", "idna", "crcmod", "Crypto", "aliyunsdksts")


def _files_modules(files: set[str]) -> list[str]:
    """The module files of `files` from the files path's distributions (top-level packages of
    the db package: aliyunsdkcore's vendored requests is not the requests distribution)."""
    package = _package("db")
    inside = [Path(f).relative_to(package) for f in files if Path(f).is_relative_to(package)]
    return sorted(str(f) for f in inside if f.parts[0].split(".")[0] in _FILES_ONLY)


def test_todos_and_orders_never_import_oss2(used: dict[str, tuple[set[str], set[str]]]) -> None:
    """A cold db instance serving todos, then an order, imports none of the files path's
    distributions (the cold start of a todo stays what it was); a file's round trip does."""
    assert _files_modules(used["db-todos"][0]) == []
    assert _files_modules(used["db-orders"][0]) == []
    loaded = _files_modules(used["db"][0])
    assert any(m.startswith("oss2/") for m in loaded), loaded
    assert any(m.startswith("requests/") for m in loaded), loaded


def test_db_works_without_numpy(local_cloud: Any) -> None:
    assert not (_package("db") / "numpy").exists()
    app = MiniProgram(local_cloud.cloud_config())
    session = app.login()
    assert app.db(session, "put", obj={"id": "n1", "title": "no numpy"}) == {"data": None}
    assert app.db(session, "list")["data"] == [{"id": "n1", "title": "no numpy"}]


def _wheel_tags(dist_info: Path) -> list[str]:
    return [
        line.split(":", 1)[1].strip()
        for line in (dist_info / "WHEEL").read_text().splitlines()
        if line.startswith("Tag:")
    ]


def _runs_on_cp310_manylinux2014_x86_64(tag: str) -> bool:
    python, abi, platform = tag.split("-")
    if platform == "any":
        return abi == "none" and python in ("py3", "py2.py3")
    version = int(python.removeprefix("cp3"))
    good_abi = abi == "cp310" if python == "cp310" else (abi == "abi3" and version <= 10)
    glibc = {"manylinux1_x86_64": 5, "manylinux2010_x86_64": 12, "manylinux2014_x86_64": 17}
    minor = (
        glibc.get(platform)
        if platform in glibc
        else (
            int(platform.split("_")[2])
            if platform.startswith("manylinux_2_") and platform.endswith("_x86_64")
            else None
        )
    )
    return good_abi and minor is not None and minor <= 17


@pytest.mark.parametrize("function", FUNCTIONS)
def test_compiled_distributions_are_built_for_cp310_manylinux_x86_64(function: str) -> None:
    for dist in _package(function).glob("*.dist-info"):
        tags = _wheel_tags(dist)
        # py2-none-any wheels of pure-Python SDKs (aliyun-python-sdk-*) also say py3 elsewhere.
        assert any(
            _runs_on_cp310_manylinux2014_x86_64(t) for t in tags if not t.startswith("py2-")
        ) or tags == ["py2-none-any"], (dist.name, tags)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_compiled_extension_is_x86_64_linux_for_cpython_3_10(function: str) -> None:
    extensions = list(_package(function).rglob("*.so"))
    assert extensions
    for path in extensions:
        header = path.read_bytes()[:20]
        assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == ELF_X86_64, (
            path
        )
        tag = path.name.split(".")[1:-1]  # foo.cpython-310-x86_64-linux-gnu.so -> the middle
        assert tag in ([], ["abi3"], ["cpython-310-x86_64-linux-gnu"]), path


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_compiled_extension_loads_on_python_3_10(local_cloud: Any, function: str) -> None:
    package = _package(function)
    # Only Python extension modules (they export PyInit_<name>); pycryptodomex's .so files
    # are plain libraries it opens with ctypes.
    modules = sorted(
        ".".join(p.relative_to(package).parts[:-1] + (p.name.split(".")[0],))
        for p in package.rglob("*.so")
        if f"PyInit_{p.name.split('.')[0]}".encode() in p.read_bytes()
    )
    assert modules
    # The stand-ins first, as the functions install them: tablestore's package imports the
    # crc32c and aiohttp the packages leave out (miniapp/adapters/sdk_imports.py).
    probe = (
        "import importlib, sys\nsys.path.insert(0, sys.argv[1])\n"
        "from miniapp.adapters import sdk_imports\nsdk_imports.install_stand_ins()\n"
        "for name in sys.argv[2:]:\n    importlib.import_module(name)\nprint('ok')"
    )
    python = local_cloud.fc.interpreters["python3.10"].path
    result = subprocess.run(
        [python, "-I", "-S", "-B", "-c", probe, str(package), *modules],
        capture_output=True,
        text=True,
        cwd=package,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_module_carries_bytecode_compiled_by_3_10_unchecked(function: str) -> None:
    package = _package(function)
    sources = [p for p in package.rglob("*.py")]
    missing = [
        p for p in sources if not (p.parent / "__pycache__" / f"{p.stem}.cpython-310.pyc").exists()
    ]
    assert sources and missing == []
    for source in sources[:50]:
        pyc = (source.parent / "__pycache__" / f"{source.stem}.cpython-310.pyc").read_bytes()
        # PEP 552 flags: bit 0 hash-based, bit 1 check_source; unchecked-hash is 0b01.
        assert int.from_bytes(pyc[4:8], "little") == 0b01, source


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_zip_is_the_package_byte_for_byte(function: str) -> None:
    package = _package(function)
    files = {p.relative_to(package).as_posix(): p for p in package.rglob("*") if p.is_file()}
    with zipfile.ZipFile(ROOT / "build" / f"{function}.zip") as archive:
        assert sorted(archive.namelist()) == sorted(files)
        for name, path in files.items():
            assert archive.read(name) == path.read_bytes(), name


def test_template_code_objects_name_the_built_packages() -> None:
    # `OssObjectName: session.zip` is build/session.zip, build/session zipped (make deploy
    # uploads it; the local cloud runs the folder).
    resources = yaml.safe_load((ROOT / "template.yml").read_text())["Resources"]
    objects = {
        r["Properties"]["Code"]["OssObjectName"]
        for r in resources.values()
        if r["Type"] == "ALIYUN::FC::Function"
    }
    assert objects == {f"{function}.zip" for function in FUNCTIONS}
    for function in FUNCTIONS:
        assert (_package(function) / "index.py").exists()
        assert (ROOT / "build" / f"{function}.zip").exists()


def test_packages_leave_out_the_local_cloud_and_tests() -> None:
    for function in FUNCTIONS:
        names = {p.name for p in _package(function).iterdir()}
        assert "localcloud" not in names and "tests" not in names, names

"""`make package`: build each function's code package for FC's `python3.10` runtime, where
template.yml's CodeUri points (build/session, build/db), and its deployable zip (build/<fn>.zip,
byte for byte the folder's content).

A package holds the function's handler, the shared library (`miniapp`) and the distributions its
lock file pins (functions/<fn>/requirements.lock), installed for CPython 3.10 on manylinux
x86_64 whatever Python runs this script: `uv` resolves and picks wheels for that target
(`--python-version 3.10 --python-platform x86_64-manylinux2014`), so environment markers and
compiled extensions are 3.10's, not the host's. Distributions published as source only
(aliyun-log-python-sdk, python-alipay-sdk) are pure Python: they are built into wheels here
once (cached in build/_wheels) and installed like the others.

Every module is compiled to bytecode by a Python 3.10 interpreter (found as the local cloud
finds it, see localcloud/fc/interpreters.py), so no FC instance compiles at cold start.

`make lock` (`--lock`) re-resolves functions/<fn>/requirements.in into the committed lock
(excluding what functions/<fn>/excludes.txt names); `make package` installs exactly the lock.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
WHEELS = BUILD / "_wheels"
SITES = BUILD / "_site"
FUNCTIONS = ("session", "db", "payments")
RUNTIME = "python3.10"  # template.yml's Runtime for every function
TARGET = ("--python-version", "3.10", "--python-platform", "x86_64-manylinux2014")
# No wheel on PyPI; all four are pure Python, so a wheel built by any Python 3 serves 3.10.
SOURCE_ONLY = {"aliyun-fc2", "aliyun-log-python-sdk", "python-alipay-sdk", "oss2"}
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")
# FC unpacks the code package into /code; compiled modules name their source there.
FC_CODE_DIR = "/code"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same package gives the same zip
# Files and folders of a wheel left out of the package: those that cannot load on FC's python3.10
# (their SDK falls back to pure Python without them, as it does wherever they fail to load), and
# one whose mere presence costs every cold start while its importer has a fallback.
PRUNE = {
    # tablestore's C++ codec: needs symbols CPython 3.10 does not export (PyObject_Vectorcall).
    "tablestore/ots_sdk/ots_sdk.so",
    # tablestore ships a macOS arm64 build of its plain-buffer helper in the same wheel.
    "tablestore/native/native_plainbuffer.cpython-313-darwin.so",
    # cffi's Python half (session). cryptography needs only cffi's `_cffi_backend` extension,
    # which stays. The only importer of `cffi/` itself would be pycryptodomex (python-alipay-sdk),
    # which prefers cffi when it can import it and then parses its C declarations with pycparser
    # at every cold start (about 0.1 s on python3.10 here); without it pycryptodomex
    # opens the very same native libraries with ctypes, its documented fallback. pycparser is
    # left out of the lock (functions/session/excludes.txt).
    "cffi",
    # pycryptodome's own test suite (db, for oss2): 3.5 MB nothing imports.
    "Crypto/SelfTest",
}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


class PackageError(Exception):
    """The packages cannot be built as asked; the message says what to do."""


# Run in a fresh interpreter with this tree's shared/ first on the path: the script's own
# interpreter may import miniapp from another checkout (the venv's editable install).
_CHECK = (
    "import sys\nfrom miniapp.collections import problems\nfound = problems()\n"
    "print('\\n'.join(found))\nsys.exit(1 if found else 0)\n"
)


def check_declarations(shared: Path) -> None:
    """The collection declarations under `shared/` as the db function will load them, checked
    before anything is built: a package whose declarations fail never replaces a good one."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(shared), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    result = subprocess.run([sys.executable, "-c", _CHECK], env=env, capture_output=True, text=True)
    if result.returncode:
        found = (
            result.stdout.strip().splitlines()
            or (result.stderr.strip().splitlines() or ["the check failed with no output"])[-1:]
        )
        raise PackageError(
            "the collection declarations break their rules, nothing was built:\n"
            + "\n".join(f"  {line}" for line in found)
        )


def _uv(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "uv", *args], check=True)


def _inputs_digest(name: str) -> str:
    folder = ROOT / "functions" / name
    digest = hashlib.sha256()
    for file in ("requirements.in", "excludes.txt"):
        path = folder / file
        digest.update(file.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    return digest.hexdigest()


def lock(name: str) -> None:
    """Resolve the function's requirements.in for the target runtime into requirements.lock."""
    folder = ROOT / "functions" / name
    out = folder / "requirements.lock"
    excludes = folder / "excludes.txt"
    _uv(
        "pip",
        "compile",
        "--quiet",
        *TARGET,
        "--custom-compile-command",
        "make lock",
        *(["--excludes", str(excludes)] if excludes.exists() else []),
        str(folder / "requirements.in"),
        "-o",
        str(out),
    )
    text = out.read_text()
    out.write_text(f"# inputs-sha256: {_inputs_digest(name)}\n{text}")


def _pins(name: str) -> list[tuple[str, str]]:
    """(name, version) of each distribution the function's lock pins; refuses a stale lock."""
    path = ROOT / "functions" / name / "requirements.lock"
    if not path.exists():
        raise PackageError(f"{path.relative_to(ROOT)} is missing: run `make lock`")
    text = path.read_text()
    if not text.startswith(f"# inputs-sha256: {_inputs_digest(name)}\n"):
        raise PackageError(
            f"functions/{name}/requirements.in or excludes.txt changed since "
            f"{path.relative_to(ROOT)} was made: run `make lock`"
        )
    return [(m.group(1).lower(), m.group(2)) for m in map(_PIN.match, text.splitlines()) if m]


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _build_source_only_wheels(pins: list[tuple[str, str]]) -> None:
    for dist, version in pins:
        if dist not in SOURCE_ONLY or list(WHEELS.glob(f"{_normalized(dist)}-{version}-*.whl")):
            continue
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--disable-pip-version-check",
                "--wheel-dir",
                str(WHEELS),
                f"{dist}=={version}",
            ],
            check=True,
        )


def _install(name: str, pins: list[tuple[str, str]]) -> Path:
    """pip install --target for 3.10 manylinux, once per lock content (the stamp holds it)."""
    target = SITES / name
    lockfile = ROOT / "functions" / name / "requirements.lock"
    digest = hashlib.sha256(lockfile.read_bytes()).hexdigest()
    stamp = SITES / f".{name}.lock-sha256"
    if target.exists() and stamp.exists() and stamp.read_text() == digest:
        return target
    _build_source_only_wheels(pins)
    shutil.rmtree(target, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    # --no-deps: the lock is the complete list (excludes.txt says what is left out and why).
    _uv(
        "pip",
        "install",
        "--quiet",
        "--target",
        str(target),
        *TARGET,
        "--only-binary",
        ":all:",
        "--no-deps",
        "--no-compile",
        "--find-links",
        str(WHEELS),
        "--python",
        sys.executable,
        "-r",
        str(lockfile),
    )
    stamp.write_text(digest)
    return target


def _fingerprint(name: str, python_version: str) -> str:
    """What a package is built from: handler, shared library, lock, this script, the compiler."""
    digest = hashlib.sha256(python_version.encode())
    sources = [
        *(ROOT / "functions" / name).rglob("*"),
        *(ROOT / "shared" / "miniapp").rglob("*"),
        Path(__file__),
    ]
    for path in sorted(p for p in sources if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _compile(python: str, folder: Path) -> None:
    """Bytecode from the runtime's own Python (a .pyc is specific to its minor version).
    unchecked-hash: the .pyc is used without looking at the source's mtime, which a zip keeps
    only to 2 seconds in local time, so timestamp-checked .pyc would all look stale once FC
    unpacks the zip (and /code is read-only: recompiled at every cold start). The package is
    immutable once built, so nothing can make a .pyc disagree with its source."""
    subprocess.run(
        [
            python,
            "-I",
            "-S",
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(folder),
            "-p",
            FC_CODE_DIR,
            str(folder),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _zip(folder: Path, dest: Path) -> None:
    """The deployable artifact: the folder's files, in order, with fixed times."""
    tmp = dest.with_name(f".{dest.name}.new-{os.getpid()}")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), _ZIP_DATE)
                info.external_attr = (0o100644 if not os.access(path, os.X_OK) else 0o100755) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    os.replace(tmp, dest)


def build_function(name: str, python: str, python_version: str) -> Path:
    """Build into a fresh folder, then swap it in: a local cloud running the old package never
    sees a half-written one."""
    final = BUILD / name
    fingerprint = _fingerprint(name, python_version)
    stamp = BUILD / f".{name}.fingerprint"  # beside the package: not part of what is deployed
    if (
        final.exists()
        and (BUILD / f"{name}.zip").exists()
        and stamp.exists()
        and stamp.read_text() == fingerprint
    ):
        return final
    site = _install(name, _pins(name))
    out = BUILD / f".{name}.new-{os.getpid()}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for src in sorted((ROOT / "functions" / name).glob("*.py")):
        shutil.copy2(src, out / src.name)
    shutil.copytree(ROOT / "shared" / "miniapp", out / "miniapp", ignore=IGNORE)
    for entry in sorted(site.iterdir()):
        if entry.name == "bin":  # console scripts: nothing on FC runs them
            continue
        if entry.is_dir():
            shutil.copytree(entry, out / entry.name, ignore=IGNORE)
        else:
            shutil.copy2(entry, out / entry.name)
    for relative in PRUNE:
        if (out / relative).is_dir():
            shutil.rmtree(out / relative)
        else:
            (out / relative).unlink(missing_ok=True)
    _compile(python, out)
    old = BUILD / f".{name}.old-{os.getpid()}"
    stamp.unlink(missing_ok=True)
    if final.exists():
        final.rename(old)
    out.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    _zip(final, BUILD / f"{name}.zip")
    stamp.write_text(fingerprint)
    return final


def describe(name: str) -> str:
    folder = BUILD / name
    files = [f for f in folder.rglob("*") if f.is_file()]
    dists = sorted(d.name.split("-")[0] for d in folder.glob("*.dist-info"))
    return (
        f"packaged build/{name}: {sum(f.stat().st_size for f in files) / 1e6:.1f} MB "
        f"unpacked, {len(files)} files; build/{name}.zip "
        f"{(BUILD / f'{name}.zip').stat().st_size / 1e6:.1f} MB; "
        f"{len(dists)} distributions: {', '.join(dists)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build each function's code package for FC's python3.10 under build/ "
        "(build/<fn>/ and build/<fn>.zip, where template.yml's CodeUri points).",
    )
    parser.add_argument(
        "--lock",
        action="store_true",
        help="re-resolve functions/*/requirements.in into requirements.lock "
        "instead (default: build the packages from the locks)",
    )
    args = parser.parse_args(argv)
    BUILD.mkdir(exist_ok=True)
    # One builder at a time (make and a test run may both ask for a build).
    with open(BUILD / ".lock", "w") as lockfile:
        fcntl.flock(lockfile, fcntl.LOCK_EX)
        if args.lock:
            for name in FUNCTIONS:
                lock(name)
                print(f"locked functions/{name}/requirements.lock")
            return 0
        from localcloud.fc.interpreters import NoMatchingPython, find_python

        try:
            check_declarations(ROOT / "shared")
            python = find_python(RUNTIME)
            for name in FUNCTIONS:
                build_function(name, python.path, python.version)
                print(describe(name))
        except (NoMatchingPython, PackageError) as exc:
            print(f"make package: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

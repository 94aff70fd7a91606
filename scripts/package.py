"""`make package`: build the code package FC needs for each function, where template.yml's
CodeUri points (build/session, build/db).

Each package holds the function's handler, the shared library (`miniapp`) and the pure-Python
distributions of requirements.txt. A wheel's compiled extensions are built for this machine's
Python and would not load in FC's runtime, so:
- distributions whose extensions are optional accelerators (they fall back to pure Python) are
  bundled with the extensions removed, so the same code runs here and on FC;
- distributions that need their extensions are not bundled: they are listed in
  `RUNTIME_PROVIDED.txt` in each package, for FC's runtime or a layer built for it to provide.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from importlib.metadata import Distribution
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
DEPS = BUILD / "_deps"
FUNCTIONS = ("session", "db")
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", *(f"*{s}" for s in COMPILED_SUFFIXES))
# Extensions that are only accelerators: each package imports a pure-Python fallback without them.
OPTIONAL_NATIVE = {"tablestore", "protobuf", "aiohttp", "yarl", "multidict", "frozenlist",
                   "propcache", "charset-normalizer"}


def _install_deps() -> None:
    """pip install --target once per requirements.txt content (the stamp holds its hash)."""
    requirements = ROOT / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = DEPS / ".requirements-sha256"
    if stamp.exists() and stamp.read_text() == digest:
        return
    shutil.rmtree(DEPS, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(DEPS),
            "-r",
            str(requirements),
        ],
        check=True,
    )
    stamp.write_text(digest)


def _distributions() -> list[Distribution]:
    return list(Distribution.discover(path=[str(DEPS)]))


def _is_compiled(dist: Distribution) -> bool:
    return any(str(f).endswith(COMPILED_SUFFIXES) for f in dist.files or [])


def _top_level_paths(dist: Distribution) -> set[Path]:
    """The package folders, modules and metadata folder a distribution installed."""
    tops: set[Path] = set()
    for f in dist.files or []:
        parts = Path(str(f)).parts
        if not parts or parts[0] in ("..", "bin") or parts[0].endswith(".data"):
            continue
        tops.add(DEPS / parts[0])
    return {p for p in tops if p.exists()}


def _copy(src: Path, dest_dir: Path) -> None:
    dest = dest_dir / src.name
    if src.is_dir():
        shutil.copytree(src, dest, ignore=IGNORE, dirs_exist_ok=True)
    elif not src.name.endswith(COMPILED_SUFFIXES):
        shutil.copy2(src, dest)


def _fingerprint(name: str) -> str:
    """What a package is built from: its handler, the shared library and the dependencies."""
    digest = hashlib.sha256((DEPS / ".requirements-sha256").read_bytes())
    sources = [*(ROOT / "functions" / name).rglob("*"), *(ROOT / "shared" / "miniapp").rglob("*"),
               Path(__file__)]
    for path in sorted(p for p in sources if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_function(name: str, dists: list[Distribution]) -> Path:
    """Build into a fresh folder, then swap it in: a local cloud running the old package never
    sees a half-written one."""
    final = BUILD / name
    fingerprint = _fingerprint(name)
    stamp = final / ".fingerprint"
    if stamp.exists() and stamp.read_text() == fingerprint:
        return final
    out = BUILD / f".{name}.new-{os.getpid()}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for src in sorted((ROOT / "functions" / name).glob("*.py")):
        shutil.copy2(src, out / src.name)
    shutil.copytree(ROOT / "shared" / "miniapp", out / "miniapp", ignore=IGNORE)
    provided: list[str] = []
    for dist in dists:
        if _is_compiled(dist) and dist.metadata["Name"].lower() not in OPTIONAL_NATIVE:
            provided.append(f"{dist.metadata['Name']}=={dist.version}")
            continue
        for path in _top_level_paths(dist):
            _copy(path, out)
    (out / "RUNTIME_PROVIDED.txt").write_text(
        "# Compiled distributions not bundled: FC's runtime or a layer must provide them.\n"
        + "\n".join(sorted(provided, key=str.lower)) + "\n")
    (out / ".fingerprint").write_text(fingerprint)
    old = BUILD / f".{name}.old-{os.getpid()}"
    if final.exists():
        final.rename(old)
    out.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def main() -> int:
    BUILD.mkdir(exist_ok=True)
    # One builder at a time (make and a test run may both ask for a build).
    with open(BUILD / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _install_deps()
        dists = _distributions()
        for name in FUNCTIONS:
            out = build_function(name, dists)
            # Bytecode the local cloud's workers wrote is not part of the package.
            size = sum(f.stat().st_size for f in out.rglob("*")
                       if f.is_file() and "__pycache__" not in f.parts)
            print(f"packaged {out.relative_to(ROOT)} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

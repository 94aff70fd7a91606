"""Which Python runs a function: an interpreter whose version matches the template's `Runtime`.

FC runs `python3.10` functions on CPython 3.10 (x86_64 Linux), and `make package` builds each
code package for exactly that, compiled extensions and bytecode included. The local cloud must
run them on the same version, or a package that cannot work on FC would pass every local test.
Where to find one, first match wins (each candidate is run once to check its version, since a
pyenv shim named `python3.10` exists even when it would refuse to run):

1. the interpreter named by `LOCALCLOUD_PYTHON310` (`LOCALCLOUD_PYTHON39` for python3.9);
   a named interpreter of the wrong version is an error, never skipped;
2. `python3.10` on PATH;
3. the newest 3.10.x that pyenv has installed (`pyenv versions`, `pyenv prefix`);
4. uv's managed Python (`uv` on PATH): the one it has, else one `uv python install` downloads.

None found is an error that says how to get one: the local cloud refuses to start rather than
run a function on another Python (see docs/local-cloud.md, "Function Compute").
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

# The runtimes the local cloud can run, as FC defines them. FC's plain `python3` is Python 3.6,
# older than anything the worker program supports.
RUNTIME_VERSIONS = {"python3.9": (3, 9), "python3.10": (3, 10)}
# What the worker needs to load the packages `make package` builds (manylinux x86_64 wheels).
PLATFORM = "linux-x86_64"
_PROBE = "import sys, sysconfig; print('%d.%d.%d' % sys.version_info[:3], sysconfig.get_platform())"


class NoMatchingPython(Exception):
    """No interpreter matching a function's runtime: the local cloud cannot run it faithfully."""


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: str  # e.g. "3.10.13"
    found_by: str  # where it came from, for the start-up banner

    def describe(self) -> str:
        return f"Python {self.version} ({self.found_by}: {self.path})"


def env_variable(runtime: str) -> str:
    major, minor = _version_of(runtime)
    return f"LOCALCLOUD_PYTHON{major}{minor}"


def fix_hint(runtime: str) -> str:
    major, minor = _version_of(runtime)
    patch = {(3, 10): "3.10.13", (3, 9): "3.9.18"}[(major, minor)]
    return (
        f"install one with `pyenv install {patch}` (https://github.com/pyenv/pyenv) or "
        f"`uv python install {major}.{minor}` (https://docs.astral.sh/uv/), or set "
        f"{env_variable(runtime)}=/path/to/python{major}.{minor}"
    )


def find_python(runtime: str, environ: Mapping[str, str] | None = None) -> Interpreter:
    """The interpreter for `runtime` (e.g. "python3.10"); raises NoMatchingPython."""
    env = os.environ if environ is None else environ
    return _find(runtime, env.get(env_variable(runtime), ""), env.get("PATH", ""))


@cache
def _find(runtime: str, named: str, path: str) -> Interpreter:
    major, minor = _version_of(runtime)
    wanted = f"{major}.{minor}"
    variable = env_variable(runtime)
    if named:
        found = _probe(named)
        if found is None or not _matches(found, wanted):
            raise NoMatchingPython(
                f"{variable}={named} is not a working Python {wanted} for {PLATFORM} "
                f"({_what(found)}); {fix_hint(runtime)}"
            )
        return Interpreter(named, found[0], variable)
    tried = [f"{variable} (not set)"]
    on_path = shutil.which(f"python{wanted}", path=path)
    if on_path:
        found = _probe(on_path)
        if found is not None and _matches(found, wanted):
            return Interpreter(on_path, found[0], f"python{wanted} on PATH")
        tried.append(f"python{wanted} on PATH ({_what(found)})")
    else:
        tried.append(f"python{wanted} on PATH (none)")
    pyenv = shutil.which("pyenv", path=path)
    if pyenv:
        for version in _pyenv_versions(pyenv, wanted):
            prefix = _run([pyenv, "prefix", version])
            candidate = os.path.join(prefix.strip(), "bin", f"python{wanted}") if prefix else ""
            found = _probe(candidate) if candidate and os.path.exists(candidate) else None
            if found is not None and _matches(found, wanted):
                return Interpreter(candidate, found[0], f"pyenv {version}")
        tried.append(f"pyenv (no working {wanted}.x installed)")
    else:
        tried.append("pyenv (not installed)")
    uv = shutil.which("uv", path=path)
    if uv:
        managed = _uv_python(uv, wanted)
        found = _probe(managed) if managed else None
        if managed and found is not None and _matches(found, wanted):
            return Interpreter(managed, found[0], "uv's managed Python")
        tried.append(f"uv python install {wanted} (failed: offline?)")
    else:
        tried.append("uv (not installed)")
    raise NoMatchingPython(
        f"Runtime {runtime} needs Python {wanted} for {PLATFORM} and none was found "
        f"(tried: {'; '.join(tried)}). To run functions as FC would, {fix_hint(runtime)}."
    )


def _version_of(runtime: str) -> tuple[int, int]:
    try:
        return RUNTIME_VERSIONS[runtime]
    except KeyError:
        raise NoMatchingPython(
            f"runtime {runtime!r} cannot run locally (supported: {', '.join(RUNTIME_VERSIONS)})"
        ) from None


def _pyenv_versions(pyenv: str, wanted: str) -> list[str]:
    """Installed `wanted`.x versions, newest first."""
    out = _run([pyenv, "versions", "--bare"]) or ""
    pattern = re.compile(rf"{re.escape(wanted)}\.(\d+)")
    versions = [v.strip() for v in out.splitlines() if pattern.fullmatch(v.strip())]
    return sorted(versions, key=lambda v: int(v.rsplit(".", 1)[1]), reverse=True)


def _probe(executable: str) -> tuple[str, str] | None:
    """(version, platform) the executable reports, or None when it does not run."""
    out = _run([executable, "-I", "-S", "-c", _PROBE])
    if not out or len(out.split()) != 2:
        return None
    version, platform = out.split()
    return version, platform


def _matches(found: tuple[str, str], wanted: str) -> bool:
    version, platform = found
    return version.rsplit(".", 1)[0] == wanted and platform == PLATFORM


def _what(found: tuple[str, str] | None) -> str:
    return "does not run" if found is None else f"it is Python {found[0]} for {found[1]}"


def _uv_python(uv: str, wanted: str) -> str | None:
    """A Python `wanted` that uv manages: one it has, else one it downloads now (uv prints its
    own progress; a first `make dev` on a machine without one takes a minute)."""
    found = _run([uv, "python", "find", "--managed-python", wanted])
    if not found:
        print(
            f"localcloud: no Python {wanted} found; getting one with uv python install "
            f"{wanted} ...",
            file=sys.stderr,
            flush=True,
        )
        try:
            subprocess.run(
                [uv, "python", "install", wanted], timeout=600, stdin=subprocess.DEVNULL, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        found = _run([uv, "python", "find", "--managed-python", wanted])
    return found.strip() if found else None


def _run(cmd: list[str]) -> str | None:
    try:
        result = subprocess.run(
            cmd, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None

"""The local cloud runs a function only on a Python matching its Runtime: it finds one (named by
LOCALCLOUD_PYTHON310, python3.10 on PATH, pyenv, or uv), and where none exists it refuses loudly
with the fix instead of running the function on another Python."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from localcloud.fc.interpreters import NoMatchingPython, find_python


def test_a_python_3_10_is_found_on_this_machine() -> None:
    found = find_python("python3.10")
    assert found.version.startswith("3.10.") and Path(found.path).exists()


def test_the_named_interpreter_wins() -> None:
    real = find_python("python3.10")
    named = find_python("python3.10", {"LOCALCLOUD_PYTHON310": real.path, "PATH": ""})
    assert (named.path, named.found_by) == (real.path, "LOCALCLOUD_PYTHON310")


def test_a_named_interpreter_of_another_version_is_refused_not_skipped() -> None:
    with pytest.raises(NoMatchingPython) as refused:
        find_python(
            "python3.10",
            {"LOCALCLOUD_PYTHON310": sys.executable, "PATH": os.environ.get("PATH", "")},
        )
    message = str(refused.value)
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in message
    assert "pyenv install 3.10.13" in message


def test_no_interpreter_means_a_refusal_that_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(NoMatchingPython) as refused:
        find_python("python3.10", {"PATH": str(tmp_path)})
    message = str(refused.value)
    assert "pyenv install 3.10.13" in message and "LOCALCLOUD_PYTHON310" in message


def test_a_runtime_the_worker_cannot_run_is_refused() -> None:
    with pytest.raises(NoMatchingPython, match="cannot run locally"):
        find_python("python3")


def _fake_uv(folder: Path, finds: str) -> None:
    """A `uv` that finds `finds` (nothing when empty) and whose install fails (offline)."""
    uv = folder / "uv"
    uv.write_text(
        f'#!/bin/sh\n[ "$1 $2" = "python find" ] && [ -n "{finds}" ] && '
        f'echo "{finds}" && exit 0\nexit 1\n'
    )
    uv.chmod(0o755)


def test_where_none_is_found_uv_gets_its_managed_python(tmp_path: Path) -> None:
    real = find_python("python3.10").path
    _fake_uv(tmp_path, real)
    found = find_python("python3.10", {"PATH": str(tmp_path)})
    assert (found.path, found.found_by) == (real, "uv's managed Python")


def test_where_uv_cannot_get_one_the_refusal_says_in_one_line_what_to_install(
    tmp_path: Path,
) -> None:
    _fake_uv(tmp_path, "")
    with pytest.raises(NoMatchingPython) as refused:
        find_python("python3.10", {"PATH": str(tmp_path)})
    message = str(refused.value)
    assert "\n" not in message
    assert "uv python install 3.10 (failed: offline?)" in message
    assert "pyenv install 3.10.13" in message and "`uv python install 3.10`" in message

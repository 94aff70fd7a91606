"""The local cloud runs a function only on a Python matching its Runtime: it finds one (named by
LOCALCLOUD_PYTHON310, python3.10 on PATH, or pyenv), and where none exists it refuses loudly with
the fix instead of running the function on another Python."""
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
        find_python("python3.10", {"LOCALCLOUD_PYTHON310": sys.executable,
                                   "PATH": os.environ.get("PATH", "")})
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

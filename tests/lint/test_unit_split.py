"""What `make unit` runs is explicit: every test under tests/unit/ is marked `unit`, and one that
starts a process or opens a connection fails there, while the same test elsewhere runs. Checked
on a scratch tree with this repo's tests/conftest.py."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

TESTS = """
import socket
import subprocess


def test_process():
    subprocess.run(["true"], check=True)


def test_connection():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))


def test_pure():
    assert sum([1, 2]) == 3
"""


def _scratch(tmp_path: Path) -> Path:
    for folder in ("unit", "contract"):
        (tmp_path / "tests" / folder).mkdir(parents=True)
        (tmp_path / "tests" / folder / f"test_{folder}_io.py").write_text(TESTS)
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "tests" / "conftest.py")
    return tmp_path


def _pytest(folder: Path, *args: str) -> dict[str, str]:
    """{test id: outcome} of a pytest run in `folder`."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", *args, "tests"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.findall(r"^(PASSED|FAILED) (\S+)", result.stdout, flags=re.M)
    return {test.split("/")[-1]: outcome for outcome, test in found}


def test_a_unit_test_that_starts_a_process_or_opens_a_connection_fails(tmp_path):
    outcomes = _pytest(_scratch(tmp_path))
    assert outcomes == {
        "test_unit_io.py::test_process": "FAILED",
        "test_unit_io.py::test_connection": "FAILED",
        "test_unit_io.py::test_pure": "PASSED",
        "test_contract_io.py::test_process": "PASSED",
        "test_contract_io.py::test_connection": "PASSED",
        "test_contract_io.py::test_pure": "PASSED",
    }


def test_the_unit_marker_selects_the_tests_under_tests_unit(tmp_path):
    outcomes = _pytest(_scratch(tmp_path), "-m", "unit")
    assert set(outcomes) == {
        "test_unit_io.py::test_process",
        "test_unit_io.py::test_connection",
        "test_unit_io.py::test_pure",
    }

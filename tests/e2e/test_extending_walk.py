"""docs/extending.md followed word for word: its "Add a collection" steps (each file it names
written with the block below it, the registry block put in place, each command it shows run)
and its notes test saved where it says, in a copy of this repository; then `make lint` and the
API tables test pass there. The guide cannot drift into breaking the build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

GUIDE = (ROOT / "docs" / "extending.md").read_text()
# "`path`:" then (maybe after a marker line) a fenced block; or a fenced block of commands.
NAMED_BLOCK = re.compile(
    r"`([\w/]+\.py)`:\n\n(?: *<!-- [^\n]* -->\n)?( *)```python\n(.*?)^ *```$", re.M | re.S
)
COMMAND_BLOCK = re.compile(r"^ *```sh\n(.*?)^ *```$", re.M | re.S)


def _section(title: str) -> str:
    return GUIDE.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _dedent(code: str, indent: str) -> str:
    return "".join(line[len(indent) :] if line.strip() else line for line in code.splitlines(True))


def _copy_of_the_repository(target: Path) -> Path:
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    for name in files:
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    if (ROOT / ".mypy_cache").is_dir():  # a warm start for the copy's mypy
        shutil.copytree(ROOT / ".mypy_cache", target / ".mypy_cache")
    return target


def _run(repo: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """`command` in the copy, importing the copy's library (not this checkout's)."""
    env = {**os.environ, "PYTHONPATH": str(repo / "shared")}
    return subprocess.run(
        list(command), cwd=repo, env=env, capture_output=True, text=True, timeout=600
    )


def _make(repo: Path, line: str) -> subprocess.CompletedProcess[str]:
    """`line` run in the copy with this checkout's venv, taken as installed (-o; PYTHON=false
    so make could never build another venv over it)."""
    words = line.split()
    assert words[0] == "make", line
    venv = Path(sys.executable).parent.parent
    return _run(
        repo, "make", "-o", str(venv / ".installed"), *words[1:], f"VENV={venv}", "PYTHON=false"
    )


def test_following_the_guide_keeps_lint_and_the_api_tables_test_green(tmp_path):
    repo = _copy_of_the_repository(tmp_path / "repo")
    steps = _section("Add a collection")
    written = []
    for path, indent, code in NAMED_BLOCK.findall(steps):
        code = _dedent(code, indent)
        if code.lstrip().startswith("REGISTERED = ("):  # the block to put in place in the file
            text, count = re.subn(
                r"^REGISTERED = \(.*?^\)\n",
                code.lstrip(),
                (repo / path).read_text(),
                flags=re.M | re.S,
            )
            assert count == 1
            code = text
        (repo / path).write_text(code)
        written.append(path)
    assert written == [
        "shared/miniapp/collections/notes.py",
        "shared/miniapp/collections/__init__.py",
    ]
    commands = [
        line.strip()
        for block in COMMAND_BLOCK.findall(steps)
        for line in block.splitlines()
        if line.strip()
    ]
    assert commands == ["make docs"]
    for line in commands:
        ran = _make(repo, line)
        assert ran.returncode == 0, ran.stdout + ran.stderr
    for path, indent, code in NAMED_BLOCK.findall(_section("Test your collection without a cloud")):
        (repo / path).write_text(_dedent(code, indent))
        written.append(path)
    assert written[-1] == "tests/unit/test_notes.py"

    lint = _make(repo, "make lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    tests = _run(
        repo,
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/unit/test_registry.py",
        "tests/unit/test_notes.py",
        "tests/unit/test_docs_examples.py",
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "| `notes` | `add` |" in (repo / "docs" / "api.md").read_text()

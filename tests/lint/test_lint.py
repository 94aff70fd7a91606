"""`make lint` (ruff, then mypy, with the settings in pyproject.toml) fails on an introduced error.

The tests build a tiny copy of the repository's layout in a temporary folder, with the real
pyproject.toml, and run the commands `make lint` runs (read from the Makefile with `make -n`, so
the tests follow the Makefile). A clean copy passes, so what fails in the broken copy is the
mistakes put there: one per file, each test looks for its own. The last test checks the real tree:
every suppression names its rule and says why.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

CLEAN = {
    "shared/miniapp/__init__.py": '"""The library."""\n',
    "shared/miniapp/values.py": '"""Values."""\n\n\ndef double(n: int) -> int:\n    return 2 * n\n',
    "functions/db/index.py": (
        '"""db."""\nfrom typing import Any\n\nfrom miniapp.values import double\n\n\n'
        "def handler(event: Any, context: Any) -> str:\n    return str(double(1))\n"
    ),
    "functions/session/index.py": (
        '"""session."""\nfrom typing import Any\n\n\n'
        "def handler(environ: Any, start_response: Any) -> list[bytes]:\n    return []\n"
    ),
    "local/localcloud/__init__.py": '"""The local cloud."""\n',
    # Untyped on purpose: the local cloud is checked, not strict.
    "local/localcloud/emulator.py": '"""An emulator."""\n\n\ndef answer(x):\n    return x\n',
    "scripts/tool.py": '"""A script."""\n\nprint("hi")\n',
    "docs/examples/example.py": (
        '"""An example."""\n\n\ndef double(n: int) -> int:\n    return 2 * n\n'
    ),
}

UNTYPED = '"""Untyped."""\n\n\ndef answer(x):\n    return x\n'
MISTAKES = {
    # ruff
    "shared/miniapp/unused.py": '"""Unused."""\nimport os\n',
    "scripts/unsorted.py": '"""Unsorted."""\nimport sys\nimport os\n\nprint(os, sys)\n',
    "scripts/blanket_noqa.py": '"""Blanket."""\nimport os  # noqa\n',
    "scripts/stale_noqa.py": '"""Stale."""\nimport os  # noqa: E731 - stale\n\nprint(os)\n',
    # mypy
    "shared/miniapp/wrong.py": '"""Wrong."""\n\n\ndef double(n: int) -> int:\n    return "2" * n\n',
    "shared/miniapp/untyped.py": UNTYPED,
    "functions/db/index.py": CLEAN["functions/db/index.py"] + "\n\nX: int = 'db'\n",
    "functions/session/index.py": CLEAN["functions/session/index.py"] + "\n\nX: int = 'session'\n",
    "local/localcloud/wrong.py": '"""Wrong."""\n\nN: int = len(3)\n',
    "shared/miniapp/stale_ignore.py": '"""Stale."""\n\nX = 1  # type: ignore[misc]  # stale\n',
}


@dataclass(frozen=True)
class LintRun:
    exit_codes: list[int]  # one per command, in the Makefile's order (ruff, mypy)
    output: str


def lint_commands() -> list[list[str]]:
    """What `make lint` runs, as the Makefile says (its set-up step left out)."""
    dry = subprocess.run(
        ["make", "-n", "-s", "lint"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    commands = [
        shlex.split(line) for line in dry.splitlines() if re.search(r" -m (ruff|mypy)\b", line)
    ]
    assert [c[2] for c in commands] == ["ruff", "mypy"], dry
    # The repository's virtualenv, by absolute path: the commands run in another folder.
    return [[sys.executable, *c[1:]] for c in commands]


def run_lint(tree: Path, files: dict[str, str]) -> LintRun:
    """Every command of `make lint` on a tree of `files` (make would stop at the first failure;
    running all of them lets one broken tree show every mistake)."""
    tree.mkdir(parents=True, exist_ok=True)
    (tree / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    for name, text in files.items():
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    codes, output = [], ""
    for command in lint_commands():
        # One line per finding, so a test can find its file's findings.
        env = {**os.environ, "RUFF_OUTPUT_FORMAT": "concise"}
        result = subprocess.run(command, cwd=tree, capture_output=True, text=True, env=env)
        codes.append(result.returncode)
        output += result.stdout + result.stderr
    return LintRun(codes, output)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> LintRun:
    return run_lint(tmp_path_factory.mktemp("clean"), CLEAN)


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> LintRun:
    return run_lint(tmp_path_factory.mktemp("broken"), {**CLEAN, **MISTAKES})


def findings(run: LintRun, path: str) -> str:
    return "\n".join(line for line in run.output.splitlines() if path in line)


def test_a_clean_tree_passes_both_tools(clean: LintRun) -> None:
    assert clean.exit_codes == [0, 0], clean.output


def test_the_broken_tree_fails_both_tools(broken: LintRun) -> None:
    assert broken.exit_codes[0] != 0 and broken.exit_codes[1] != 0, broken.output


def test_an_unused_import_fails_ruff(broken: LintRun) -> None:
    assert "F401" in findings(broken, "unused.py")


def test_unsorted_imports_fail_ruff(broken: LintRun) -> None:
    assert "I001" in findings(broken, "unsorted.py")


def test_a_noqa_must_name_its_rule(broken: LintRun) -> None:
    assert "PGH004" in findings(broken, "blanket_noqa.py")


def test_a_noqa_that_suppresses_nothing_fails(broken: LintRun) -> None:
    assert "RUF100" in findings(broken, "stale_noqa.py")


def test_a_type_error_in_the_library_fails_mypy(broken: LintRun) -> None:
    assert "[return-value]" in findings(broken, "miniapp/wrong.py")


def test_the_library_is_strict(broken: LintRun) -> None:
    assert "[no-untyped-def]" in findings(broken, "miniapp/untyped.py")


def test_both_handlers_named_index_are_checked(broken: LintRun) -> None:
    assert "[assignment]" in findings(broken, "functions/db/index.py")
    assert "[assignment]" in findings(broken, "functions/session/index.py")


def test_the_local_cloud_is_checked_but_not_strict(clean: LintRun, broken: LintRun) -> None:
    assert "[arg-type]" in findings(broken, "localcloud/wrong.py")
    assert "emulator.py" not in clean.output + broken.output  # untyped, and accepted


def test_a_type_ignore_that_suppresses_nothing_fails(broken: LintRun) -> None:
    assert "[unused-ignore]" in findings(broken, "stale_ignore.py")


# "noqa: CODE - why" or "type: ignore[code]  # why", or the bare pragma under a comment line that
# says why.
PRAGMA = re.compile(r"#\s*(noqa|type:\s*ignore)\b(?P<rest>.*)$")
EXPLAINED = re.compile(
    r"^(: [A-Z]+[0-9]+(, [A-Z]+[0-9]+)*|\[[a-z-]+(, [a-z-]+)*\])"
    r"(?P<why>( - |  # ).+)?$"
)


def test_every_suppression_in_the_tree_names_its_rule_and_says_why() -> None:
    files = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    unexplained = []
    for name in files:
        path = ROOT / name
        if not path.exists() or path.resolve() == Path(__file__).resolve():
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            match = PRAGMA.search(line)
            if match is None or line.lstrip().startswith("#"):
                continue
            rule = EXPLAINED.match(match["rest"])
            above = lines[number - 2].strip() if number > 1 else ""
            if rule is None or not (rule["why"] or above.startswith("#")):
                unexplained.append(f"{name}:{number}: {line.strip()}")
    assert not unexplained, "\n".join(unexplained)

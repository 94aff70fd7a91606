"""Every command in README.md and docs/ runs as written (docs are code). In each Markdown file
(tests/lint/doc_commands.py says which lines are commands):

- `make` names real targets and passes only variables their recipes use; given with its
  variables, the recipe's own python commands (`make -n`: printed, not run) get past their parsers.
- a `python`/`.venv/bin/python` command (a scripts/ file, `-m localcloud`, `-m pytest`) runs until
  its parser accepted every argument, then stops (tests/lint/parse_only.py): nothing is deployed,
  started or changed. `python -c` code and a `python - <<EOF` here-document compile.
- every path in the repository's own folders that a command or an inline span names exists.
- any other program is allowed only by name, in ALLOWED, with the reason it is not run.

A failure names the file, the line and what is wrong: "docs/x.md:12: `make foo` - no such target:
foo". Docs added later are covered as they come (the files are globbed)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.lint.doc_commands import Command, commands, simple_commands, spans
from tests.lint.parse_only import MARK

DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
# Paths under these are the repository's own: one a doc names must exist. Other paths (.local/,
# build/, client-config/, deploy.*.json) are what the commands write.
SOURCE = ("client", "docs", "functions", "local", "scripts", "shared", "tests", ".ci", ".github")
PATH = re.compile(rf"^(?:{'|'.join(re.escape(s) for s in SOURCE)})/[\w./-]*$")
PYTHONS = {"python", "python3", ".venv/bin/python"}  # and, in a recipe, $(PYTHON) or $(PY)
PARSED_MODULES = {"localcloud", "pytest"}
# Programs the test does not run, each with the reason; their repository paths are still checked.
ALLOWED = {
    "export": "sets variables for the commands after it (docs/deploy.md's local endpoints)",
    "openssl": "makes keys; nothing of ours to check",
    "npm": "installs from npm (network)",
    "node": "runs a preview script with a browser",
    "sudo": "installs system packages",
    "aliyun": "Alibaba Cloud's CLI, with real credentials",
    "pre-commit": "installs a git hook",
    "curl": "talks to a running local cloud",
}
# Paths a doc names that do not exist in the repository, on purpose: what the reader creates.
CREATED_BY_THE_READER = {
    "shared/miniapp/collections/notes.py",  # docs/extending.md: the collection you add
    "tests/unit/test_notes.py",  # docs/extending.md: its test
    "client/config.js",  # written by `make client-config` (git-ignored)
}


def problems_of(command: Command) -> list[str]:
    function = re.fullmatch(r"\w+\(\)\s*\{\s*(.*?);?\s*\}", command.text)
    if function:  # a shell function: its body is the command
        return problems_of(Command(command.line, function.group(1), command.heredoc, command.run))
    try:
        simple = simple_commands(command.text)
    except ValueError as error:
        return [f"cannot be read as shell words ({error})"]
    found = []
    for env, argv in simple:
        if argv:
            found += paths_missing(argv) + check(argv, env, command)
    return found


def paths_missing(argv: list[str]) -> list[str]:
    candidates = (part for word in argv for part in word.split("="))
    return [
        f"{path} does not exist"
        for path in candidates
        if PATH.match(path) and path not in CREATED_BY_THE_READER and not (ROOT / path).exists()
    ]


def check(argv: list[str], env: dict[str, str], command: Command) -> list[str]:
    program = argv[0]
    if program == "make":
        return check_make(argv[1:], command.run)
    if program in PYTHONS:
        return check_python(argv[1:], command.heredoc, env)
    if program in ALLOWED:
        return []
    return [f"{program}: not a program this test knows; run it, or add it to ALLOWED with why not"]


def check_python(args: list[str], heredoc: str, env: dict[str, str]) -> list[str]:
    if args[:1] == ["-"]:
        return compiles(heredoc, "the here-document")
    if args[:1] == ["-c"]:
        return compiles(args[1], "the -c code")
    if args[:1] == ["-m"]:
        if args[1] not in PARSED_MODULES:
            return [
                f"python -m {args[1]}: not a module this test knows (it parses {PARSED_MODULES})"
            ]
    elif not args or not (ROOT / args[0]).is_file():
        if args and PATH.match(args[0]):
            return []  # paths_missing names it
        return [f"python {' '.join(args[:1])}: no such script"]
    return parse_only(tuple(args), tuple(sorted(env.items())))


def compiles(code: str, what: str) -> list[str]:
    try:
        compile(code, what, "exec")
    except SyntaxError as error:
        return [f"{what} does not compile: {error}"]
    return []


ParseRequest = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]  # arguments, environment
_parsed: dict[ParseRequest, list[str]] = {}
_wanted: list[ParseRequest] | None = None  # while the fixture gathers every doc's requests


def parse_only(args: tuple[str, ...], env: tuple[tuple[str, str], ...]) -> list[str]:
    """The problem of the command `python ARGS` run until its parser accepted its arguments."""
    if _wanted is not None:
        _wanted.append((args, env))
        return []
    if (args, env) not in _parsed:
        run_parse_only([(args, env)])
    return _parsed[(args, env)]


def run_parse_only(requests: list[ParseRequest]) -> None:
    """tests/lint/parse_only.py on the requests (one process, a fork per command)."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("parse_only.py")), "--each"],
        input=json.dumps([[list(args), dict(env)] for args, env in requests]),
        cwd=ROOT,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    for request, result in zip(requests, json.loads(done.stdout), strict=True):
        lines = result["output"].strip().splitlines() or ["(it printed nothing)"]
        if result["status"] == 0 and MARK in lines:
            _parsed[request] = []
        else:  # the line that says what is wrong: an error's, else the last one
            said = [line for line in lines if "error" in line.lower()] or lines
            _parsed[request] = [f"its parser refuses it: {said[-1].strip()}"]


def problems_of_each(docs: list[tuple[str, str]]) -> list[list[str]]:
    """The problems of each (text, name): the commands are gathered first, then parsed at once."""
    global _wanted
    _wanted = []
    try:
        for text, name in docs:
            problems_in_text(text, name)
        wanted = sorted(set(_wanted) - _parsed.keys())
    finally:
        _wanted = None
    if wanted:
        run_parse_only(wanted)
    return [problems_in_text(text, name) for text, name in docs]


@pytest.fixture(scope="module", autouse=True)
def _parse_every_command_at_once() -> None:
    problems_of_each(
        [(doc.read_text(encoding="utf-8"), str(doc.relative_to(ROOT))) for doc in DOCS]
    )


@cache
def makefile() -> dict[str, list[str]]:
    """Each target of the Makefile and its recipe lines."""
    recipes: dict[str, list[str]] = {}
    current: list[str] = []
    for line in (ROOT / "Makefile").read_text().splitlines():
        rule = re.match(r"^([\w.$()-]+)\s*:(?!=)", line)
        if rule:
            current = recipes.setdefault(rule.group(1), [])
        elif line.startswith("\t"):
            current.append(line.strip())
        elif line.strip() and not line.startswith("#"):
            current = []
    return recipes


def check_make(args: list[str], run: bool) -> list[str]:
    """Targets that exist, variables their recipes use, and (for a command given with its
    variables) the recipe's python commands accepted by their parsers."""
    options = [a for a in args if a.startswith("-")]
    if options:  # make would take them as its own options, or refuse them
        return [f"make {o}: not an option of make's; give it in ARGS" for o in options]
    targets = [a for a in args if "=" not in a]
    variables = dict(a.split("=", 1) for a in args if "=" in a)
    found = []
    for target in targets:
        recipe = makefile().get(target)
        if recipe is None or target.startswith("$"):
            found.append(f"no such target: {target}")
            continue
        unused = [v for v in variables if not any(f"$({v})" in line for line in recipe)]
        found += [f"{v}: `make {target}` does not use it" for v in unused]
        if run and not unused:
            found += recipe_problems(target, variables, len(recipe))
    return found


def recipe_problems(target: str, variables: dict[str, str], lines: int) -> list[str]:
    """The target's own recipe as make would run it (`make -n`: printed, not run), each python
    command in it parsed."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", target, *(f"{k}={v}" for k, v in variables.items())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        return [f"make -n {target}: {done.stderr.strip()}"]
    found = []
    for line in done.stdout.splitlines()[-lines:]:
        for env, argv in simple_commands(line):
            if argv and Path(argv[0]).name.startswith("python") and is_ours(argv[1:]):
                env.pop("PATH", None)  # the venv's tools first: the parse runs in the venv
                found += check_python(argv[1:], "", env)
    return found


def is_ours(args: list[str]) -> bool:
    """A script of ours, or a module whose arguments the docs give (not ruff's or mypy's)."""
    return bool(args) and (
        args[0].startswith("scripts/") or args[:2] in (["-m", m] for m in PARSED_MODULES)
    )


def problems_in(doc: Path) -> list[str]:
    return problems_in_text(doc.read_text(encoding="utf-8"), str(doc.relative_to(ROOT)))


def problems_in_text(text: str, name: str) -> list[str]:
    found = [
        f"{name}:{command.line}: `{command.text}` - {problem}"
        for command in commands(text)
        for problem in problems_of(command)
    ]
    for line, span in spans(text):
        found += [f"{name}:{line}: {problem}" for problem in paths_missing([span])]
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: str(doc.relative_to(ROOT)))
def test_every_command_runs_as_written(doc: Path) -> None:
    found = problems_in(doc)
    assert not found, "\n".join(found)


WRONG = """# A doc with one mistake a line

```sh
make nosuchtarget
make deploy ARGS="--stack-name x --no-such-flag"
make test STACK=x
make deploy --rotate-data-key
.venv/bin/python scripts/nope.py
.venv/bin/python -m localcloud fault sett alipay down
.venv/bin/python -m pytest tests/client --no-such-flag
frobnicate
cat docs/nowhere.md
.venv/bin/python - <<'PY'
print(
PY
```

Inline: `make dev ARGS="--base-prot 9200"`, and `scripts/nowhere.py`.
"""


def test_each_kind_of_mistake_is_named_with_its_line() -> None:
    [found] = problems_of_each([(WRONG, "docs/wrong.md")])
    expected = [
        "docs/wrong.md:4: `make nosuchtarget` - no such target: nosuchtarget",
        "docs/wrong.md:5: `make deploy ARGS=",  # its parser refuses --no-such-flag
        "docs/wrong.md:6: `make test STACK=x` - STACK: `make test` does not use it",
        "docs/wrong.md:7: `make deploy --rotate-data-key` - make --rotate-data-key: not an option",
        "docs/wrong.md:8: `.venv/bin/python scripts/nope.py` - scripts/nope.py does not exist",
        "docs/wrong.md:9: `.venv/bin/python -m localcloud fault sett alipay down` - its parser",
        "docs/wrong.md:10: `.venv/bin/python -m pytest tests/client --no-such-flag` - its parser "
        "refuses it: python -m pytest: error: unrecognized arguments: --no-such-flag",
        "docs/wrong.md:11: `frobnicate` - frobnicate: not a program this test knows",
        "docs/wrong.md:12: `cat docs/nowhere.md` - docs/nowhere.md does not exist",
        "docs/wrong.md:12: `cat docs/nowhere.md` - cat: not a program this test knows",
        "docs/wrong.md:13: `.venv/bin/python - <<'PY'` - the here-document does not compile",
        'docs/wrong.md:18: `make dev ARGS="--base-prot 9200"` - its parser refuses it: '
        "localcloud: unknown option --base-prot; did you mean --base-port?",
        "docs/wrong.md:18: scripts/nowhere.py does not exist",
    ]
    assert len(found) == len(expected), "\n".join(found)
    for line, start in zip(found, expected, strict=True):
        assert line.startswith(start), (line, start)
    assert found[1].endswith("unrecognized arguments: --no-such-flag")

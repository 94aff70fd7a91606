"""The commands a Markdown doc gives, as tests/lint/test_doc_commands.py reads them: every line of
a sh, bash, shell or console block (of a console block, the `$ ` lines), a line continued with a
backslash joined, a here-document kept with the command that reads it; and every inline `make ...`
span."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

FENCE = re.compile(r"^ *```(\w*)[^\n]*\n(.*?)^ *```", re.M | re.S)
SHELL_BLOCKS = {"sh", "bash", "shell", "console"}
HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")
ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=.*")


@dataclass(frozen=True)
class Command:
    """A command of a doc: its line, its text, the here-document it reads, and whether it is
    run (an inline `make deploy` without variables names the command, no more)."""

    line: int
    text: str
    heredoc: str = ""
    run: bool = True


def commands(text: str) -> Iterator[Command]:
    for block in FENCE.finditer(text):
        if block.group(1) in SHELL_BLOCKS:
            first = text[: block.start(2)].count("\n") + 1
            yield from _block(block.group(2).splitlines(), first, block.group(1) == "console")
    for line, span in spans(text):
        if span.startswith("make "):
            # A placeholder such as <stack> stands for a word (as a shell would read it, it is a
            # redirection; a doc's reader types a word there).
            command = re.sub(r"<([\w-]+)>", r"\1", span)
            yield Command(line, command, run="=" in command)


def _block(lines: list[str], first: int, console: bool) -> Iterator[Command]:
    i = 0
    while i < len(lines):
        number, line = first + i, lines[i].strip()
        i += 1
        if console:
            if not line.startswith("$ "):
                continue  # the output of the command above
            line = line[2:]
        while line.endswith("\\") and i < len(lines):
            line, i = line[:-1] + " " + lines[i].strip(), i + 1
        body = []
        heredoc = HEREDOC.search(line)
        if heredoc:
            while i < len(lines) and lines[i].strip() != heredoc.group(1):
                body.append(lines[i])
                i += 1
            i += 1  # the closing word
        if line and not line.startswith("#"):
            yield Command(number, line, "\n".join(body))


def spans(text: str) -> Iterator[tuple[int, str]]:
    """(line, text) of each inline code span outside the code blocks."""
    prose = FENCE.sub(lambda block: "\n" * block.group(0).count("\n"), text)
    for span in re.finditer(r"`([^`\n]+)`", prose):
        yield prose[: span.start()].count("\n") + 1, span.group(1)


def simple_commands(line: str) -> list[tuple[dict[str, str], list[str]]]:
    """The simple commands of a shell line (split at ;, &&, ||, |, &), each as the variables
    assigned before its program and its words; redirections left out. ValueError if the line
    cannot be split into words (an unclosed quote)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    found: list[list[str]] = [[]]
    tokens = iter(lexer)
    for token in tokens:
        if token in {";", "&&", "||", "|", "&"}:
            found.append([])
        elif token in {">", ">>", "<", "<<", "<<-", "2>", "&>"}:
            next(tokens, None)  # the file or the here-document's word
        else:
            found[-1].append(token)
    result = []
    for argv in filter(None, found):
        env = {}
        while argv and ASSIGNMENT.fullmatch(argv[0]):
            name, value = argv[0].split("=", 1)
            env[name], argv = value, argv[1:]
        result.append((env, argv))
    return result

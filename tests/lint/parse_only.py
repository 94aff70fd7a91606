"""Run a documented command only as far as its argument parser, for tests/lint/test_doc_commands.py:

    python tests/lint/parse_only.py scripts/deploy.py --stack-name x ...
    python tests/lint/parse_only.py -m localcloud fault set alipay down
    python tests/lint/parse_only.py -m pytest tests/client -q

The command runs as written (same module or file, same arguments, same environment) until its own
parser has accepted every argument; then this prints MARK and exits 0, before the command does
anything. A parser's refusal exits as the command would (2, with argparse's message). `--help`
would not do: argparse stops at it without complaining about an unknown option given before it.

Until the parse is done no process may start and no socket may connect or bind (an audit hook
refuses them), so a command that would do real work before parsing fails here instead of doing it.

`parse_only.py --each` reads a JSON list of [arguments, environment] from stdin and prints a JSON
list of {"status", "output"}: the modules the commands import are imported once, and each command
runs in a process forked from that one (importing the local cloud takes seconds; its parser, not).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import runpy
import sys
import tempfile
import traceback
from collections.abc import Callable
from typing import Any

MARK = "parse_only: arguments accepted"
REFUSED = {
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "socket.connect",
    "socket.bind",
}
_parsed = False
_depth = 0  # parses under way: the outermost one ends the process when it returns


def _accepted() -> None:
    global _parsed
    _parsed = True
    sys.stderr.flush()
    print(MARK, flush=True)
    os._exit(0)


def _no_io_before_the_parse(event: str, args: tuple[Any, ...]) -> None:
    if event == "subprocess.Popen" and list(args[1])[:1] in (["file"], ["uname"]):
        return  # platform's probes, which tablestore runs at import (platform.architecture())
    if not _parsed and event in REFUSED:
        raise RuntimeError(
            f"parse_only: the command did {event} {args[:2]} before parsing its arguments"
        )


def _stop_after(method: Callable[..., Any]) -> Callable[..., Any]:
    """`method`, ending the process once the outermost parse returns (a parser's own nested calls,
    parse_args through parse_known_args and each subcommand's parser, do not end it)."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        global _depth
        _depth += 1
        try:
            result = method(*args, **kwargs)
        finally:
            _depth -= 1
        if _depth == 0:
            _accepted()
        return result

    return wrapped


def parse(argv: list[str]) -> None:
    """Run the command `python ARGV` (`-m MODULE ...` or `FILE ...`) until its parser is done."""
    sys.addaudithook(_no_io_before_the_parse)
    if argv[:2] == ["-m", "pytest"]:
        # pytest parses its options several times as plugins load; the last parse, with every
        # plugin's options, is Parser.parse, which refuses an unknown flag.
        from _pytest.config import argparsing

        patched: list[tuple[type, str]] = [(argparsing.Parser, "parse")]
    else:
        patched = [
            (argparse.ArgumentParser, "parse_args"),
            (argparse.ArgumentParser, "parse_known_args"),
        ]
    for owner, name in patched:
        setattr(owner, name, _stop_after(getattr(owner, name)))
    if argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        sys.path.insert(0, os.getcwd())  # as `python -m` puts the working directory first
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))  # as `python FILE` does
        runpy.run_path(argv[0], run_name="__main__")
    raise SystemExit("parse_only: the command ended without parsing its arguments")


def parse_each(requests: list[tuple[list[str], dict[str, str]]]) -> list[dict[str, Any]]:
    """Each request parsed in a forked process, its exit status and what it printed."""
    for module in ("_pytest.config", "pytest"):
        importlib.import_module(module)
    # The local cloud's parser imports every emulator (for their fault kinds): seconds, once.
    importlib.import_module("localcloud.__main__").build_parser()
    del sys.modules["localcloud.__main__"]  # what it imported stays; runpy runs it afresh
    results = []
    for argv, env in requests:
        with tempfile.TemporaryFile() as output:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                os.dup2(output.fileno(), 1)
                os.dup2(output.fileno(), 2)
                os.environ.update(env)
                os._exit(_exit_status(argv))
            _, status = os.waitpid(pid, 0)
            output.seek(0)
            text = output.read().decode(errors="replace")
        results.append({"status": os.waitstatus_to_exitcode(status), "output": text})
    return results


def _exit_status(argv: list[str]) -> int:
    try:
        parse(argv)
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            return exit.code or 0
        print(exit.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - whatever the command raised is its answer, printed
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--each"]:
        print(json.dumps(parse_each(json.load(sys.stdin))))
    else:
        parse(sys.argv[1:])

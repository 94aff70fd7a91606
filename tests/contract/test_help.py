"""Every command-line tool answers `--help` with a description and the default of each option,
and does nothing else: no cloud started, no package built, no data written."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

LOCALCLOUD_HELPS = [
    ["--help"],
    ["serve", "--help"],
    ["fault", "--help"],
    ["fault", "set", "--help"],
    ["fault", "clear", "--help"],
    ["fault", "list", "--help"],
    ["fault", "kinds", "--help"],
    ["logs", "--help"],
    ["alipay", "--help"],
    ["alipay", "identity", "--help"],
    ["alipay", "show", "--help"],
    ["alipay", "pay", "--help"],
    ["alipay", "notifies", "--help"],
    ["clock", "--help"],
    ["clock", "advance", "--help"],
]
SCRIPTS = [
    "demo.py",
    "package.py",
    "reliability.py",
    "client_config.py",
    "stack_config.py",
    "release.py",
    "deploy.py",
    "local_inputs.py",
    "soak.py",
    "bench.py",
    "bench_http.py",
    "alipay_certs.py",
    "docs.py",
]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def _options_without_description(help_text: str) -> list[str]:
    """Option lines of an argparse help with no text beside or below them."""
    lines = help_text.splitlines()
    missing = []
    for i, line in enumerate(lines):
        match = re.match(r"^  (-\S.*?)(\s{2,}\S.*)?$", line)
        if not match or match.group(2):
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if not re.match(r"^\s{10,}\S", following):
            missing.append(match.group(1))
    return missing


def test_every_localcloud_option_has_a_description_and_says_its_default():
    from localcloud.__main__ import build_parser, parsers

    for parser in parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            name = f"{parser.prog} {'/'.join(action.option_strings) or action.dest}"
            assert action.help, f"{name} has no description"
            has_value = not any(action.default is v for v in (None, False, argparse.SUPPRESS))
            if action.option_strings and not has_value:
                assert "default" in action.help, f"{name} does not say what omitting it means"


@pytest.mark.parametrize("args", LOCALCLOUD_HELPS, ids=" ".join)
def test_localcloud_help_describes_every_option(args):
    result = _run("-m", "localcloud", *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m localcloud")
    assert not _options_without_description(result.stdout)
    assert not re.search(r"\(default:[^()]*\) \(default:", " ".join(result.stdout.split()))
    assert result.stderr == ""


def test_fault_set_help_lists_every_service_and_its_kinds():
    from localcloud.admin import known_fault_kinds

    out = _run("-m", "localcloud", "fault", "set", "--help").stdout
    for service, kinds in known_fault_kinds().items():
        assert f"\n{service}:\n" in out
        for kind in kinds:
            assert re.search(rf"^  {kind}\s", out, re.M), (service, kind)


def test_fault_kinds_prints_the_catalogue_without_a_running_cloud(tmp_path):
    result = _run("-m", "localcloud", "--state-dir", str(tmp_path), "fault", "kinds")
    assert result.returncode == 0
    assert "server_busy" in result.stdout and "bad_signature" in result.stdout


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_answer_help_and_do_nothing_else(script):
    build = ROOT / "build"
    before = sorted(p.name for p in build.iterdir()) if build.exists() else []
    result = _run(str(ROOT / "scripts" / script), "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")
    assert not _options_without_description(result.stdout)
    for sign_of_work in ("packaged", "demo finished", "starting", "passed", "Reliability report"):
        assert sign_of_work not in result.stdout
    assert (sorted(p.name for p in build.iterdir()) if build.exists() else []) == before

"""`.pre-commit-config.yaml` runs ruff's check and its formatter, with the ruff `make lint` pins,
so a commit meets what CI checks."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.conftest import ROOT


def hooks() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def pinned_ruff() -> str:
    text = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    match = re.search(r"^ruff==(\S+)", text, flags=re.M)
    assert match, "requirements-dev.txt pins ruff"
    return match.group(1)


def test_the_hooks_are_ruff_check_then_ruff_format() -> None:
    found = hooks()
    assert list(found) == ["ruff-check", "ruff-format"]
    assert found["ruff-check"]["entry"].split()[:2] == ["ruff", "check"]
    assert found["ruff-format"]["entry"].split()[:2] == ["ruff", "format"]


def test_each_hook_installs_the_ruff_make_lint_pins() -> None:
    for hook in hooks().values():
        assert hook["additional_dependencies"] == [f"ruff=={pinned_ruff()}"]

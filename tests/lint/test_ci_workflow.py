"""The GitHub Actions workflow runs what the README tells a contributor to run, with the
interpreters and Node the README asks for."""
from __future__ import annotations

import re
from typing import Any

import yaml

from tests.conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps() -> list[dict[str, Any]]:
    jobs = workflow()["jobs"]
    assert len(jobs) == 1
    (job,) = jobs.values()
    return list(job["steps"])


def readme_commands() -> set[str]:
    """Every command line in the README's sh blocks, without its trailing comment."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    lines = (line.split("#")[0].strip() for block in blocks for line in block.splitlines())
    return {line for line in lines if line}


def test_the_workflow_runs_on_push_and_pull_request() -> None:
    data = workflow()
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"push", "pull_request"}


def test_its_commands_are_the_readmes() -> None:
    runs = [step["run"].strip() for step in steps() if "run" in step]
    assert runs == ["make test"]
    assert set(runs) <= readme_commands()


def test_it_sets_up_python_3_11_and_3_10_and_node_20() -> None:
    uses = {step["uses"].split("@")[0]: step.get("with", {}) for step in steps() if "uses" in step}
    assert set(str(uses["actions/setup-python"]["python-version"]).split()) == {"3.10", "3.11"}
    assert str(uses["actions/setup-node"]["node-version"]) == "20"
    assert "actions/checkout" in uses


def test_ci_run_runs_the_same_command() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert [line for line in script.splitlines() if line.startswith("make")] == ["make test"]

"""The GitHub Actions workflow runs what README.md and docs/contributing.md tell a contributor to
run, with the interpreters and Node the README asks for: a fast job (lint and the unit tests),
then, once it has passed, the full one (`make test`, what .ci/run runs). It runs on GitHub's
runners as they are: they ship Google Chrome, not Debian's chromium, and the console's browser
test finds either."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.conftest import BROWSERS, ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
CI_RUN = ROOT / ".ci" / "run"


def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def jobs() -> dict[str, dict[str, Any]]:
    return dict(workflow()["jobs"])


def runs(job: str) -> list[str]:
    return [step["run"].strip() for step in jobs()[job]["steps"] if "run" in step]


def uses(job: str) -> dict[str, Any]:
    return {
        step["uses"].split("@")[0]: step.get("with", {})
        for step in jobs()[job]["steps"]
        if "uses" in step
    }


def readme_commands() -> set[str]:
    """Every command line in the sh blocks of the README and docs/contributing.md (where the
    quick checks are), without its trailing comment."""
    text = "".join(
        (ROOT / name).read_text(encoding="utf-8") for name in ("README.md", "docs/contributing.md")
    )
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    lines = (line.split("#")[0].strip() for block in blocks for line in block.splitlines())
    return {line for line in lines if line}


def test_the_workflow_runs_on_push_and_pull_request() -> None:
    data = workflow()
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"push", "pull_request"}


def test_the_fast_job_lints_and_runs_the_unit_tests_and_the_full_one_waits_for_it() -> None:
    assert set(jobs()) == {"fast", "full"}
    assert runs("fast") == ["make lint", "make unit"]
    assert runs("full") == ["make test"]
    assert jobs()["full"]["needs"] in ("fast", ["fast"])
    assert "needs" not in jobs()["fast"]


def test_its_commands_are_the_readmes() -> None:
    assert set(runs("fast") + runs("full")) <= readme_commands()


def test_each_job_sets_up_python_3_11_and_3_10_and_the_full_one_node_20() -> None:
    for job in jobs():
        python = uses(job)["actions/setup-python"]["python-version"]
        assert set(str(python).split()) == {"3.10", "3.11"}
        assert "actions/checkout" in uses(job)
    assert str(uses("full")["actions/setup-node"]["node-version"]) == "20"


def test_the_runners_browser_is_used_as_it_is() -> None:
    """GitHub's Ubuntu runners have Google Chrome on the PATH; Debian's chromium package is not
    theirs to install, so no job installs a browser: the browser test finds Chrome."""
    for job in jobs():
        assert all("apt" not in command and "chrom" not in command for command in runs(job))
    assert "google-chrome" in BROWSERS


def test_ci_run_runs_the_same_command() -> None:
    script = CI_RUN.read_text(encoding="utf-8")
    assert [line for line in script.splitlines() if line.startswith("make")] == ["make test"]


def test_ci_run_installs_chromium_only_where_no_browser_the_test_finds_is() -> None:
    script = CI_RUN.read_text(encoding="utf-8")
    (looked_for,) = re.findall(r"^for name in (.+); do$", script, flags=re.M)
    assert tuple(looked_for.split()) == BROWSERS
    assert "${CHROMIUM:-}" in script
    assert script.index("for name in") < script.index("apt-get install -y chromium")

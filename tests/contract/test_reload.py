"""Reload on edit: changing a function or the shared library rebuilds the packages and recycles
the instances, so the next invocation is a cold start on the new code, with no restart.

The test edits a copy of the repository (functions, shared library, package script, template) so
the real tree is never touched; the copy's build reuses this checkout's installed dependencies."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, build_packages

OVERRIDE = """

import miniapp as _miniapp


def handler(event, context):  # noqa: F811 - the edit under test replaces the handler
    return json.dumps({"mark": getattr(_miniapp, "RELOAD_MARK", None)})
"""


def _copy_repo(target: Path) -> Path:
    for name in ("functions", "shared", "scripts"):
        shutil.copytree(
            ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    for path in [ROOT / "template.yml", *ROOT.glob("requirements*.txt")]:
        shutil.copy2(path, target / path.name)
    (target / "build").mkdir()
    # The dependencies the package script installed for this checkout (its build/_* folders),
    # unchanged: the copy's requirements are the same files, so the script reuses them instead
    # of downloading them again.
    for cache in (ROOT / "build").glob("_*"):
        if cache.is_dir():
            (target / "build" / cache.name).symlink_to(cache, target_is_directory=True)
    return target


def _invoke_db(config: dict[str, str]) -> Any:
    """The db function's answer, or None when its cold start overran the timeout (a loaded
    machine; FC answers the same way)."""
    import fc2
    from fc2.fc_exceptions import FcError

    client = fc2.Client(
        endpoint=config["fcEndpoint"],
        accessKeyID=config["accessKeyId"],
        accessKeySecret=config["accessKeySecret"],
        Timeout=30,
    )
    try:
        return json.loads(
            client.invoke_function(
                config["serviceName"], config["dbFunctionName"], payload=json.dumps({"op": "list"})
            ).data
        )
    except FcError:
        return None


def _wait_for_answer(config: dict[str, str], wanted: Callable[[Any], bool]) -> Any:
    """Invoke until `wanted(answer)` (the watcher polls, then builds); the last answer."""
    deadline = time.time() + 120
    answer = None
    while time.time() < deadline:
        answer = _invoke_db(config)
        if wanted(answer):
            return answer
        time.sleep(0.3)
    return answer


def _cold_since(cloud: Any, moment: float) -> bool:
    return any(i.cold for i in cloud.fc.invocations.recent("db") if i.time >= moment)


def _built_copy(tmp_path: Path) -> Path:
    """A copy of the repository with its packages built (this checkout's build/_deps reused)."""
    build_packages()
    repo = _copy_repo(tmp_path / "repo")
    subprocess.run(
        [sys.executable, str(repo / "scripts" / "package.py")], check=True, capture_output=True
    )
    return repo


def _reloading_cloud(repo: Path, reports: list[str], dev_stack: bool) -> Any:
    from localcloud.cloud import CloudOptions, LocalCloud, Ports

    options = CloudOptions(
        repo_root=repo,
        state_dir=Path(".local"),
        template_path=Path("template.yml"),
        ports=Ports.ephemeral(),
        reload=True,
        reload_every=0.2,
        dev_stack=dev_stack,
    )
    return LocalCloud(options, report=reports.append)


# make dev's default (dev_stack: the rebuilt zips go out through make deploy) and --direct
@pytest.mark.parametrize("dev_stack", [True, False], ids=["through-the-stack", "direct"])
def test_an_edit_is_picked_up_by_the_next_invocation_without_a_restart(tmp_path, dev_stack):
    repo, reports = _built_copy(tmp_path), []
    with _reloading_cloud(repo, reports, dev_stack) as cloud:
        config = cloud.cloud_config()
        before = _wait_for_answer(config, lambda answer: answer is not None)
        assert "error" in before  # no session id: the real db function refuses

        # A function edit and a shared library edit together.
        edited = time.time()
        (repo / "shared" / "miniapp" / "__init__.py").open("a").write('\nRELOAD_MARK = "one"\n')
        (repo / "functions" / "db" / "index.py").open("a").write(OVERRIDE)
        assert _wait_for_answer(config, lambda a: a == {"mark": "one"}) == {"mark": "one"}
        assert _cold_since(cloud, edited)

        # Then the shared library alone.
        edited = time.time()
        again = repo / "shared" / "miniapp" / "__init__.py"
        again.write_text(again.read_text().replace('"one"', '"two"'))
        assert _wait_for_answer(config, lambda a: a == {"mark": "two"}) == {"mark": "two"}
        assert _cold_since(cloud, edited)
        warm = _invoke_db(config)
        assert warm == {"mark": "two"} and not cloud.fc.invocations.last("db").cold

    assert len([line for line in reports if "instances recycled" in line]) >= 2, reports
    if dev_stack:  # each reload was an update of make dev's stack, with the rebuilt zips
        assert (
            len(
                [
                    line
                    for line in reports
                    if line == "stack local: UPDATE_COMPLETE  Stack UPDATE completed successfully"
                ]
            )
            >= 2
        ), reports
    assert any("functions/db/index.py" in line for line in reports), reports


# -- a declaration that breaks its rules never reaches a package ------------------------------
BAD_NOTES = """from ..domain.schema import Collection, Text

COLLECTION = Collection(name="notes", fields={"Title": Text(max_chars=200)})
"""
BAD_RULE = (
    "shared/miniapp/collections/notes.py: COLLECTION.fields['Title']: the name is "
    "reserved or not [a-z][A-Za-z0-9]{0,63}"
)


def _declare_bad_notes(repo: Path) -> None:
    (repo / "shared" / "miniapp" / "collections" / "notes.py").write_text(BAD_NOTES)
    registry = repo / "shared" / "miniapp" / "collections" / "__init__.py"
    registry.write_text(registry.read_text().replace('"todos",\n', '"todos",\n    "notes",\n'))


def test_a_bad_declaration_stops_the_package_build_naming_file_field_and_rule(tmp_path):
    build_packages()
    repo = _copy_repo(tmp_path / "repo")
    _declare_bad_notes(repo)
    built = subprocess.run(
        [sys.executable, str(repo / "scripts" / "package.py")], capture_output=True, text=True
    )
    assert built.returncode == 2
    assert built.stderr.splitlines() == [
        "make package: the collection declarations break their rules, nothing was built:",
        f"  {BAD_RULE}",
    ]
    assert not (repo / "build" / "db").exists()


def test_a_running_cloud_keeps_serving_the_last_good_package_and_says_why(tmp_path):
    repo, reports = _built_copy(tmp_path), []
    with _reloading_cloud(repo, reports, dev_stack=False) as cloud:
        config = cloud.cloud_config()
        before = _wait_for_answer(config, lambda answer: answer is not None)
        _declare_bad_notes(repo)
        deadline = time.time() + 120
        while not any("keeps serving the last good package" in r for r in reports):
            assert time.time() < deadline, reports
            time.sleep(0.2)
        cloud.fc.recycle()  # a cold start too loads the last good package
        after = _wait_for_answer(config, lambda answer: answer is not None)
    assert before["error"]["code"] == after["error"]["code"] != "Misconfigured"
    failed = next(r for r in reports if "keeps serving" in r)
    assert failed.splitlines()[1:] == [
        "  make package: the collection declarations break their rules, nothing was built:",
        f"    {BAD_RULE}",
    ]

"""`make dev` serves the project's template as a ROS stack that `make deploy`'s own script put in
the local cloud: the functions run from the zips `make package` wrote, uploaded to the local OSS
and unpacked by the local ROS, exactly what `make deploy` would ship. A restart finds the stack up
to date; other stacks live beside it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.cloud import CloudOptions, LocalCloud, Ports
from localcloud.devstack import DEV_STACK
from localcloud.miniprogram import MiniProgram, new_user_id
from tests.conftest import ROOT, build_packages

SESSION_PARAMETERS = {"SessionRateLimitPerIp": "100000", "SessionRateLimitPerUser": "100000"}


def dev_cloud(state_dir: Path, lines: list[str]) -> LocalCloud:
    return LocalCloud(
        CloudOptions(
            repo_root=ROOT,
            state_dir=state_dir,
            template_path=ROOT / "template.yml",
            ports=Ports.ephemeral(),
            parameters=SESSION_PARAMETERS,
            dev_stack=True,
        ),
        report=lines.append,
    )


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_packages()
    return tmp_path_factory.mktemp("dev-stack-state")


@pytest.fixture(scope="module")
def first_start(state_dir: Path) -> Iterator[tuple[LocalCloud, list[str]]]:
    lines: list[str] = []
    with dev_cloud(state_dir, lines) as cloud:
        yield cloud, lines


def zip_hash(function: str) -> str:
    """The content hash of the zip `make package` wrote for `function`."""
    return hashlib.sha256((ROOT / "build" / f"{function}.zip").read_bytes()).hexdigest()


def app_of(cloud: LocalCloud, user: str | None = None) -> MiniProgram:
    config: dict[str, Any] = {
        **cloud.client_config(),
        "alipaySandbox": cloud.url("alipay") + "/sandbox",
    }
    return MiniProgram(config, user)


def test_make_dev_deploys_its_template_through_make_deploy(first_start):
    cloud, lines = first_start
    assert "creating stack local" in lines
    assert f"stack {DEV_STACK}: CREATE_COMPLETE  Stack CREATE completed successfully" in lines
    stacks = [s for s in cloud.ros.stacks.list() if s.name == DEV_STACK]
    assert [s.status for s in stacks] == ["CREATE_COMPLETE"]
    # the functions' Python was found at start, as when build/ is served directly
    assert set(cloud.fc.interpreters) == {"python3.10"}
    # the service is the stack's: its ServiceName, its code objects in the local OSS
    assert cloud.client_config()["serviceName"] == "miniapp-todo"
    keys = sorted(
        o.key
        for o in cloud.oss.store.listing(
            f"{DEV_STACK}-code-cn-hangzhou", "packages/", "", 100
        ).objects
    )
    assert keys == sorted(
        f"packages/{DEV_STACK}/{fn}-{zip_hash(fn)[:20]}.zip" for fn in ("db", "payments", "session")
    )


def test_the_functions_run_the_uploaded_zip(first_start, state_dir):
    cloud, _ = first_start
    app = app_of(cloud)
    session = app.login()
    assert app.db(session, "put", obj={"id": "d1", "title": "from the stack"}) == {"data": None}
    unpacked = state_dir / "ros" / "code" / zip_hash("session")
    files, _ = cloud.fc.loaded_modules("miniapp-todo-session", "session")
    ours = [f for f in files if "/miniapp/" in f]
    assert ours and all(f.startswith(str(unpacked)) for f in ours), ours[:3]


def test_a_restart_finds_the_stack_up_to_date_and_the_data_kept(first_start, state_dir):
    cloud, _ = first_start
    user = new_user_id()
    app = app_of(cloud, user)
    assert app.db(app.login(), "put", obj={"id": "kept", "title": "before"}) == {"data": None}
    cloud.stop()
    lines: list[str] = []
    with dev_cloud(state_dir, lines) as again:
        assert f"  stack {DEV_STACK} is up to date: nothing changed" in lines
        assert not any("uploaded" in line for line in lines), lines
        app = app_of(again, user)
        assert [row["id"] for row in app.db(app.login(), "list")["data"]] == ["kept"]

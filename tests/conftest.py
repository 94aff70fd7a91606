"""Shared fixtures. The local cloud starts in-process, on ephemeral ports, with its state in a
temporary folder: tests never assume anything is already running.

`local_cloud` is shared by the whole session (by each process's tests, under pytest-xdist). Every
test logs in from 127.0.0.1, so its login and refresh rate limits are lifted; tests that need other
limits, lifetimes or quotas set them on it for a while (`parameters_set`) instead of starting a
cloud.

Every test under tests/unit/ is marked `unit` (`make unit` runs them alone) and may neither start a
process nor open a connection: it runs on fakes in this process, or it belongs to another folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_CLOUD_PARAMETERS = {
    "SessionRateLimitPerIp": "1000000",
    "SessionRateLimitPerUser": "1000000",
    "RefreshRateLimitPerSession": "1000000",
    "RefreshRateLimitPerUser": "1000000",
}
UNIT_TESTS = ROOT / "tests" / "unit"
# Where the console's browser test finds a browser, in this order; .ci/run looks for the same and
# installs Debian's chromium where there is none.
BROWSERS = ("chromium", "google-chrome", "google-chrome-stable", "chromium-browser")
_built = False
_BUILT = "TESTS_PACKAGES_BUILT"  # set by a run's main process once it built them for its workers


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unit: fakes only, no process, no connection (make unit)")
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        # Under pytest-xdist (make test: -n 2): build once, before the workers start, so no two
        # build at once and no test sees build/ change under it.
        build_packages()
        os.environ[_BUILT] = "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(UNIT_TESTS):
            item.add_marker(pytest.mark.unit)


@pytest.fixture(autouse=True)
def _unit_tests_do_no_io(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test that starts a process or opens a connection fails, naming what it tried."""
    if request.node.get_closest_marker("unit") is None:
        return

    def refuse(what: str) -> Any:
        def refused(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError(
                f"a unit test does no I/O, yet it called {what}: move it out of "
                "tests/unit/ or give it a fake"
            )

        return refused

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse("subprocess.Popen"))
    for method in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, method, refuse(f"socket.{method}"))


def build_packages() -> None:
    """The local cloud runs template.yml, whose CodeUri points at the built packages: build them
    once per test session so a test never runs yesterday's code."""
    global _built
    if not _built and not os.environ.get(_BUILT):
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "package.py")],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _built = True


def npm_installed(node_dir: Path) -> Path:
    """`node_modules` of a Node test folder, installed from its package.json on first use (every
    Node test folder here depends on `@alicloud/fc2`); skips the test when Node is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    if not (node_dir / "node_modules" / "@alicloud" / "fc2").is_dir():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"], cwd=node_dir, check=True, timeout=300
        )
    return node_dir / "node_modules"


def find_browser(path: str | None = None) -> str | None:
    """$CHROMIUM if set, else the first of BROWSERS on the PATH: Debian's chromium, or the Google
    Chrome that GitHub's runners ship."""
    return os.environ.get("CHROMIUM") or next(
        (found for name in BROWSERS if (found := shutil.which(name, path=path))), None
    )


def template_parameters(**overrides: str) -> dict[str, str]:
    """Values for template.yml's parameters without a default that meet its constraints (made
    now: no key is written into the repo). The keys are random bytes, not keys: enough for the
    template reader, which checks constraints, not for a function."""
    import base64
    import secrets

    def b64(size: int) -> str:
        return base64.b64encode(secrets.token_bytes(size)).decode()

    return {
        "AppId": "9" + "".join(secrets.choice("0123456789") for _ in range(15)),
        "AlipayAppPrivateKey": b64(900),
        "AlipayPublicKey": b64(200),
        "DataKey": b64(32),
        "HashKey": b64(32),
        "CodeBucket": "code-bucket",
        **overrides,
    }


@contextmanager
def running_local_cloud(
    state_dir: Path, parameters: Mapping[str, str] | None = None
) -> Iterator[Any]:
    """A local cloud on ephemeral ports running this repo's template, stopped on exit."""
    from localcloud.cloud import CloudOptions, LocalCloud, Ports

    build_packages()
    with LocalCloud(
        CloudOptions(
            repo_root=ROOT,
            state_dir=state_dir,
            template_path=ROOT / "template.yml",
            ports=Ports.ephemeral(),
            parameters=dict(parameters or {}),
        )
    ) as cloud:
        yield cloud


@contextmanager
def parameters_set(cloud: Any, values: Mapping[str, str]) -> Iterator[Any]:
    """The cloud with `values` over its template parameters (limits, lifetimes, quotas) inside the
    block, its own again after: a test that needs other settings than the shared cloud's uses
    it instead of starting a cloud of its own."""
    cloud.set_parameters(values)
    try:
        yield cloud
    finally:
        cloud.set_parameters({})


def warm_up(config: Mapping[str, str], tries: int = 5) -> None:
    """Log in and list once, retrying: on a loaded machine a function's first cold start can
    overrun its timeout (FC answers that as it should), which a test about something else must
    not trip over."""
    from localcloud.miniprogram import MiniProgram, Session

    app = MiniProgram(config)
    for _ in range(tries):
        resp = app.post_session({"authCode": app.get_auth_code()})
        if resp.status_code == 200:
            break
    else:
        return
    session = Session(resp.json()["sessionId"], resp.json()["sts"])
    for _ in range(tries):
        try:
            app.db(session, "list", v=2)
            return
        except Exception:  # noqa: BLE001 - the db function's cold start timed out; again
            continue


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_local_cloud(
        tmp_path_factory.mktemp("localcloud-state"), SHARED_CLOUD_PARAMETERS
    ) as cloud:
        yield cloud

"""The todo mini program (client/) under Node against the local cloud: starts two clouds (one with
the template's limits relaxed for many logins, one with a 3-second session idle timeout), writes a
client config for each with `scripts/client_config.py`, and runs tests/client with node's own
test runner. Installs the npm dependencies on first use (the npm registry must be reachable
then)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import ROOT, SHARED_CLOUD_PARAMETERS, npm_installed, running_local_cloud

NODE_DIR = Path(__file__).resolve().parent
IDLE_SECONDS = 3


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return npm_installed(NODE_DIR)


@pytest.fixture(scope="module")
def main_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_local_cloud(tmp_path_factory.mktemp("client-cloud"),
                             SHARED_CLOUD_PARAMETERS) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def short_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    parameters = {**SHARED_CLOUD_PARAMETERS, "SessionIdleSeconds": str(IDLE_SECONDS)}
    with running_local_cloud(tmp_path_factory.mktemp("client-short-cloud"), parameters) as cloud:
        yield cloud


def warm(cloud: Any) -> None:
    """Warm instances of both functions before the Node tests time anything: a cold start on a
    loaded machine can overrun the function's timeout (and then the instance is killed, so the
    next call starts cold again). A few tries, then the error."""
    from fc2.fc_exceptions import FcError

    from localcloud.miniprogram import MiniProgram

    failure: object = None
    for _ in range(4):
        try:
            app = MiniProgram(cloud.cloud_config())
            answer = app.db(app.login(), "list", v=2)
        except (RuntimeError, OSError, ValueError, FcError) as exc:  # a cold start: again
            failure = exc
        else:
            if isinstance(answer, dict) and "data" in answer:
                return
            failure = answer
        time.sleep(0.5)
    raise AssertionError(f"the functions did not warm up: {failure!r}")


def client_config_for(cloud: Any, folder: Path) -> Path:
    """client/config.js for this cloud, written as `make client-config` writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    stack_file = folder / "stack.json"
    cloud.write_client_config(stack_file)
    out = folder / "config.js"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "client_config.py"),
                    "--from", str(stack_file), "--out", str(out)], check=True,
                   capture_output=True, text=True)
    return out


def test_the_mini_program_runs_against_the_local_cloud(main_cloud, short_cloud, node_modules,
                                                        tmp_path):
    warm(main_cloud)
    warm(short_cloud)
    main = main_cloud.cloud_config()
    short = short_cloud.cloud_config()
    env = {
        **os.environ,
        "CLIENT_CONFIG": str(client_config_for(main_cloud, tmp_path / "main")),
        "ALIPAY_SANDBOX": main["alipaySandbox"],
        "LOCALCLOUD_ADMIN": main["fcEndpoint"] + "/_localcloud",
        "SHORT_CLIENT_CONFIG": str(client_config_for(short_cloud, tmp_path / "short")),
        "SHORT_ALIPAY_SANDBOX": short["alipaySandbox"],
        "SHORT_LOCALCLOUD_ADMIN": short["fcEndpoint"] + "/_localcloud",
        "SHORT_IDLE_SECONDS": str(IDLE_SECONDS),
    }
    result = subprocess.run(["node", "--test", "--test-concurrency=1"], cwd=NODE_DIR, env=env,
                            capture_output=True, text=True, timeout=600)
    print(result.stdout)
    print(result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    counts = dict(re.findall(r"^# (tests|pass|fail|skipped|todo|cancelled) (\d+)$", result.stdout,
                             re.M))
    # Every test ran and passed: none skipped for want of a cloud, none cancelled.
    assert int(counts.get("tests", "0")) >= 19 and counts.get("pass") == counts["tests"], counts

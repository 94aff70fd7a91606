"""The Node SDK (`@alicloud/fc2`) against the local Function Compute: runs tests/node with
node's own test runner, pointed at an emulator started here. Installs the npm dependencies on
first use (the npm registry must be reachable then)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fc_app.harness import Cloud, running_cloud

from tests.conftest import npm_installed

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    with running_cloud(tmp_path_factory.mktemp("fc-node-state")) as running:
        yield running


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return npm_installed(NODE_DIR)


def test_node_sdk_invokes_the_local_function_compute(cloud, node_modules):
    echo = cloud.resource("echo")
    issued = cloud.issue(
        {
            "Version": "1",
            "Statement": [{"Effect": "Allow", "Action": ["fc:InvokeFunction"], "Resource": [echo]}],
        }
    )
    env = {
        **os.environ,
        "FC_ENDPOINT": cloud.url,
        "FC_ACCOUNT_ID": cloud.account.account_id,
        "FC_REGION": cloud.account.region,
        "FC_ACCESS_KEY_ID": cloud.account.access_key_id,
        "FC_ACCESS_KEY_SECRET": cloud.account.access_key_secret,
        "FC_STS_KEY_ID": issued.principal.access_key_id,
        "FC_STS_KEY_SECRET": issued.principal.access_key_secret,
        "FC_STS_TOKEN": issued.security_token,
        "FC_SERVICE": "fctest",
        "FC_FUNCTION": "echo",
        "FC_ERROR_FUNCTION": "fail",
    }
    result = subprocess.run(
        ["node", "--test"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    print(result.stdout)
    print(result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# skipped 0" in result.stdout

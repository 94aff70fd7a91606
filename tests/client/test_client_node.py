"""The todo mini program (client/) under Node against the shared local cloud (its login limits
lifted for many logins): writes a client config with `scripts/client_config.py` and runs
tests/client with node's own test runner; then, with the cloud's session idle timeout set to 3
seconds, the one test that waits for a session to idle out. Each runs once per language the mini
program speaks (the phone's `my.getSystemInfoSync().language`: Chinese, the default, and
English). Installs the npm dependencies on first use (the npm registry must be reachable then)."""

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

from ..conftest import ROOT, npm_installed, parameters_set

NODE_DIR = Path(__file__).resolve().parent
IDLE_SECONDS = 3
IDLE_TEST = "a session that expired while idle is replaced by a new login"
# The phone's language setting as Alipay reports it, one run each (client/lib/i18n).
LANGUAGES = pytest.mark.parametrize("language", ["zh-Hans", "en-US"])


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return npm_installed(NODE_DIR)


@pytest.fixture
def short_idle_cloud(local_cloud: Any) -> Iterator[Any]:
    """The shared cloud with a 3-second session idle timeout, its own again after."""
    with parameters_set(local_cloud, {"SessionIdleSeconds": str(IDLE_SECONDS)}) as cloud:
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
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "client_config.py"),
            "--from",
            str(stack_file),
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def run_node(env: dict[str, str], *args: str) -> dict[str, int]:
    """node --test in tests/client with `env` naming the cloud(s); the run's counts by outcome."""
    result = subprocess.run(
        ["node", "--test", "--test-concurrency=1", *args],
        cwd=NODE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(result.stdout)
    print(result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        name: int(n)
        for name, n in re.findall(
            r"^# (tests|pass|fail|skipped|todo|cancelled) (\d+)$", result.stdout, re.M
        )
    }


# This run moves the shared cloud's clock 16 minutes on, for good: the emulators' signature checks
# keep to real time, and a phone here sets its clock to the cloud's (support.mjs onCloudTime).
@LANGUAGES
def test_the_mini_program_runs_against_the_local_cloud(
    local_cloud, node_modules, tmp_path, language
):
    warm(local_cloud)
    config = local_cloud.cloud_config()
    counts = run_node(
        {
            "CLIENT_LANGUAGE": language,
            "CLIENT_CONFIG": str(client_config_for(local_cloud, tmp_path / "main")),
            "ALIPAY_SANDBOX": config["alipaySandbox"],
            "LOCALCLOUD_ADMIN": config["fcEndpoint"] + "/_localcloud",
        }
    )
    # Every test ran and passed but the idle one (the next test runs it): none skipped for want
    # of a cloud, none cancelled.
    assert counts.get("tests", 0) >= 40, counts
    assert counts.get("skipped") == 1 and counts.get("pass") == counts["tests"] - 1, counts


@LANGUAGES
def test_a_session_that_idled_out_is_replaced_by_a_new_login(
    short_idle_cloud, node_modules, tmp_path, language
):
    warm(short_idle_cloud)
    config = short_idle_cloud.cloud_config()
    counts = run_node(
        {
            "CLIENT_LANGUAGE": language,
            "SHORT_CLIENT_CONFIG": str(client_config_for(short_idle_cloud, tmp_path / "short")),
            "SHORT_ALIPAY_SANDBOX": config["alipaySandbox"],
            "SHORT_LOCALCLOUD_ADMIN": config["fcEndpoint"] + "/_localcloud",
            "SHORT_IDLE_SECONDS": str(IDLE_SECONDS),
        },
        f"--test-name-pattern={IDLE_TEST}",
        "sessions.test.mjs",
    )
    assert counts.get("pass") == 1 and counts.get("fail") == 0, counts

"""`python -m localcloud` (what `make dev` runs): starts every emulator, writes the client config
with exactly the documented keys, keeps its state across restarts, `--reset` clears it, and
Ctrl-C stops it cleanly."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, build_packages

KEYS = ["accountId", "region", "serviceName", "sessionFunctionName", "dbFunctionName",
        "fcEndpoint", "sessionUrl", "otsEndpoint", "otsInstance", "slsEndpoint", "slsProject",
        "stsEndpoint", "alipayGateway", "alipaySandbox", "alipayAppId",
        "alipayAppPrivateKeyFile", "alipayPublicKeyFile", "accessKeyId", "accessKeySecret"]
PORT_FLAGS = ["--fc-port", "0", "--tablestore-port", "0", "--sls-port", "0", "--sts-port", "0",
              "--alipay-port", "0", "--oss-port", "0", "--ros-port", "0"]


def _start(state: Path, config: Path, *extra: str) -> subprocess.Popen[str]:
    config.unlink(missing_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "localcloud", "--state-dir", str(state), "--client-config",
         str(config), *PORT_FLAGS, *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(config: Path, proc: subprocess.Popen[str]) -> dict[str, str]:
    deadline = time.time() + 30
    while not config.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "the local cloud did not write its client config"
        time.sleep(0.1)
    time.sleep(0.1)  # written in one go, but let the writer close it
    return json.loads(config.read_text())


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    return out


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    build_packages()
    base = tmp_path_factory.mktemp("cli")
    proc = _start(base / "state", base / "local.json")
    config = _wait_for(base / "local.json", proc)
    health = requests.get(config["fcEndpoint"] + "/_localcloud/health", timeout=5).json()
    out = _stop(proc)
    assert health == {"ok": True}
    return base, config, out


def test_client_config_has_exactly_the_documented_keys(first_run):
    _, config, _ = first_run
    assert list(config) == KEYS
    assert config["sessionUrl"] == (f"{config['fcEndpoint']}/2016-08-15/proxy/"
                                    f"{config['serviceName']}/{config['sessionFunctionName']}/")
    assert Path(config["alipayAppPrivateKeyFile"]).exists()


def test_it_prints_the_endpoints_and_the_root_key_and_stops_on_ctrl_c(first_run):
    _, config, out = first_run
    for value in (config["fcEndpoint"], config["otsEndpoint"], config["slsEndpoint"],
                  config["stsEndpoint"], config["alipayGateway"], config["accessKeyId"],
                  config["accessKeySecret"]):
        assert value in out
    assert "stopping" in out


def test_state_survives_a_restart_and_reset_clears_it(first_run):
    base, config, _ = first_run
    proc = _start(base / "state", base / "local.json")
    again = _wait_for(base / "local.json", proc)
    _stop(proc)
    assert (again["accountId"], again["accessKeySecret"], again["alipayAppId"]) == (
        config["accountId"], config["accessKeySecret"], config["alipayAppId"])
    proc = _start(base / "state", base / "local.json", "--reset")
    fresh = _wait_for(base / "local.json", proc)
    _stop(proc)
    assert fresh["accountId"] != config["accountId"]
    assert fresh["accessKeySecret"] != config["accessKeySecret"]

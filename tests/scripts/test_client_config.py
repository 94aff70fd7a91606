"""`scripts/client_config.py` (`make client-config`): the mini program's config from a stack's
client config, with nothing but the seven values it needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "client_config.py"
LOCAL = {
    "accountId": "1000000000000001",
    "region": "cn-hangzhou",
    "serviceName": "miniapp-todo",
    "sessionServiceName": "miniapp-todo-session",
    "sessionFunctionName": "session",
    "dbFunctionName": "db",
    "fcEndpoint": "http://127.0.0.1:9100",
    "accessKeyId": "LTAIroot",
    "accessKeySecret": "root-secret",
    "alipayAppPrivateKeyFile": ".local/app.pem",
}


def run(tmp_path: Path, stack: object) -> tuple[subprocess.CompletedProcess[str], Path]:
    source = tmp_path / "stack.json"
    source.write_text(stack if isinstance(stack, str) else json.dumps(stack))
    out = tmp_path / "config.js"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--from", str(source), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    return result, out


def exported(out: Path) -> dict[str, str]:
    text = out.read_text()
    assert text.startswith("// Written by `make client-config`")
    return json.loads(text.split("module.exports = ", 1)[1].rstrip().rstrip(";"))


def test_local_stack_keeps_its_endpoint_and_no_secret(tmp_path):
    result, out = run(tmp_path, LOCAL)
    assert result.returncode == 0, result.stderr
    assert exported(out) == {
        "accountId": "1000000000000001",
        "region": "cn-hangzhou",
        "serviceName": "miniapp-todo",
        "sessionServiceName": "miniapp-todo-session",
        "sessionFunctionName": "session",
        "dbFunctionName": "db",
        "endpoint": "http://127.0.0.1:9100",
    }
    assert "root-secret" not in out.read_text() and "LTAIroot" not in out.read_text()


def test_a_stack_file_from_before_the_session_service_uses_one_service_for_both(tmp_path):
    older = {k: v for k, v in LOCAL.items() if k != "sessionServiceName"}
    result, out = run(tmp_path, older)
    assert result.returncode == 0, result.stderr
    assert exported(out)["sessionServiceName"] == "miniapp-todo"


def test_deployed_stack_gets_fc_public_endpoint(tmp_path):
    deployed = {k: v for k, v in LOCAL.items() if k != "fcEndpoint"}
    result, out = run(tmp_path, deployed)
    assert result.returncode == 0, result.stderr
    assert exported(out)["endpoint"] == "https://1000000000000001.cn-hangzhou.fc.aliyuncs.com"


@pytest.mark.parametrize(
    "stack, message",
    [
        ({**LOCAL, "dbFunctionName": ""}, "dbFunctionName is missing or malformed"),
        ({k: v for k, v in LOCAL.items() if k != "region"}, "region is missing or malformed"),
        ({**LOCAL, "serviceName": "x'; alert(1)"}, "serviceName is missing or malformed"),
        ({**LOCAL, "sessionServiceName": "x'; alert(1)"}, "sessionServiceName is malformed"),
        ({**LOCAL, "fcEndpoint": "javascript:alert(1)"}, "fcEndpoint is malformed"),
        ("[1, 2]", "must hold a JSON object"),
        ("{not json", "is not JSON"),
    ],
)
def test_bad_stack_files_are_refused_clearly_and_write_nothing(tmp_path, stack, message):
    result, out = run(tmp_path, stack)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_a_missing_local_stack_says_to_run_make_dev(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--from",
            str(tmp_path / "local.json"),
            "--out",
            str(tmp_path / "config.js"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "make dev" in result.stderr

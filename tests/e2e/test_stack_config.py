"""`make client-config-from-stack`: a stack's outputs alone make its client config, asked from
the local ROS or pasted into a file in any of the shapes ROS shows them, and the todo flow runs
on it; the local ROS answers its own FC endpoint in the outputs."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from localcloud.miniprogram import MiniProgram
from tests.conftest import ROOT, running_local_cloud
from tests.e2e.deploying import Deployer

STACK, SERVICE = "from-outputs", "todo-outputs"


CONFIG = ROOT / "client-config" / f"{STACK}.json"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Deployer, dict[str, str]]]:
    """A stack `make deploy` made, and the client config it wrote (then removed, for
    client-config-from-stack to write again)."""
    with running_local_cloud(tmp_path_factory.mktemp("outputs-state")) as cloud:
        deployer = Deployer(cloud, tmp_path_factory.mktemp("outputs-work"))
        deployer.deploy(STACK, SERVICE)
        written = json.loads(CONFIG.read_text())
        yield deployer, written
    CONFIG.unlink(missing_ok=True)


def make(deployer: Deployer, *args: str) -> subprocess.CompletedProcess[str]:
    CONFIG.unlink(missing_ok=True)
    return subprocess.run(
        ["make", "--no-print-directory", "client-config-from-stack", f"STACK={STACK}", *args],
        cwd=ROOT,
        env=deployer.env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_outputs_name_the_local_fc_endpoint(deployed):
    deployer, _ = deployed
    stack = next(s for s in deployer.cloud.ros.stacks.list() if s.name == STACK)
    fc = deployer.cloud.url("fc")
    assert stack.outputs["FcEndpoint"] == fc
    assert stack.outputs["SessionUrl"] == f"{fc}/2016-08-15/proxy/{SERVICE}-session/session/"


def test_the_config_asked_from_ros_is_the_one_make_deploy_wrote(deployed):
    deployer, written = deployed
    result = make(deployer)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"wrote client-config/{STACK}.json" in result.stdout
    assert json.loads(CONFIG.read_text()) == written


@pytest.mark.parametrize("shape", ["mapping", "ros list", "GetStack answer"])
def test_pasted_outputs_make_the_same_config_and_the_todo_flow_runs(deployed, tmp_path, shape):
    deployer, written = deployed
    stack = next(s for s in deployer.cloud.ros.stacks.list() if s.name == STACK)
    listed = [{"OutputKey": k, "OutputValue": v} for k, v in stack.outputs.items()]
    pasted = {
        "mapping": dict(stack.outputs),
        "ros list": listed,
        "GetStack answer": {"StackName": STACK, "Outputs": listed},
    }[shape]
    (tmp_path / "outputs.json").write_text(json.dumps(pasted))
    result = make(deployer, f"OUTPUTS={tmp_path / 'outputs.json'}")
    assert result.returncode == 0, result.stdout + result.stderr
    config = json.loads(CONFIG.read_text())
    assert config == written
    app = MiniProgram({**config, "alipaySandbox": deployer.cloud.url("alipay") + "/sandbox"})
    deployer.warm_up(config)
    session = app.login()
    added = app.invoke(session, {"v": 2, "sid": session.session_id, "op": "add", "text": shape})
    assert added["data"]["text"] == shape


@pytest.mark.parametrize(
    ("pasted", "said"),
    [
        ({"AccountId": "1"}, "the outputs lack Region, ServiceName"),
        ([{"Key": "x"}], "a list of outputs holds {OutputKey, OutputValue} objects"),
        ("not json", "outputs.json: Expecting value"),
    ],
)
def test_outputs_that_make_no_config_are_named_and_nothing_is_written(
    deployed, tmp_path, pasted, said
):
    deployer, _ = deployed
    path = tmp_path / "outputs.json"
    path.write_text(pasted if isinstance(pasted, str) else json.dumps(pasted))
    result = make(deployer, f"OUTPUTS={path}")
    assert result.returncode != 0
    assert said in result.stderr
    assert not CONFIG.exists()


def test_a_stack_that_does_not_exist_is_named(deployed):
    deployer, _ = deployed
    result = subprocess.run(
        ["make", "--no-print-directory", "client-config-from-stack", "STACK=no-such-stack"],
        cwd=ROOT,
        env=deployer.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "no stack named 'no-such-stack'" in result.stderr

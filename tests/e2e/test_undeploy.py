"""`make undeploy STACK=name` as docs/deploy.md gives it, against a local cloud: it deletes the
stack `make deploy` made (progress shown as a deploy's), then the code objects its deploys
uploaded, the bucket when `make deploy` created it and nothing else is in it, and the client
config, after which `make client-config STACK=name` fails clearly. Resources the template
retains keep their rows; a stack that does not delete names the resource and ROS's reason and
keeps everything else; nothing is deleted without --yes where no terminal can ask."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fc2
import pytest
import yaml
from tablestore import INF_MAX, INF_MIN, OTSClient, Row

from scripts.deploykit import functions_of
from tests.conftest import ROOT, running_local_cloud
from tests.e2e.deploying import Deployer, failure
from tests.e2e.support import ots_client

REGION = "cn-hangzhou"
STACKS = ("undeploy-a", "undeploy-b", "undeploy-c", "undeploy-own", "undeploy-gone")
STACKS += ("undeploy-kept", "undeploy-half", "undeploy-ask")


@pytest.fixture(scope="module")
def deployer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployer]:
    with running_local_cloud(tmp_path_factory.mktemp("undeploy-state")) as cloud:
        yield Deployer(cloud, tmp_path_factory.mktemp("undeploy-work"))
    for stack in STACKS:
        (ROOT / "client-config" / f"{stack}.json").unlink(missing_ok=True)


def deploy(deployer: Deployer, stack: str, *extra: str, bucket: str | None = None) -> None:
    """`make deploy` of `stack`, with names of its own (service, roles, logs, instance)."""
    result = deployer.run(
        stack,
        "--parameter",
        f"ServiceName={stack}",
        "--parameter",
        f"RoleNamePrefix={stack}",
        "--parameter",
        f"LogProjectName={stack}-logs",
        "--parameter",
        f"DBInstanceName={stack.removeprefix('undeploy-')}-db",
        *extra,
        bucket=bucket,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def objects(deployer: Deployer, bucket: str, prefix: str = "") -> list[str]:
    if bucket not in deployer.cloud.oss.store.buckets():
        return []
    return [o.key for o in deployer.cloud.oss.store.listing(bucket, prefix, "", 1000).objects]


def live(deployer: Deployer, stack: str) -> list[Any]:
    return [
        s
        for s in deployer.cloud.ros.stacks.list()
        if s.name == stack and s.status != "DELETE_COMPLETE"
    ]


def client_config(stack: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "client-config", f"STACK={stack}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def invoke(deployer: Deployer, service: str) -> Any:
    account = deployer.cloud.account
    client = fc2.Client(
        endpoint=deployer.cloud.url("fc"),
        accessKeyID=account.access_key_id,
        accessKeySecret=account.access_key_secret,
    )
    return client.invoke_function(service, "db", payload=b'"ping"')


def test_undeploy_removes_the_stack_its_objects_its_bucket_and_its_client_config(deployer):
    stack, bucket = "undeploy-a", f"undeploy-a-code-{REGION}"
    deploy(deployer, stack)
    assert objects(deployer, bucket, f"packages/{stack}/") and live(deployer, stack)
    assert client_config(stack).returncode == 0
    result = deployer.undeploy(stack, "--yes")
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert f"deleting stack {stack}" in lines
    # progress as a deploy prints it, resource by resource
    progress = [line.split() for line in lines if " ALIYUN::" in line]
    assert progress and all(words[2] == "DELETE_COMPLETE" for words in progress[-5:]), progress
    assert ["DBFunction", "ALIYUN::FC::Function", "DELETE_COMPLETE"] in progress
    assert f"stack {stack}: DELETE_COMPLETE  Stack DELETE completed successfully" in lines
    count = len(set(functions_of(yaml.safe_load((ROOT / "template.yml").read_text())).values()))
    assert f"removed {count} code objects (oss://{bucket}/packages/{stack}/)" in lines
    assert f"deleted bucket {bucket} (make deploy created it, and it is empty)" in lines
    assert f"removed client-config/{stack}.json" in lines
    assert live(deployer, stack) == [] and bucket not in deployer.cloud.oss.store.buckets()
    assert not (ROOT / "client-config" / f"{stack}.json").exists()
    with pytest.raises(fc2.fc_exceptions.FcError) as info:
        invoke(deployer, stack)
    assert "ServiceNotFound" in str(info.value)
    after = client_config(stack)
    assert after.returncode != 0
    assert f"client-config/{stack}.json does not exist: " in after.stderr
    assert "`make undeploy` removes it" in after.stderr


def test_a_shared_bucket_keeps_the_other_stacks_objects_until_the_last_goes(deployer):
    bucket = "undeploy-shared-code"
    deploy(deployer, "undeploy-b", bucket=bucket)
    deploy(deployer, "undeploy-c", bucket=bucket)
    first = deployer.undeploy("undeploy-b", "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"kept bucket {bucket}: it holds other objects than this stack's" in first.stdout
    assert objects(deployer, bucket, "packages/undeploy-b/") == []
    assert objects(deployer, bucket, "packages/undeploy-c/")
    last = deployer.undeploy("undeploy-c", "--yes")
    assert last.returncode == 0, last.stdout + last.stderr
    assert f"deleted bucket {bucket} (make deploy created it, and it is empty)" in last.stdout
    assert bucket not in deployer.cloud.oss.store.buckets()


def test_a_bucket_make_deploy_did_not_create_is_kept(deployer):
    bucket = "undeploy-own-code"
    deployer.bucket(bucket).create_bucket()
    deploy(deployer, "undeploy-own", bucket=bucket)
    result = deployer.undeploy("undeploy-own", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"kept bucket {bucket}: make deploy did not create it" in result.stdout
    assert objects(deployer, bucket) == []


def test_what_a_stack_deleted_by_hand_left_behind_is_removed(deployer):
    stack, bucket = "undeploy-gone", f"undeploy-gone-code-{REGION}"
    deploy(deployer, stack)
    (gone,) = live(deployer, stack)
    deployer.cloud.ros.stacks.delete(gone.id)  # as with ROS's own API or console
    deployer.cloud.ros.stacks.wait()
    result = deployer.undeploy(stack, "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"no stack {stack} in {REGION}" in result.stdout
    assert bucket not in deployer.cloud.oss.store.buckets()
    assert client_config(stack).returncode != 0


def retaining(tmp_path: Path, *logical_ids: str) -> Path:
    """template.yml with `DeletionPolicy: Retain` on each of `logical_ids`."""
    text = (ROOT / "template.yml").read_text()
    for logical_id in logical_ids:
        head = f"\n  {logical_id}:\n"
        assert text.count(head) == 1, logical_id
        text = text.replace(head, f"{head}    DeletionPolicy: Retain\n")
    path = tmp_path / "template.yml"
    path.write_text(text)
    return path


def todo_rows(client: OTSClient) -> list[Any]:
    _, _, rows, _ = client.get_range(
        "todo_list",
        "FORWARD",
        [("uid", INF_MIN), ("id", INF_MIN)],
        [("uid", INF_MAX), ("id", INF_MAX)],
    )
    return [dict(r.primary_key)["id"] for r in rows]


def test_resources_the_template_retains_keep_their_rows(deployer, tmp_path):
    stack = "undeploy-kept"
    deploy(deployer, stack, "--template", str(retaining(tmp_path, "Database", "TodoTable")))
    ots_client(deployer.cloud, "kept-db").put_row(
        "todo_list", Row([("uid", "u1"), ("id", "t1")], [("text", "x")])
    )
    result = deployer.undeploy(stack, "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "kept, with their data (DeletionPolicy: Retain, --retain): Database, TodoTable"
        in result.stdout
    )
    assert live(deployer, stack) == []
    assert "kept-db" in deployer.cloud.tablestore.instances()
    assert todo_rows(ots_client(deployer.cloud, "kept-db")) == ["t1"]
    assert "session" not in ots_client(deployer.cloud, "kept-db").list_table()  # the rest went


def test_a_stack_that_does_not_delete_names_the_resource_and_keeps_the_rest(deployer, tmp_path):
    stack, bucket = "undeploy-half", f"undeploy-half-code-{REGION}"
    deploy(deployer, stack, "--template", str(retaining(tmp_path, "TodoTable")))
    result = deployer.undeploy(stack, "--yes")
    assert f"stack {stack}: DELETE_FAILED" in result.stdout
    line = failure(result, "undeploy")
    assert "the stack did not delete: Database (ALIYUN::OTS::Instance): instance 'half-db'" in line
    assert "still holds the retained table todo_list" in line
    assert "--retain <LogicalId>" in line
    # nothing else was removed, and the stack still serves
    assert objects(deployer, bucket, f"packages/{stack}/")
    assert (ROOT / "client-config" / f"{stack}.json").exists()
    assert live(deployer, stack)[0].status == "DELETE_FAILED"
    # deleted again, keeping the instance too
    again = deployer.undeploy(stack, "--yes", "--retain", "Database")
    assert again.returncode == 0, again.stdout + again.stderr
    assert (
        "kept, with their data (DeletionPolicy: Retain, --retain): Database, TodoTable"
        in again.stdout
    )
    assert live(deployer, stack) == [] and bucket not in deployer.cloud.oss.store.buckets()
    assert "todo_list" in ots_client(deployer.cloud, "half-db").list_table()


def test_without_a_terminal_nothing_is_deleted_unless_yes_is_given(deployer):
    stack = "undeploy-ask"
    deploy(deployer, stack)
    line = failure(deployer.undeploy(stack), "undeploy")
    assert (
        "there is no terminal to ask on" in line
        and f'make undeploy STACK={stack} ARGS="--yes"' in line
    )
    assert live(deployer, stack)


def test_in_a_terminal_anything_but_yes_deletes_nothing(deployer):
    """The question is asked on the terminal, and `n` (or nothing) keeps everything."""
    stack = "undeploy-ask"  # deployed by the test before
    assert live(deployer, stack)
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "deploy.py"), "--delete", "--stack-name", stack],
        cwd=ROOT,
        env=deployer.env,
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(secondary)
    os.write(primary, b"n\n")
    out, err = process.communicate(timeout=120)
    os.close(primary)
    assert process.returncode == 1, out + err
    assert f"Delete stack {stack} and the rest listed above? [y/N]" in out
    assert "undeploy failed: nothing was deleted (not confirmed)" in err
    assert live(deployer, stack) and (ROOT / "client-config" / f"{stack}.json").exists()


def test_make_undeploy_without_a_stack_names_what_is_missing():
    result = subprocess.run(
        ["make", "--no-print-directory", "undeploy"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "name the stack: make undeploy STACK=<name>" in result.stderr

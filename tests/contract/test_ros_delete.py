"""The local ROS deleting stacks, through `aliyun-python-sdk-ros`: DeleteStack runs in the
background (DELETE_IN_PROGRESS, each resource last first, DELETE_COMPLETE), `DeletionPolicy:
Retain` and DeleteStack's RetainResources keep a resource's data, a resource that cannot be
deleted fails the stack DELETE_FAILED with its reason (and the stack may be deleted again), and
GetTemplate answers the body a stack was made from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aliyunsdkros.request.v20190910 import (
    DeleteStackRequest,
    GetTemplateRequest,
    ValidateTemplateRequest,
)
from tablestore import INF_MAX, INF_MIN, OTSClient, Row
from tablestore.retry import NoRetryPolicy

from localcloud.ros.retention import RETAINED
from tests.conftest import running_local_cloud
from tests.contract.test_ros import BUCKET, TABLES, TEMPLATE, Ros, error_of, package

KEPT_TABLE = TABLES.replace(
    "  Notes:\n    Type: ALIYUN::OTS::Table\n",
    "  Notes:\n    Type: ALIYUN::OTS::Table\n    DeletionPolicy: Retain\n",
)
KEPT_BOTH = KEPT_TABLE.replace(
    "  Db:\n    Type: ALIYUN::OTS::Instance\n",
    "  Db:\n    Type: ALIYUN::OTS::Instance\n    DeletionPolicy: Retain\n",
)


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ros-delete-state")


@pytest.fixture(scope="module")
def ros(state: Path) -> Iterator[Ros]:
    import oss2

    with running_local_cloud(state) as cloud:
        account = cloud.account
        bucket = oss2.Bucket(
            oss2.Auth(account.access_key_id, account.access_key_secret), cloud.url("oss"), BUCKET
        )
        bucket.create_bucket()
        bucket.put_object("v1.zip", package("hello"))
        yield Ros(cloud)


def delete(ros: Ros, stack_id: str, *retain: str) -> dict[str, Any]:
    request = DeleteStackRequest.DeleteStackRequest()
    request.set_StackId(stack_id)
    if retain:
        request.set_RetainResourcess(list(retain))
    ros.call(request)
    return ros.settle(stack_id)


def tables(ros: Ros, instance: str) -> OTSClient:
    account = ros.cloud.account
    return OTSClient(
        ros.cloud.url("tablestore"),
        account.access_key_id,
        account.access_key_secret,
        instance,
        retry_policy=NoRetryPolicy(),
    )


def rows(client: OTSClient) -> list[Any]:
    _, _, found, _ = client.get_range("notes", "FORWARD", [("id", INF_MIN)], [("id", INF_MAX)])
    return [dict(r.primary_key)["id"] for r in found]


def test_a_deletion_deletes_each_resource_last_first(ros):
    stack_id = ros.settle(ros.create("watched", {"ServiceName": "ros-watched"}))["StackId"]
    ros.cloud.ros.stacks._step = 0.5  # a pause per resource, so polls see the steps
    try:
        request = DeleteStackRequest.DeleteStackRequest()
        request.set_StackId(stack_id)
        ros.call(request)
        snapshots = []
        while not snapshots or not all(s == "DELETE_COMPLETE" for s in snapshots[-1].values()):
            snapshots.append({k: r["Status"] for k, r in ros.resources(stack_id).items()})
    finally:
        ros.cloud.ros.stacks._step = 0.0
    assert ros.settle(stack_id)["Status"] == "DELETE_COMPLETE"
    # whenever the service (declared first) is being deleted, its function already is deleted
    for snapshot in snapshots:
        assert snapshot["Svc"] == "CREATE_COMPLETE" or snapshot["Fn"] == "DELETE_COMPLETE", snapshot


def test_retained_instance_and_table_keep_their_rows(ros):
    params = {"Instance": "kept-db", "TableInstance": "kept-db"}
    stack_id = ros.settle(ros.create("kept-db", params, KEPT_BOTH))["StackId"]
    tables(ros, "kept-db").put_row("notes", Row([("id", "n1")], [("text", "kept")]))
    stack = delete(ros, stack_id)
    assert stack["Status"] == "DELETE_COMPLETE"
    resources = ros.resources(stack_id)
    assert {
        k: (r["Status"], r["StatusReason"], r["PhysicalResourceId"]) for k, r in resources.items()
    } == {
        "Db": ("DELETE_COMPLETE", RETAINED, "kept-db"),
        "Notes": ("DELETE_COMPLETE", RETAINED, "notes"),
    }
    assert "kept-db" in ros.cloud.tablestore.instances()
    assert rows(tables(ros, "kept-db")) == ["n1"]


def test_a_table_retained_in_an_instance_that_is_not_fails_the_deletion_then_can_be_kept(ros):
    params = {"Instance": "half-db", "TableInstance": "half-db"}
    stack_id = ros.settle(ros.create("half-db", params, KEPT_TABLE))["StackId"]
    tables(ros, "half-db").put_row("notes", Row([("id", "n2")], [("text", "kept")]))
    stack = delete(ros, stack_id)
    assert stack["Status"] == "DELETE_FAILED"
    assert stack["StatusReason"].startswith("Resource Db delete failed: instance 'half-db' still")
    db = ros.resources(stack_id)["Db"]
    assert db["Status"] == "DELETE_FAILED" and "retain the instance too" in db["StatusReason"]
    assert rows(tables(ros, "half-db")) == ["n2"]  # nothing was deleted
    # deleted again, keeping the instance as well (DeleteStack's RetainResources)
    assert delete(ros, stack_id, "Db")["Status"] == "DELETE_COMPLETE"
    assert rows(tables(ros, "half-db")) == ["n2"]


def test_retain_resources_names_only_resources_that_can_be_kept(ros):
    stack_id = ros.settle(ros.create("keep-fn", {"ServiceName": "ros-keep-fn"}))["StackId"]
    for name, says in (("Nope", "is not a resource of the stack"), ("Fn", "cannot be retained")):
        request = DeleteStackRequest.DeleteStackRequest()
        request.set_StackId(stack_id)
        request.set_RetainResourcess([name])
        error = error_of(ros, request)
        assert (error.get_error_code(), says in error.get_error_msg()) == ("InvalidParameter", True)
    assert ros.settle(stack_id)["Status"] == "CREATE_COMPLETE"  # untouched


@pytest.mark.parametrize(
    "policy, says",
    [
        ("Retain", "DeletionPolicy Retain on ALIYUN::FC::Service is not supported locally"),
        ("Snapshot", "DeletionPolicy 'Snapshot' is not one of Delete, Retain"),
    ],
)
def test_a_deletion_policy_the_local_cloud_cannot_honour_is_refused_at_the_call(ros, policy, says):
    body = TEMPLATE.replace(
        "    Type: ALIYUN::FC::Service\n",
        f"    Type: ALIYUN::FC::Service\n    DeletionPolicy: {policy}\n",
    )
    request = ValidateTemplateRequest.ValidateTemplateRequest()
    request.set_TemplateBody(body)
    for error in (error_of(ros, request), _create_error(ros, body)):
        assert error.get_error_code() == "StackValidationFailed"
        assert (
            says in error.get_error_msg()
            and "(Resources.Svc.DeletionPolicy)" in error.get_error_msg()
        )


def _create_error(ros: Ros, body: str) -> Any:
    from aliyunsdkros.request.v20190910 import CreateStackRequest

    request = CreateStackRequest.CreateStackRequest()
    request.set_StackName("bad-policy")
    request.set_TemplateBody(body)
    request.set_Parameterss([{"ParameterKey": "ServiceName", "ParameterValue": "ros-bad-policy"}])
    return error_of(ros, request)


def test_an_update_that_drops_a_retained_table_keeps_it(ros):
    params = {"Instance": "drop-db", "TableInstance": "drop-db"}
    stack_id = ros.settle(ros.create("drop-db", params, KEPT_TABLE))["StackId"]
    tables(ros, "drop-db").put_row("notes", Row([("id", "n3")], [("text", "kept")]))
    without_table = KEPT_TABLE[: KEPT_TABLE.index("  Notes:")]
    from tests.contract.test_ros import update

    ros.call(update(stack_id, params, body=without_table))
    assert ros.settle(stack_id)["Status"] == "UPDATE_COMPLETE"
    assert rows(tables(ros, "drop-db")) == ["n3"]


def test_get_template_answers_the_stacks_body(ros):
    stack_id = ros.settle(ros.create("shown", {"ServiceName": "ros-shown"}))["StackId"]
    request = GetTemplateRequest.GetTemplateRequest()
    request.set_StackId(stack_id)
    assert ros.call(request)["TemplateBody"] == TEMPLATE


def test_what_a_deleted_stack_retained_is_served_again_after_a_restart(tmp_path):
    params = {"Instance": "restart-db", "TableInstance": "restart-db"}
    with running_local_cloud(tmp_path) as cloud:
        ros = Ros(cloud)
        stack_id = ros.settle(ros.create("restart-db", params, KEPT_BOTH))["StackId"]
        tables(ros, "restart-db").put_row("notes", Row([("id", "n4")], [("text", "kept")]))
        assert delete(ros, stack_id)["Status"] == "DELETE_COMPLETE"
    with running_local_cloud(tmp_path) as again:
        assert "restart-db" in again.tablestore.instances()
        assert rows(tables(Ros(again), "restart-db")) == ["n4"]


def test_an_update_creates_updates_and_deletes_only_what_changed(ros):
    from tests.contract.test_ros import update

    params = {"Instance": "diff-db", "TableInstance": "diff-db"}
    stack_id = ros.settle(ros.create("diff-db", params, TABLES))["StackId"]
    body = TABLES.replace("TableName: notes", "TableName: notes\n      TimeToLive: 86400").replace(
        "  Db:\n",
        "  Extra:\n    Type: ALIYUN::OTS::Table\n    Properties:\n"
        "      InstanceName: {Ref: TableInstance}\n      TableName: extra\n"
        "      PrimaryKey: [{Name: id, Type: STRING}]\n  Db:\n",
    )
    ros.call(update(stack_id, params, body=body))
    assert ros.settle(stack_id)["Status"] == "UPDATE_COMPLETE"
    assert {k: r["Status"] for k, r in ros.resources(stack_id).items()} == {
        "Extra": "CREATE_COMPLETE",
        "Db": "CREATE_COMPLETE",  # unchanged: left alone
        "Notes": "UPDATE_COMPLETE",
    }
    ros.call(update(stack_id, params, body=TABLES.replace("  Notes:", "  Other:")))
    assert ros.settle(stack_id)["Status"] == "UPDATE_COMPLETE"
    assert {k: r["Status"] for k, r in ros.resources(stack_id).items()} == {
        "Db": "CREATE_COMPLETE",
        "Other": "CREATE_COMPLETE",
    }

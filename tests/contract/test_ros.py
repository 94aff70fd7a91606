"""The local ROS through `aliyun-python-sdk-ros` only: CreateStack, UpdateStack, GetStack,
ListStacks, DeleteStack, ListStackResources, ValidateTemplate, ROS's statuses and errors, with
function code taken from the local OSS and served by the local Function Compute."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import fc2
import oss2
import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkros.request.v20190910 import (
    CreateChangeSetRequest,
    CreateStackRequest,
    DeleteStackRequest,
    GetStackRequest,
    ListStackEventsRequest,
    ListStackResourcesRequest,
    ListStacksRequest,
    UpdateStackRequest,
    ValidateTemplateRequest,
)
from tablestore import INF_MAX, INF_MIN, OTSClient, Row
from tablestore.retry import NoRetryPolicy

from tests.conftest import running_local_cloud

BUCKET = "ros-contract-code"
TEMPLATE = """\
ROSTemplateFormatVersion: '2015-09-01'
Parameters:
  ServiceName: {Type: String, AllowedPattern: '[a-z][a-z0-9-]*'}
  CodeObject: {Type: String, Default: v1.zip}
Resources:
  Svc:
    Type: ALIYUN::FC::Service
    Properties: {ServiceName: {Ref: ServiceName}}
  Fn:
    Type: ALIYUN::FC::Function
    Properties:
      ServiceName: {'Fn::GetAtt': [Svc, ServiceName]}
      FunctionName: greet
      Handler: index.handler
      Runtime: python3.10
      Code: {OssBucketName: BUCKET_NAME, OssObjectName: {Ref: CodeObject}}
Outputs:
  FunctionArn: {Value: {'Fn::GetAtt': [Fn, ARN]}}
""".replace("BUCKET_NAME", BUCKET)


def package(greeting: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(
            "index.py", f"def handler(event, context):\n    return b'{greeting} ' + event\n"
        )
    return buf.getvalue()


class Ros:
    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud
        account = cloud.account
        self.client = AcsClient(account.access_key_id, account.access_key_secret, "cn-hangzhou")
        self.fc = fc2.Client(
            endpoint=cloud.url("fc"),
            accessKeyID=account.access_key_id,
            accessKeySecret=account.access_key_secret,
        )

    def call(self, request: Any, client: AcsClient | None = None) -> dict[str, Any]:
        request.set_endpoint(self.cloud.url("ros").split("//", 1)[1])
        request.set_protocol_type("http")
        return json.loads((client or self.client).do_action_with_exception(request))

    def create(self, name: str, params: dict[str, str], body: str = TEMPLATE) -> str:
        request = CreateStackRequest.CreateStackRequest()
        request.set_StackName(name)
        request.set_TemplateBody(body)
        request.set_Parameterss(
            [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]
        )
        return self.call(request)["StackId"]

    def settle(self, stack_id: str) -> dict[str, Any]:
        for _ in range(200):
            request = GetStackRequest.GetStackRequest()
            request.set_StackId(stack_id)
            stack = self.call(request)
            if not stack["Status"].endswith("_IN_PROGRESS"):
                return stack
            time.sleep(0.05)
        raise AssertionError(f"stack still {stack['Status']}")

    def resources(self, stack_id: str) -> dict[str, dict[str, Any]]:
        request = ListStackResourcesRequest.ListStackResourcesRequest()
        request.set_StackId(stack_id)
        return {r["LogicalResourceId"]: r for r in self.call(request)["Resources"]}

    def greet(self, service: str) -> bytes:
        return self.fc.invoke_function(service, "greet", payload=b"you").data


# A cloud of its own: its stacks create and delete services, tables and Tablestore instances, and
# the listings are checked against exactly the stacks made here.
@pytest.fixture(scope="module")
def ros(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ros]:
    with running_local_cloud(tmp_path_factory.mktemp("ros-state")) as cloud:
        account = cloud.account
        bucket = oss2.Bucket(
            oss2.Auth(account.access_key_id, account.access_key_secret), cloud.url("oss"), BUCKET
        )
        bucket.create_bucket()
        bucket.put_object("v1.zip", package("hello"))
        bucket.put_object("v2.zip", package("welcome"))
        bucket.put_object("broken.zip", b"not a zip")
        yield Ros(cloud)


def test_create_stack_completes_with_outputs_and_resources(ros):
    stack_id = ros.create("create-ok", {"ServiceName": "ros-create"})
    stack = ros.settle(stack_id)
    assert (stack["Status"], stack["StackName"]) == ("CREATE_COMPLETE", "create-ok")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["FunctionArn"].endswith(":services/ros-create/functions/greet")
    resources = ros.resources(stack_id)
    assert {k: r["Status"] for k, r in resources.items()} == {
        "Svc": "CREATE_COMPLETE",
        "Fn": "CREATE_COMPLETE",
    }
    assert resources["Fn"]["ResourceType"] == "ALIYUN::FC::Function"
    assert ros.greet("ros-create") == b"hello you"


def test_update_stack_serves_the_new_code(ros):
    stack_id = ros.settle(ros.create("update-ok", {"ServiceName": "ros-update"}))["StackId"]
    assert ros.greet("ros-update") == b"hello you"
    request = UpdateStackRequest.UpdateStackRequest()
    request.set_StackId(stack_id)
    request.set_TemplateBody(TEMPLATE)
    request.set_Parameterss(
        [
            {"ParameterKey": "ServiceName", "ParameterValue": "ros-update"},
            {"ParameterKey": "CodeObject", "ParameterValue": "v2.zip"},
        ]
    )
    ros.call(request)
    assert ros.settle(stack_id)["Status"] == "UPDATE_COMPLETE"
    assert ros.greet("ros-update") == b"welcome you"
    # only the function refers to CodeObject: the service is left alone, as ROS leaves it
    assert {k: r["Status"] for k, r in ros.resources(stack_id).items()} == {
        "Svc": "CREATE_COMPLETE",
        "Fn": "UPDATE_COMPLETE",
    }


def update(
    stack_id: str,
    params: dict[str, str],
    *,
    body: str | None = TEMPLATE,
    use_previous: bool = False,
) -> Any:
    request = UpdateStackRequest.UpdateStackRequest()
    request.set_StackId(stack_id)
    if body is not None:
        request.set_TemplateBody(body)
    if use_previous:
        request.set_UsePreviousParameters(True)
    request.set_Parameterss([{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
    return request


@pytest.mark.parametrize(
    "params, use_previous",
    [
        ({"ServiceName": "ros-same"}, False),
        ({"ServiceName": "ros-same", "CodeObject": "v1.zip"}, False),  # the default, spelled out
        ({}, True),
    ],
)
def test_an_update_that_changes_nothing_is_refused_as_ros_does(ros, params, use_previous):
    name = f"same-{len(params)}-{use_previous}".lower()
    stack = ros.settle(ros.create(name, {"ServiceName": "ros-same"}))
    error = error_of(ros, update(stack["StackId"], params, use_previous=use_previous))
    assert (error.get_http_status(), error.get_error_code()) == (400, "NotSupported")
    assert error.get_error_msg().startswith("Update the completely same stack")
    after = ros.settle(stack["StackId"])
    assert (after["Status"], after["UpdateTime"]) == ("CREATE_COMPLETE", stack["UpdateTime"])
    assert ros.greet("ros-same") == b"hello you"
    ros.call(delete_request(stack["StackId"]))  # the next case reuses the service name
    ros.settle(stack["StackId"])


def test_an_update_after_a_failed_one_may_repeat_it(ros):
    stack_id = ros.settle(ros.create("retry", {"ServiceName": "ros-retry"}))["StackId"]
    broken = {"ServiceName": "ros-retry", "CodeObject": "missing.zip"}
    ros.call(update(stack_id, broken))
    assert ros.settle(stack_id)["Status"] == "UPDATE_FAILED"
    ros.call(update(stack_id, broken))  # not refused as "the same": the last update failed
    assert ros.settle(stack_id)["Status"] == "UPDATE_FAILED"
    assert ros.greet("ros-retry") == b"hello you"  # the previous version still serves


def test_two_stacks_with_different_service_names_coexist(ros):
    first = ros.settle(ros.create("side-a", {"ServiceName": "ros-side-a"}))
    second = ros.settle(ros.create("side-b", {"ServiceName": "ros-side-b", "CodeObject": "v2.zip"}))
    assert first["Status"] == second["Status"] == "CREATE_COMPLETE"
    assert (ros.greet("ros-side-a"), ros.greet("ros-side-b")) == (b"hello you", b"welcome you")


def test_a_service_name_another_stack_has_fails_the_stack(ros):
    ros.settle(ros.create("owner", {"ServiceName": "ros-taken"}))
    stack = ros.settle(ros.create("squatter", {"ServiceName": "ros-taken"}))
    assert stack["Status"] == "CREATE_FAILED"
    assert stack["StatusReason"].startswith("Resource Svc create failed: EntityAlreadyExists.")
    assert ros.resources(stack["StackId"])["Svc"]["Status"] == "CREATE_FAILED"


def test_list_stacks_filters_by_name_and_status(ros):
    ros.settle(ros.create("listed", {"ServiceName": "ros-listed"}))
    request = ListStacksRequest.ListStacksRequest()
    request.set_StackNames(["listed"])
    stacks = ros.call(request)["Stacks"]
    assert [(s["StackName"], s["Status"]) for s in stacks] == [("listed", "CREATE_COMPLETE")]
    request = ListStacksRequest.ListStacksRequest()
    request.set_Statuss(["CREATE_FAILED"])
    assert all(s["Status"] == "CREATE_FAILED" for s in ros.call(request)["Stacks"])


def delete_request(stack_id: str) -> Any:
    request = DeleteStackRequest.DeleteStackRequest()
    request.set_StackId(stack_id)
    return request


def test_delete_stack_removes_its_functions(ros):
    stack_id = ros.settle(ros.create("doomed", {"ServiceName": "ros-doomed"}))["StackId"]
    ros.call(delete_request(stack_id))
    assert ros.settle(stack_id)["Status"] == "DELETE_COMPLETE"
    with pytest.raises(fc2.fc_exceptions.FcError) as info:
        ros.greet("ros-doomed")
    assert "ServiceNotFound" in str(info.value)


def test_validate_template_lists_parameters(ros):
    request = ValidateTemplateRequest.ValidateTemplateRequest()
    request.set_TemplateBody(TEMPLATE)
    result = ros.call(request)
    assert [p["ParameterKey"] for p in result["Parameters"]] == ["ServiceName", "CodeObject"]
    assert [o["OutputKey"] for o in result["Outputs"]] == ["FunctionArn"]


@pytest.mark.parametrize(
    "change, code, message",
    [
        (
            ("ALIYUN::FC::Service", "ALIYUN::FC::Nothing"),
            "StackValidationFailed",
            "Unknown resource",
        ),
        (
            ("Default: v1.zip", "Default: v1.zip, MaxLength: 3"),
            "StackValidationFailed",
            "MaxLength",
        ),
        (("'2015-09-01'", "'2020-01-01'"), "InvalidTemplate", "ROSTemplateFormatVersion"),
    ],
)
def test_validate_template_refuses_what_create_stack_would(ros, change, code, message):
    request = ValidateTemplateRequest.ValidateTemplateRequest()
    request.set_TemplateBody(TEMPLATE.replace(*change))
    error = error_of(ros, request)
    assert (error.get_http_status(), error.get_error_code()) == (400, code)
    assert message in error.get_error_msg()


def error_of(ros: Ros, request: Any, client: AcsClient | None = None) -> ServerException:
    with pytest.raises(ServerException) as info:
        ros.call(request, client)
    return info.value


def test_bad_parameter_is_refused_with_stack_validation_failed(ros):
    request = CreateStackRequest.CreateStackRequest()
    request.set_StackName("bad-param")
    request.set_TemplateBody(TEMPLATE)
    request.set_Parameterss([{"ParameterKey": "ServiceName", "ParameterValue": "Not_Valid"}])
    error = error_of(ros, request)
    assert (error.get_http_status(), error.get_error_code()) == (400, "StackValidationFailed")
    assert "AllowedPattern" in error.get_error_msg()


def test_unknown_resource_type_is_refused(ros):
    request = CreateStackRequest.CreateStackRequest()
    request.set_StackName("bad-type")
    request.set_TemplateBody(TEMPLATE.replace("ALIYUN::FC::Service", "ALIYUN::FC::Nothing"))
    request.set_Parameterss([{"ParameterKey": "ServiceName", "ParameterValue": "x"}])
    assert error_of(ros, request).get_error_code() == "StackValidationFailed"


def test_unknown_property_fails_the_stack_naming_the_resource(ros):
    body = TEMPLATE.replace(
        "Properties: {ServiceName: {Ref: ServiceName}}",
        "Properties: {ServiceName: {Ref: ServiceName}, Colour: blue}",
    )
    stack = ros.settle(ros.create("bad-prop", {"ServiceName": "ros-bad-prop"}, body))
    assert stack["Status"] == "CREATE_FAILED"
    assert stack["StatusReason"].startswith("Resource Svc create failed")
    assert ros.resources(stack["StackId"])["Svc"]["Status"] == "CREATE_FAILED"


@pytest.mark.parametrize(
    "code_object, reason", [("missing.zip", "NoSuchKey"), ("broken.zip", "not a zip file")]
)
def test_a_missing_or_broken_code_object_fails_the_stack(ros, code_object, reason):
    stack = ros.settle(
        ros.create(
            f"code-{code_object[:-4]}",
            {"ServiceName": f"ros-{code_object[:-4]}", "CodeObject": code_object},
        )
    )
    assert stack["Status"] == "CREATE_FAILED"
    assert "Resource Fn" in stack["StatusReason"] and reason in stack["StatusReason"]
    resource = ros.resources(stack["StackId"])["Fn"]
    assert resource["Status"] == "CREATE_FAILED" and reason in resource["StatusReason"]


TABLES = """\
ROSTemplateFormatVersion: '2015-09-01'
Parameters:
  Instance: {Type: String}
  TableInstance: {Type: String}
Resources:
  Db:
    Type: ALIYUN::OTS::Instance
    Properties: {InstanceName: {Ref: Instance}}
  Notes:
    Type: ALIYUN::OTS::Table
    Properties:
      InstanceName: {Ref: TableInstance}
      TableName: notes
      PrimaryKey: [{Name: id, Type: STRING}]
"""


def test_a_stack_gets_a_tablestore_instance_of_its_own(ros):
    stack = ros.settle(
        ros.create("own-db", {"Instance": "own-db", "TableInstance": "own-db"}, TABLES)
    )
    assert stack["Status"] == "CREATE_COMPLETE"
    tablestore = ros.cloud.tablestore
    assert "own-db" in tablestore.instances()
    account = ros.cloud.account
    own = OTSClient(
        ros.cloud.url("tablestore"),
        account.access_key_id,
        account.access_key_secret,
        "own-db",
        retry_policy=NoRetryPolicy(),
    )
    assert list(own.list_table()) == ["notes"]  # nothing of the cloud's own instance
    own.put_row("notes", Row([("id", "n1")], [("text", "hi")]))
    assert (
        "notes"
        not in OTSClient(
            ros.cloud.url("tablestore"),
            account.access_key_id,
            account.access_key_secret,
            tablestore.instance_name,
            retry_policy=NoRetryPolicy(),
        ).list_table()
    )


def test_a_table_in_an_instance_nobody_declared_fails_the_stack(ros):
    stack = ros.settle(
        ros.create("no-db", {"Instance": "no-db", "TableInstance": "nowhere"}, TABLES)
    )
    assert stack["Status"] == "CREATE_FAILED"
    assert stack["StatusReason"].startswith("Resource Notes create failed: OTSObjectNotExist")
    assert ros.resources(stack["StackId"])["Notes"]["Status"] == "CREATE_FAILED"


def test_deleting_a_stack_deletes_its_tables_and_instance(ros):
    params = {"Instance": "gone-db", "TableInstance": "gone-db"}
    stack_id = ros.settle(ros.create("gone-db", params, TABLES))["StackId"]
    account = ros.cloud.account
    client = OTSClient(
        ros.cloud.url("tablestore"),
        account.access_key_id,
        account.access_key_secret,
        "gone-db",
        retry_policy=NoRetryPolicy(),
    )
    client.put_row("notes", Row([("id", "n1")], [("text", "kept?")]))
    ros.call(delete_request(stack_id))
    assert ros.settle(stack_id)["Status"] == "DELETE_COMPLETE"
    assert "gone-db" not in ros.cloud.tablestore.instances()
    # made again, the stack starts from nothing: the rows went with the table
    assert ros.settle(ros.create("gone-db-2", params, TABLES))["Status"] == "CREATE_COMPLETE"
    _, _, rows, _ = client.get_range("notes", "FORWARD", [("id", INF_MIN)], [("id", INF_MAX)])
    assert rows == []


def test_unknown_stack_and_duplicate_name_errors(ros):
    request = GetStackRequest.GetStackRequest()
    request.set_StackId("00000000-0000-0000-0000-000000000000")
    error = error_of(ros, request)
    assert (error.get_http_status(), error.get_error_code()) == (404, "StackNotFound")
    ros.settle(ros.create("twice", {"ServiceName": "ros-twice"}))
    with pytest.raises(ServerException) as info:
        ros.create("twice", {"ServiceName": "ros-twice-2"})
    assert info.value.get_error_code() == "StackExists"


@pytest.mark.parametrize(
    "request_type",
    [ListStackEventsRequest.ListStackEventsRequest, CreateChangeSetRequest.CreateChangeSetRequest],
)
def test_an_api_outside_the_emulated_set_is_invalid_action_not_found(ros, request_type):
    request = request_type()
    request.set_StackId("00000000-0000-0000-0000-000000000000")
    error = error_of(ros, request)
    assert (error.get_http_status(), error.get_error_code()) == (404, "InvalidAction.NotFound")


def test_a_wrong_secret_is_refused(ros):
    account = ros.cloud.account
    client = AcsClient(account.access_key_id, "wrong-secret", "cn-hangzhou")
    request = ValidateTemplateRequest.ValidateTemplateRequest()
    request.set_TemplateBody(TEMPLATE)
    with pytest.raises(Exception) as info:
        ros.call(request, client)
    assert "InvalidAccessKeySecret" in str(info.value) or "SignatureDoesNotMatch" in str(info.value)


TIMER = TEMPLATE.replace(
    "Outputs:",
    """\
  Tick:
    Type: ALIYUN::FC::Trigger
    Properties:
      ServiceName: {'Fn::GetAtt': [Svc, ServiceName]}
      FunctionName: {'Fn::GetAtt': [Fn, FunctionName]}
      TriggerName: tick
      TriggerType: timer
      TriggerConfig: {CronExpression: CRON, Enable: true, Payload: from-the-stack}
Outputs:""",
)


def fired(ros: Ros, service: str) -> list[Any]:
    return [f for f in ros.cloud.fc.timers.fired if f.service == service]


def test_a_stacks_timer_trigger_fires_on_the_cloud_clock(ros):
    stack = ros.settle(
        ros.create("timer-ok", {"ServiceName": "ros-timer"}, TIMER.replace("CRON", "'@every 5m'"))
    )
    assert stack["Status"] == "CREATE_COMPLETE"
    ros.cloud.clock.advance(5 * 60)
    (fire,) = fired(ros, "ros-timer")
    assert fire.event["payload"] == "from-the-stack"
    assert fire.body.startswith(b"hello ") and b'"triggerName": "tick"' in fire.body


def test_a_timer_fc_would_refuse_fails_the_update_and_the_old_one_keeps_firing(ros):
    stack_id = ros.settle(
        ros.create(
            "timer-bad", {"ServiceName": "ros-timer-bad"}, TIMER.replace("CRON", "'@every 5m'")
        )
    )["StackId"]
    ros.call(
        update(
            stack_id,
            {"ServiceName": "ros-timer-bad"},
            body=TIMER.replace("CRON", "'every so often'"),
        )
    )
    stack = ros.settle(stack_id)
    assert (
        stack["Status"] == "UPDATE_FAILED"
        and "ros-timer-bad/greet timer trigger tick" in stack["StatusReason"]
    )
    ros.cloud.clock.advance(5 * 60)
    assert len(fired(ros, "ros-timer-bad")) == 1

"""`TemplateURL` on the local ROS, through `aliyun-python-sdk-ros`: CreateStack, UpdateStack,
ValidateTemplate and GetTemplateParameterConstraints read a template from the local OSS, an
http URL unsigned (so the bucket's ACL decides, as for anyone) or an `oss://` URL with the
caller's permissions; a URL that does not answer, or another host, is refused naming it. And the
OSS side of it through `oss2`: a bucket's canned ACL, and unsigned reads of a public-read one."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import oss2
import pytest
import requests
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkros.request.v20190910 import (
    CreateStackRequest,
    DeleteStackRequest,
    GetStackRequest,
    GetTemplateParameterConstraintsRequest,
    UpdateStackRequest,
    ValidateTemplateRequest,
)

from tests.conftest import ROOT

TEMPLATE = """\
ROSTemplateFormatVersion: '2015-09-01'
Parameters:
  RoleName:
    Type: String
    AllowedPattern: '[a-z][a-z0-9-]{2,30}'
    Label: {en: Role name, zh-cn: 角色名称}
    Description: {en: A role., zh-cn: 一个角色。}
  Mode:
    Type: String
    Default: key
    AllowedValues: [key, cert]
  Secret:
    Type: String
    NoEcho: true
    AllowedPattern: '[a-z]+'
    Default: abc
Resources:
  Role:
    Type: ALIYUN::RAM::Role
    Properties:
      RoleName: {Ref: RoleName}
      AssumeRolePolicyDocument:
        Version: '1'
        Statement:
          - {Effect: Allow, Action: 'sts:AssumeRole', Principal: {Service: [fc.aliyuncs.com]}}
Outputs:
  Mode: {Value: {Ref: Mode}}
"""


class Ros:
    def __init__(self, cloud: Any) -> None:
        account = cloud.account
        self.cloud = cloud
        self.client = AcsClient(account.access_key_id, account.access_key_secret, account.region)

    def call(self, request: Any) -> dict[str, Any]:
        request.set_endpoint(self.cloud.url("ros").split("//", 1)[1])
        request.set_protocol_type("http")
        return json.loads(self.client.do_action_with_exception(request))

    def refusal(self, request: Any) -> ServerException:
        with pytest.raises(ServerException) as info:
            self.call(request)
        return info.value


@pytest.fixture(scope="module")
def ros(local_cloud: Any) -> Ros:
    return Ros(local_cloud)


@pytest.fixture(scope="module")
def buckets(local_cloud: Any) -> dict[str, oss2.Bucket]:
    """A public-read bucket and a private one, each holding the template."""
    account = local_cloud.account
    auth = oss2.Auth(account.access_key_id, account.access_key_secret)
    suffix = uuid.uuid4().hex[:8]
    made = {}
    for acl in ("public-read", "private"):
        bucket = oss2.Bucket(auth, local_cloud.url("oss"), f"ros-url-{acl}-{suffix}")
        bucket.create_bucket(acl)
        bucket.put_object("v1/template.yml", TEMPLATE.encode())
        made[acl] = bucket
    return made


def url(cloud: Any, bucket: oss2.Bucket, key: str = "v1/template.yml") -> str:
    return f"{cloud.url('oss')}/{bucket.bucket_name}/{key}"


def validate(template_url: str) -> ValidateTemplateRequest.ValidateTemplateRequest:
    request = ValidateTemplateRequest.ValidateTemplateRequest()
    request.set_TemplateURL(template_url)
    return request


# -- OSS: the bucket's ACL ---------------------------------------------------------------------
def test_a_bucket_keeps_its_canned_acl_and_a_public_one_is_read_unsigned(local_cloud, buckets):
    public, private = buckets["public-read"], buckets["private"]
    assert public.get_bucket_acl().acl == "public-read"
    assert private.get_bucket_acl().acl == "private"
    assert public.get_bucket_info().acl.grant == "public-read"
    answer = requests.get(url(local_cloud, public), timeout=10)
    assert answer.status_code == 200 and answer.content == TEMPLATE.encode()
    assert requests.head(url(local_cloud, public), timeout=10).status_code == 200
    refused = requests.get(url(local_cloud, private), timeout=10)
    assert refused.status_code == 403 and "<Code>AccessDenied</Code>" in refused.text


def test_unsigned_requests_may_only_read_objects_of_a_public_bucket(local_cloud, buckets):
    public = buckets["public-read"]
    base = f"{local_cloud.url('oss')}/{public.bucket_name}"
    assert requests.get(base + "/", timeout=10).status_code == 403  # no listing
    assert requests.put(base + "/new.txt", data=b"x", timeout=10).status_code == 403
    assert requests.delete(base + "/v1/template.yml", timeout=10).status_code == 403
    assert requests.get(base + "/v1/template.yml?objectMeta", timeout=10).status_code == 403
    assert public.object_exists("v1/template.yml") and not public.object_exists("new.txt")


def test_an_acl_set_later_applies_and_an_unknown_one_is_refused_changing_nothing(
    local_cloud, buckets
):
    public = buckets["public-read"]
    public.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
    try:
        assert requests.get(url(local_cloud, public), timeout=10).status_code == 403
    finally:
        public.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    assert requests.get(url(local_cloud, public), timeout=10).status_code == 200
    with pytest.raises(oss2.exceptions.OssError) as info:
        public.put_bucket_acl("world-writable")
    assert (info.value.status, info.value.code) == (400, "InvalidArgument")
    assert public.get_bucket_acl().acl == "public-read"
    account = local_cloud.account
    fresh = oss2.Bucket(
        oss2.Auth(account.access_key_id, account.access_key_secret),
        local_cloud.url("oss"),
        f"ros-url-bad-acl-{uuid.uuid4().hex[:8]}",
    )
    with pytest.raises(oss2.exceptions.OssError):
        fresh.create_bucket("world-writable")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        fresh.get_bucket_info()


# -- ROS: reading TemplateURL ------------------------------------------------------------------
def test_validate_template_reads_a_public_url_and_echoes_labels(ros, local_cloud, buckets):
    answer = ros.call(validate(url(local_cloud, buckets["public-read"])))
    params = {p["ParameterKey"]: p for p in answer["Parameters"]}
    assert params["RoleName"]["Label"] == {"en": "Role name", "zh-cn": "角色名称"}
    assert params["Mode"]["AllowedValues"] == ["key", "cert"]
    assert params["Mode"]["DefaultValue"] == "key"
    assert params["Secret"]["NoEcho"] == "true"


def test_validate_template_reads_an_oss_url_with_the_callers_permissions(ros, buckets):
    private = buckets["private"]
    answer = ros.call(validate(f"oss://{private.bucket_name}/v1/template.yml"))
    assert [p["ParameterKey"] for p in answer["Parameters"]] == ["RoleName", "Mode", "Secret"]
    region = ros.cloud.account.region
    answer = ros.call(validate(f"oss://{private.bucket_name}/v1/template.yml?RegionId={region}"))
    assert answer["Parameters"]


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("private", "OSS answered 403 AccessDenied"),
        ("missing", "OSS answered 404 NoSuchKey"),
        ("elsewhere", "the local ROS reads templates from the local OSS only"),
        ("oss-missing", "OSS answered 404 NoSuchKey"),
        ("oss-region", "the local OSS has no region 'us-west-1'"),
        ("ftp", "neither an http(s):// nor an oss:// URL"),
    ],
)
def test_a_template_url_that_does_not_answer_is_named(ros, local_cloud, buckets, where, said):
    public, private = buckets["public-read"], buckets["private"]
    template_url = {
        "private": url(local_cloud, private),
        "missing": url(local_cloud, public, "v9/template.yml"),
        "elsewhere": "http://example.invalid/template.yml",
        "oss-missing": f"oss://{public.bucket_name}/v9/template.yml",
        "oss-region": f"oss://{public.bucket_name}/v1/template.yml?RegionId=us-west-1",
        "ftp": "ftp://127.0.0.1/template.yml",
    }[where]
    error = ros.refusal(validate(template_url))
    assert error.get_error_code() == "InvalidParameter"
    assert f"TemplateURL {template_url} could not be read" in error.get_error_msg()
    assert said in error.get_error_msg()


def test_a_template_body_and_url_together_are_refused(ros, local_cloud, buckets):
    request = validate(url(local_cloud, buckets["public-read"]))
    request.set_TemplateBody(TEMPLATE)
    error = ros.refusal(request)
    assert error.get_error_code() == "InvalidParameter"
    assert "only one of TemplateBody and TemplateURL" in error.get_error_msg()


def test_parameter_constraints_come_from_the_template_at_the_url(ros, local_cloud, buckets):
    request = GetTemplateParameterConstraintsRequest.GetTemplateParameterConstraintsRequest()
    request.set_TemplateURL(url(local_cloud, buckets["public-read"]))
    request.set_Parameterss(
        [
            {"ParameterKey": "Mode", "ParameterValue": "keys"},
            {"ParameterKey": "Secret", "ParameterValue": "NOT-LOWER"},
        ]
    )
    found = {c["ParameterKey"]: c for c in ros.call(request)["ParameterConstraints"]}
    assert found["Mode"]["AllowedValues"] == ["key", "cert"]
    assert found["Mode"]["Behavior"] == "Normal"
    assert found["Mode"]["IllegalValueByParameterConstraints"] == ["keys"]
    assert found["Secret"]["IllegalValueByParameterConstraints"] == ["****"]  # NoEcho
    assert found["RoleName"]["Behavior"] == "NoLimitation"
    request.set_ParametersKeyFilter(json.dumps(["Mode"]))
    assert [c["ParameterKey"] for c in ros.call(request)["ParameterConstraints"]] == ["Mode"]


def settle(ros: Ros, stack_id: str) -> dict[str, Any]:
    for _ in range(400):
        request = GetStackRequest.GetStackRequest()
        request.set_StackId(stack_id)
        stack = ros.call(request)
        if not stack["Status"].endswith("_IN_PROGRESS"):
            return stack
        time.sleep(0.05)
    raise AssertionError(f"stack still {stack['Status']}")


def test_a_stack_is_created_and_updated_from_a_template_url(ros, local_cloud, buckets):
    public = buckets["public-read"]
    name = f"url-{uuid.uuid4().hex[:8]}"
    create = CreateStackRequest.CreateStackRequest()
    create.set_StackName(name)
    create.set_TemplateURL(url(local_cloud, public))
    create.set_Parameterss([{"ParameterKey": "RoleName", "ParameterValue": name}])
    stack_id = ros.call(create)["StackId"]
    try:
        stack = settle(ros, stack_id)
        assert stack["Status"] == "CREATE_COMPLETE", stack["StatusReason"]
        assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == {"Mode": "key"}
        public.put_object("v2/template.yml", TEMPLATE.replace("Default: key", "Default: cert"))
        update = UpdateStackRequest.UpdateStackRequest()
        update.set_StackId(stack_id)
        update.set_TemplateURL(url(local_cloud, public, "v2/template.yml"))
        update.set_Parameterss([{"ParameterKey": "RoleName", "ParameterValue": name}])
        ros.call(update)
        stack = settle(ros, stack_id)
        assert stack["Status"] == "UPDATE_COMPLETE", stack["StatusReason"]
        assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == {"Mode": "cert"}
    finally:
        delete = DeleteStackRequest.DeleteStackRequest()
        delete.set_StackId(stack_id)
        ros.call(delete)


def test_a_value_breaking_a_constraint_names_the_parameter_and_creates_nothing(
    ros, local_cloud, buckets
):
    name = f"url-bad-{uuid.uuid4().hex[:8]}"
    create = CreateStackRequest.CreateStackRequest()
    create.set_StackName(name)
    create.set_TemplateURL(url(local_cloud, buckets["public-read"]))
    create.set_Parameterss([{"ParameterKey": "RoleName", "ParameterValue": "Not A Name"}])
    error = ros.refusal(create)
    assert error.get_error_code() == "StackValidationFailed"
    assert "Parameters.RoleName" in error.get_error_msg()
    assert all(s.name != name for s in local_cloud.ros.stacks.list())


def test_the_project_template_passes_validate_template(ros, local_cloud, buckets):
    public = buckets["public-read"]
    public.put_object("project/template.yml", (ROOT / "template.yml").read_bytes())
    answer = ros.call(validate(url(local_cloud, public, "project/template.yml")))
    labels = {p["ParameterKey"]: p["Label"] for p in answer["Parameters"]}
    assert labels["AppId"] == {"en": "Mini program AppId", "zh-cn": "小程序 AppId"}

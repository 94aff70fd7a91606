"""template.yml checked by an independent oracle: the property validators Alibaba generates in its
ROS CDK npm packages (@alicloud/ros-cdk-core, -fc, -ots, -ram, -sls), driven by
tests/ros_cdk/validate.js. Unknown properties, wrong types and missing required properties of any
plain ALIYUN::* resource fail. Installs the npm packages on first use (the registry must be
reachable then)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ORACLE_DIR = ROOT / "tests" / "ros_cdk"


@pytest.fixture(scope="module")
def oracle() -> Any:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    if not (ORACLE_DIR / "node_modules" / "@alicloud" / "ros-cdk-fc").is_dir():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"], cwd=ORACLE_DIR, check=True, timeout=300
        )

    def check(resources: dict[str, Any]) -> dict[str, list[str]]:
        result = subprocess.run(
            ["node", "validate.js"],
            cwd=ORACLE_DIR,
            input=json.dumps(resources),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return check


# Types with no ROS CDK package on the npm registry (no @alicloud/ros-cdk-kms is published):
# checked against the properties ROS documents for them (the local loader's list) instead.
NO_CDK_PACKAGE = {"ALIYUN::KMS::Secret"}


def test_every_resource_of_the_template_passes_the_ros_cdk_validators(oracle):
    resources = yaml.safe_load((ROOT / "template.yml").read_text())["Resources"]
    assert all(r["Type"].startswith("ALIYUN::") for r in resources.values())
    checked = {k: r for k, r in resources.items() if r["Type"] not in NO_CDK_PACKAGE}
    problems = oracle(checked)
    assert set(problems) == set(checked)
    assert {k: v for k, v in problems.items() if v} == {}
    print(f"{len(checked)} resources checked by the ROS CDK validators, 0 problems")


def test_kms_secrets_use_only_the_properties_ros_documents():
    from localcloud.template.resources import KINDS

    kind = KINDS["ALIYUN::KMS::Secret"]
    secrets = [
        r
        for r in yaml.safe_load((ROOT / "template.yml").read_text())["Resources"].values()
        if r["Type"] in NO_CDK_PACKAGE
    ]
    assert len(secrets) == 3
    for secret in secrets:
        props = set(secret["Properties"])
        assert kind.required <= props <= kind.properties


def test_the_oracle_refuses_an_unknown_property(oracle):
    problems = oracle(
        {
            "S": {
                "Type": "ALIYUN::FC::Service",
                "Properties": {
                    "ServiceName": "svc",
                    "LogConfig": {"Project": "p", "Logstore": "l", "Store": "x"},
                    "Name": "svc",
                },
            }
        }
    )["S"]
    assert problems == [
        "Properties.LogConfig.Store: unknown property",
        "Properties.Name: unknown property",
    ]


def test_the_oracle_refuses_a_wrong_type(oracle):
    problems = oracle(
        {
            "T": {
                "Type": "ALIYUN::OTS::Table",
                "Properties": {
                    "InstanceName": "todo-db",
                    "TableName": "t",
                    "TimeToLive": "forever",
                    "PrimaryKey": [{"Name": "id", "Type": "STRING"}],
                },
            }
        }
    )["T"]
    assert len(problems) == 1 and 'timeToLive: "forever" should be a number' in problems[0]


def test_the_oracle_refuses_a_missing_required_property(oracle):
    problems = oracle(
        {
            "F": {
                "Type": "ALIYUN::FC::Function",
                "Properties": {
                    "ServiceName": "svc",
                    "Handler": "index.handler",
                    "Runtime": "python3.10",
                    "Code": {"OssBucketName": "b", "OssObjectName": "f.zip"},
                },
            }
        }
    )["F"]
    assert len(problems) == 1 and "functionName: required but missing" in problems[0]


def test_the_oracle_refuses_an_unknown_resource_type(oracle):
    problems = oracle({"X": {"Type": "ALIYUN::FC::Nothing", "Properties": {}}})["X"]
    assert problems == ["Type: no ROS CDK class for ALIYUN::FC::Nothing"]


def test_the_release_template_passes_the_ros_cdk_validators(oracle):
    """What `make release` publishes: each function's Code at its versioned key in CodeBucket."""
    from scripts.published import release_template

    template = yaml.safe_load((ROOT / "template.yml").read_text())
    keys = {
        "SessionFunction": "1.0.0/session-" + "0" * 64 + ".zip",
        "DBFunction": "1.0.0/db-" + "1" * 64 + ".zip",
    }
    resources = release_template(template, keys, "miniapp-release-cn-hangzhou", "1.0.0")[
        "Resources"
    ]
    checked = {k: r for k, r in resources.items() if r["Type"] not in NO_CDK_PACKAGE}
    assert {k: v for k, v in oracle(checked).items() if v} == {}
    assert resources["DBFunction"]["Properties"]["Code"] == {
        "OssBucketName": {"Ref": "CodeBucket"},
        "OssObjectName": keys["DBFunction"],
    }

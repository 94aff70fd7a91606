"""template.yml as the ROS console shows it to someone deploying from the link: every parameter
labelled and described in English and Chinese, constrained, in exactly one group of
`ALIYUN::ROS::Interface`; secrets NoEcho with no default; every default meets its own
constraints; and the outputs hold everything client-config/<stack>.json does."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from localcloud.cloud import CLIENT_CONFIG_KEYS
from localcloud.template import TemplateError
from localcloud.template.interface import groups, localized, problems
from localcloud.template.parameters import resolve_parameters
from scripts.stack_config import OUTPUTS, client_config
from tests.conftest import ROOT

SECRETS = ("AlipayAppPrivateKey", "DataKey", "HashKey")


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "template.yml").read_text(encoding="utf-8"))


def test_every_parameter_has_both_languages_a_constraint_and_one_group(doc):
    assert problems(doc) == []


def test_a_parameter_without_chinese_or_without_a_group_is_named(doc):
    broken = yaml.safe_load(yaml.safe_dump(doc))
    broken["Parameters"]["ItemQuota"]["Label"] = {"en": "Items per user"}
    broken["Parameters"]["NewThing"] = {
        "Type": "String",
        "Default": "x",
        "AllowedPattern": "x",
        "Label": {"en": "New", "zh-cn": "新"},
        "Description": {"en": "New", "zh-cn": "new in English"},
    }
    assert problems(broken) == [
        "Parameters.ItemQuota.Label: no zh-cn text",
        "Parameters.NewThing: in 0 parameter groups, not one",
        "Parameters.NewThing.Description: the zh-cn text has no Chinese in it",
    ]


def test_secrets_are_no_echo_without_a_default(doc):
    params = doc["Parameters"]
    assert {k for k, v in params.items() if v.get("NoEcho")} == set(SECRETS)
    assert not any("Default" in params[k] for k in SECRETS)


def test_every_default_meets_its_own_constraints(doc):
    with_default = {k: v for k, v in doc["Parameters"].items() if "Default" in v}
    assert len(with_default) > 10
    resolve_parameters(with_default, {})  # raises TemplateError on the first that does not


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AppId", "2021"),
        ("DataKey", "not-a-key"),
        ("HashKey", "c2hvcnQ="),
        ("AlipayRootCertSN", "ABC"),
        ("DBInstanceName", "x"),
        ("RateLimitWindowSeconds", "0"),
        ("AlipaySignMode", "keys"),
    ],
)
def test_a_value_the_functions_would_refuse_breaks_a_constraint(doc, name, value):
    with pytest.raises(TemplateError) as info:
        resolve_parameters({name: doc["Parameters"][name]}, {name: value})
    assert info.value.path == f"Parameters.{name}"


def test_the_form_is_drawn_in_the_chosen_language(doc):
    english, chinese = groups(doc, "en"), groups(doc, "zh-cn")
    assert [g.label for g in english] == ["Alipay app", "Security", "Limits", "Names"]
    assert [g.label for g in chinese] == ["支付宝应用", "安全", "限额", "资源名称"]
    fields = {f.key: f for g in chinese for f in g.fields}
    assert len(fields) == len(doc["Parameters"])
    assert fields["AppId"].label == "小程序 AppId"
    assert fields["AlipaySignMode"].allowed_values == ("key", "cert")
    assert fields["DataKey"].no_echo and fields["DataKey"].default is None
    assert fields["ItemQuota"].default == "10000"


def test_a_text_falls_back_to_english_then_to_any():
    assert localized({"en": "Name", "zh-cn": "名称"}, "zh-cn") == "名称"
    assert localized({"en": "Name"}, "zh-cn") == "Name"
    assert localized({"ja": "名前"}, "en") == "名前"
    assert localized("plain", "zh-cn") == "plain"


def test_the_outputs_hold_the_whole_client_config(doc):
    assert set(OUTPUTS) == set(CLIENT_CONFIG_KEYS)
    assert set(OUTPUTS.values()) <= set(doc["Outputs"])
    outputs = {
        "AccountId": "1234567890123456",
        "Region": "cn-hangzhou",
        "FcEndpoint": "https://1234567890123456.cn-hangzhou.fc.aliyuncs.com",
        "SessionUrl": "https://1234567890123456.cn-hangzhou.fc.aliyuncs.com/2016-08-15/proxy/"
        "todo-session/session/",
        "ServiceName": "todo",
        "SessionServiceName": "todo-session",
        "SessionFunctionName": "session",
        "DBFunctionName": "db",
    }
    assert client_config(outputs) == {
        "accountId": "1234567890123456",
        "region": "cn-hangzhou",
        "serviceName": "todo",
        "sessionServiceName": "todo-session",
        "sessionFunctionName": "session",
        "dbFunctionName": "db",
        "fcEndpoint": "https://1234567890123456.cn-hangzhou.fc.aliyuncs.com",
        "sessionUrl": outputs["SessionUrl"],
    }


def test_the_longest_files_bucket_name_fits_in_oss_63_characters(doc):
    # {prefix}-{account id (16 digits)}-{region}; the longest region id is 21 characters.
    longest = doc["Parameters"]["FilesBucketPrefix"]["MaxLength"] + 1 + 16 + 1 + 21
    assert longest <= 63

"""The template reader: what it understands of a ROS template.yml, and how it refuses what it
does not (a TemplateError naming the YAML path, never a silent skip)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from fc_app.harness import unpacked_code

from localcloud.policy import SYSTEM_POLICIES
from localcloud.template import TemplateError, declared_parameters, load_template
from localcloud.template.parameters import parameter_problems
from tests.conftest import template_parameters

APP = Path(__file__).parent / "fc_app"
ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "1234567890123456"
REGION = "cn-shanghai"
HEADER = """\
ROSTemplateFormatVersion: '2015-09-01'
"""
FUNCTION = """\
  svc:
    Type: ALIYUN::FC::Service
    Properties:
      ServiceName: svc
  fn:
    Type: ALIYUN::FC::Function
    Properties:
      ServiceName: !GetAtt svc.ServiceName
      FunctionName: fn
      Handler: index.handler
      Runtime: python3.10
      Code: {OssBucketName: code-bucket, OssObjectName: fn.zip}
"""


def load_app(**overrides: str):
    params = {"ApiSecret": "not-a-real-secret", **overrides}
    return load_template(
        APP / "template.yml", params, account_id=ACCOUNT, region=REGION, code=unpacked_code
    )


D = textwrap.dedent


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "index.py").write_text("def handler(event, context):\n    return event\n")
    path = tmp_path / "template.yml"
    path.write_text(HEADER + body)
    return path


def load_text(tmp_path: Path, body: str, params: dict[str, str] | None = None):
    return load_template(
        write(tmp_path, body),
        params or {},
        account_id=ACCOUNT,
        region=REGION,
        code=lambda bucket, key, path: tmp_path / "code",
    )


def error_of(tmp_path: Path, body: str, params: dict[str, str] | None = None) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        load_text(tmp_path, body, params)
    return info.value


# -- the test app's template ------------------------------------------------------------------
def test_services_and_functions_are_read_with_their_properties():
    template = load_app()
    service = template.service("fctest")
    assert service is not None and service.log_project == "fc-test-logs"
    assert service.log_store == "fc-logs"
    inspect = service.function("inspect")
    assert inspect.handler == "basic.inspect" and inspect.runtime == "python3.10"
    assert inspect.code_dir == (APP / "code").resolve()
    assert (inspect.memory_size, inspect.timeout, inspect.instance_concurrency) == (256, 10, 1)
    assert service.function("shared").instance_concurrency == 4
    initialized = service.function("initialized")
    assert (initialized.initializer, initialized.initialization_timeout) == ("basic.initialize", 5)
    echo = service.function("echo")
    assert (echo.timeout, echo.memory_size, echo.initializer) == (3, 128, None)  # FC defaults


def test_intrinsics_resolve_in_function_environment():
    env = load_app().service("fctest").function("inspect").environment
    assert env["GREETING"] == "hello"
    assert env["STACK_INFO"] == f"localcloud/{REGION}"
    assert env["TABLE_NAME"] == "items"
    assert env["OTS_ENDPOINT"] == f"https://fctestdb.{REGION}.ots.aliyuncs.com"
    assert env["API_SECRET"] == "not-a-real-secret"


def test_parameter_override_replaces_default():
    template = load_app(Greeting="hi", SleepyTimeout="2")
    assert template.service("fctest").function("inspect").environment["GREETING"] == "hi"
    assert template.service("fctest").function("sleepy").timeout == 2
    assert template.parameters["SleepyTimeout"] == 2


def test_http_and_timer_triggers_are_read():
    service = load_app().service("fctest")
    web = service.function("web").http_trigger
    assert (web.auth_type, web.methods) == ("ANONYMOUS", ("GET", "POST"))
    assert service.function("secureweb").http_trigger.auth_type == "FUNCTION"
    assert service.function("webfail").http_trigger.auth_type == "ANONYMOUS"  # lower-case input
    assert service.function("echo").http_trigger is None
    (timer,) = service.function("echo").timers
    assert (timer.name, timer.cron_expression, timer.enable, timer.payload) == (
        "nightly",
        "0 0 2 * * *",
        False,
        "nightly-run",
    )


def test_tables_logstores_and_instances_are_read():
    template = load_app()
    (table,) = template.tables
    assert (table.instance, table.name) == ("fctestdb", "items")
    assert table.primary_key == (("owner", "STRING"), ("seq", "INTEGER"))
    assert (table.ttl_seconds, table.max_versions) == (-1, 1)
    (logstore,) = template.logstores
    assert (logstore.project, logstore.name, logstore.ttl_days) == ("fc-test-logs", "fc-logs", 7)
    assert template.ots_instances == ("fctestdb",)
    assert template.log_projects == ("fc-test-logs",)


def test_roles_have_lower_case_arns_and_their_policies():
    template = load_app()
    service_role = template.role_by_arn(f"acs:ram::{ACCOUNT}:role/TestFcServiceRole")
    assert service_role is not None and service_role.name == "TestFcServiceRole"
    assert service_role.arn == f"acs:ram::{ACCOUNT}:role/testfcservicerole"
    assert service_role.policies == (
        SYSTEM_POLICIES["AliyunOTSFullAccess"],
        SYSTEM_POLICIES["AliyunLogFullAccess"],
    )
    assert template.service("fctest").role_arn == service_role.arn
    client = template.role_by_arn(f"acs:ram::{ACCOUNT}:role/testclientrole")
    assert client.max_session_duration == 7200
    (policy,) = client.policies
    assert policy["Statement"][0]["Resource"][0] == (
        f"acs:fc:{REGION}:{ACCOUNT}:services/fctest/functions/echo"
    )
    assert client.assume_role_policy["Statement"][0]["Principal"]["RAM"] == [
        f"acs:ram::{ACCOUNT}:root"
    ]
    assert template.service("norole").role_arn is None


def test_outputs_resolve_ref_getatt_join_select_and_sub_escapes():
    outputs = load_app().outputs
    assert outputs["ServiceName"] == "fctest"
    assert outputs["ServiceRoleArn"] == f"acs:ram::{ACCOUNT}:role/testfcservicerole"
    assert outputs["EchoArn"] == f"acs:fc:{REGION}:{ACCOUNT}:services/fctest/functions/echo"
    assert outputs["EchoName"] == "echo"
    assert outputs["Where"] == f"{REGION}/b/1"
    assert outputs["Literal"] == "${NotAVariable}-hello"


def test_no_echo_parameters_stay_out_of_repr():
    template = load_app(ApiSecret="shh-do-not-print")
    assert "ApiSecret" in template.no_echo
    assert "shh-do-not-print" not in repr(template)


def test_declared_parameters_reads_a_template_with_short_tags():
    assert set(declared_parameters(APP / "template.yml")) == {
        "Greeting",
        "RoleNamePrefix",
        "DBInstanceName",
        "LogProjectName",
        "SleepyTimeout",
        "ApiSecret",
    }


# -- parameters -------------------------------------------------------------------------------
def test_parameter_without_default_or_value_is_an_error():
    with pytest.raises(TemplateError) as info:
        load_template(
            APP / "template.yml", {}, account_id=ACCOUNT, region=REGION, code=unpacked_code
        )
    assert info.value.path == "Parameters.ApiSecret"


def test_value_outside_allowed_values_is_refused():
    with pytest.raises(TemplateError) as info:
        load_app(Greeting="hey")
    assert info.value.path == "Parameters.Greeting" and "AllowedValues" in str(info.value)


def test_no_echo_value_is_not_shown_in_errors(tmp_path):
    error = error_of(
        tmp_path,
        D("""\
        Parameters:
          Key:
            Type: String
            NoEcho: true
            AllowedValues: [a, b]
        Resources:
        """)
        + FUNCTION,
        {"Key": "secret-value"},
    )
    assert "secret-value" not in str(error)


def test_parameter_problems_lists_every_problem_in_declaration_order():
    declared = yaml.safe_load(
        D("""\
        Name: {Type: String, AllowedPattern: '[a-z]+', ConstraintDescription: lower-case letters}
        Size: {Type: Number, MinValue: 1, MaxValue: 9}
        Code: {Type: String, MinLength: 4}
        Mode: {Type: String, Default: a, AllowedValues: [a, b]}
        Key: {Type: String, NoEcho: true}
        """)
    )
    found = parameter_problems(declared, {"Name": "Bad!", "Size": "10", "Code": "abc", "Odd": "1"})
    assert [(type(p).__name__, p.path, p.message) for p in found] == [
        ("TemplateError", "Parameters", "values given for undeclared parameters: Odd"),
        (
            "TemplateError",
            "Parameters.Name",
            "does not match AllowedPattern '[a-z]+' (lower-case letters)",
        ),
        ("TemplateError", "Parameters.Size", "10 is above MaxValue 9"),
        ("TemplateError", "Parameters.Code", "shorter than MinLength 4"),
        (
            "MissingParameter",
            "Parameters.Key",
            "no value: the parameter has no Default and the local parameters do not set it",
        ),
    ]
    assert (
        parameter_problems(declared, {"Name": "ok", "Size": "3", "Code": "abcd", "Key": "k"}) == []
    )


def test_number_parameter_must_be_numeric():
    with pytest.raises(TemplateError) as info:
        load_app(SleepyTimeout="soon")
    assert info.value.path == "Parameters.SleepyTimeout"


def test_value_for_undeclared_parameter_is_refused():
    with pytest.raises(TemplateError) as info:
        load_app(Gretting="hi")
    assert "Gretting" in str(info.value)


def test_unsupported_parameter_type_is_refused(tmp_path):
    error = error_of(
        tmp_path,
        D("""\
        Parameters:
          Doc:
            Type: Json
            Default: '{}'
        Resources:
        """)
        + FUNCTION,
    )
    assert error.path == "Parameters.Doc.Type"


# -- intrinsics -------------------------------------------------------------------------------
def test_long_forms_equal_short_tags(tmp_path):
    template = load_text(
        tmp_path,
        D("""\
        Parameters:
          Name:
            Type: String
            Default: world
        Resources:
          Role:
            Type: ALIYUN::RAM::Role
            Properties:
              RoleName: {"Fn::Join": ["-", [{"Ref": "Name"}, "role"]]}
              AssumeRolePolicyDocument: {Version: '1', Statement: []}
        """)
        + FUNCTION
        + D("""\
        Outputs:
          A:
            Value: {"Fn::Sub": ["${Greeting} ${Name} ${ALIYUN::AccountId}", {"Greeting": "hi"}]}
          B:
            Value: {"Fn::GetAtt": ["Role", "Arn"]}
          C:
            Value: !GetAtt Role.RoleName
          D:
            Value: {"Fn::Select": ["0", [{"Ref": "ALIYUN::StackName"}]]}
          E:
            Value: !Sub '${Role.Arn}'
        """),
    )
    assert template.outputs == {
        "A": f"hi world {ACCOUNT}",
        "B": f"acs:ram::{ACCOUNT}:role/world-role",
        "C": "world-role",
        "D": "localcloud",
        "E": f"acs:ram::{ACCOUNT}:role/world-role",
    }


@pytest.mark.parametrize(
    "value, path_end",
    [
        ("!If [cond, a, b]", "Outputs.X.Value.Fn::If"),
        ('{"Fn::FindInMap": [m, a, b]}', "Outputs.X.Value.Fn::FindInMap"),
        ("!Ref Nowhere", "Outputs.X.Value.Ref"),
        ("!GetAtt svc.NoSuchAttribute", "Outputs.X.Value.Fn::GetAtt"),
        ("!GetAtt Ghost.Arn", "Outputs.X.Value.Fn::GetAtt"),
        ("!Sub '${Missing}'", "Outputs.X.Value.Fn::Sub"),
        ("!Select [5, [a]]", "Outputs.X.Value.Fn::Select"),
    ],
)
def test_bad_intrinsic_is_refused_with_its_path(tmp_path, value, path_end):
    error = error_of(tmp_path, "Resources:\n" + FUNCTION + f"Outputs:\n  X:\n    Value: {value}\n")
    assert error.path == path_end


def test_reference_cycle_is_reported(tmp_path):
    error = error_of(
        tmp_path,
        D("""\
        Resources:
          A:
            Type: ALIYUN::SLS::Project
            Properties:
              Name: !GetAtt B.Name
          B:
            Type: ALIYUN::SLS::Project
            Properties:
              Name: !GetAtt A.Name
        """)
        + FUNCTION,
    )
    assert "cycle" in str(error)


# -- resources --------------------------------------------------------------------------------
def test_unknown_resource_type_is_refused(tmp_path):
    error = error_of(
        tmp_path,
        D("""\
        Resources:
          Vpc:
            Type: ALIYUN::ECS::VPC
            Properties:
              VpcName: v
        """)
        + FUNCTION,
    )
    assert error.path == "Resources.Vpc.Type" and "ALIYUN::ECS::VPC" in str(error)


def test_a_bucket_is_declared_with_its_expiration_rules(tmp_path):
    template = load_text(
        tmp_path,
        D("""        Resources:
          Files:
            Type: ALIYUN::OSS::Bucket
            Properties:
              BucketName: files-b
              AccessControl: private
              ServerSideEncryptionConfiguration: {SSEAlgorithm: AES256}
              LifecycleConfiguration:
                Rule:
                  - {ID: stale, Prefix: uploads/, Status: Enabled, Expiration: {Days: 1}}
                  - {ID: off, Prefix: old/, Status: Disabled, Expiration: {Days: 9}}
        """)
        + FUNCTION,
    )
    (bucket,) = template.buckets
    assert bucket.name == "files-b"
    assert [(r.rule_id, r.prefix, r.days) for r in bucket.expiration] == [("stale", "uploads/", 1)]


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ("AccessControl: public-read", "AccessControl"),
        ("Policy: {Version: '1', Statement: []}", "Policy"),
        (
            "LifecycleConfiguration: {Rule: [{Prefix: a/, Transition: [{Days: 1}]}]}",
            "LifecycleConfiguration.Rule[0]",
        ),
    ],
)
def test_a_bucket_setting_the_local_oss_cannot_honour_is_refused(tmp_path, extra, where):
    body = (
        D("""        Resources:
          Files:
            Type: ALIYUN::OSS::Bucket
            Properties:
              BucketName: files-b
        """)
        + f"      {extra}\n"
    )
    error = error_of(tmp_path, body + FUNCTION)
    assert error.path == f"Resources.Files.Properties.{where}"


def test_unknown_function_property_is_refused(tmp_path):
    error = error_of(tmp_path, "Resources:\n" + FUNCTION + "      Colour: blue\n")
    assert error.path == "Resources.fn.Properties.Colour"


def test_unsupported_runtime_is_refused(tmp_path):
    error = error_of(tmp_path, "Resources:\n" + FUNCTION.replace("python3.10", "nodejs14"))
    assert error.path == "Resources.fn.Properties.Runtime" and "nodejs14" in str(error)


def test_handler_module_must_exist(tmp_path):
    error = error_of(tmp_path, "Resources:\n" + FUNCTION.replace("index.handler", "main.handler"))
    assert error.path == "Resources.fn.Properties.Handler"


def test_unsupported_service_property_is_refused(tmp_path):
    error = error_of(
        tmp_path,
        "Resources:\n"
        + FUNCTION.replace(
            "      ServiceName: svc\n", "      ServiceName: svc\n      VpcConfig: {}\n"
        ),
    )
    assert error.path == "Resources.svc.Properties.VpcConfig"


def test_the_serverless_transform_is_refused_with_what_to_use_instead(tmp_path):
    error = error_of(
        tmp_path, "Transform: 'Aliyun::Serverless-2018-04-03'\nResources:\n" + FUNCTION
    )
    assert error.path == "Transform" and "ALIYUN::FC::" in str(error)


def test_unsupported_top_level_section_is_refused(tmp_path):
    error = error_of(tmp_path, "Conditions:\n  X: true\nResources:\n" + FUNCTION)
    assert error.path == "Conditions"


def test_duplicate_keys_are_refused(tmp_path):
    error = error_of(tmp_path, "Resources:\n" + FUNCTION + "      Timeout: 3\n      Timeout: 4\n")
    assert "duplicate key" in str(error)


def test_managed_and_attached_policies_join_the_role(tmp_path):
    template = load_text(
        tmp_path,
        D("""\
        Resources:
          Role:
            Type: ALIYUN::RAM::Role
            Properties:
              RoleName: app
              AssumeRolePolicyDocument: {Version: '1', Statement: []}
          Custom:
            Type: ALIYUN::RAM::ManagedPolicy
            Properties:
              PolicyName: custom-invoke
              PolicyDocument:
                Version: '1'
                Statement: [{Effect: Allow, Action: fc:InvokeFunction, Resource: '*'}]
              Roles: [!GetAtt Role.RoleName]
          Attach:
            Type: ALIYUN::RAM::AttachPolicyToRole
            Properties:
              PolicyName: AliyunLogFullAccess
              PolicyType: System
              RoleName: APP
        """)
        + FUNCTION,
    )
    (role,) = template.roles
    assert role.policies[0]["Statement"][0]["Action"] == "fc:InvokeFunction"
    assert role.policies[1] == SYSTEM_POLICIES["AliyunLogFullAccess"]


def test_unknown_system_policy_is_refused(tmp_path):
    error = error_of(
        tmp_path,
        D("""\
        Resources:
          Role:
            Type: ALIYUN::RAM::Role
            Properties:
              RoleName: app
              AssumeRolePolicyDocument: {Version: '1', Statement: []}
              PolicyAttachments:
                System: [AliyunEverythingAccess]
        """)
        + FUNCTION,
    )
    assert error.path == "Resources.Role.Properties.PolicyAttachments.System[0]"


def test_table_primary_key_types_are_checked(tmp_path):
    error = error_of(
        tmp_path,
        D("""\
        Resources:
          T:
            Type: ALIYUN::OTS::Table
            Properties:
              InstanceName: db
              TableName: t
              PrimaryKey: [{Name: id, Type: FLOAT}]
        """)
        + FUNCTION,
    )
    assert error.path == "Resources.T.Properties.PrimaryKey[0].Type"


# -- plain ROS Function Compute resources and the project's template -----------------------------
PLAIN = """\
ROSTemplateFormatVersion: '2015-09-01'
Parameters:
  ServiceName: {Type: String, Default: plain-svc}
Resources:
  Svc:
    Type: ALIYUN::FC::Service
    Properties:
      ServiceName: {Ref: ServiceName}
  Fn:
    Type: ALIYUN::FC::Function
    Properties:
      ServiceName: {'Fn::GetAtt': [Svc, ServiceName]}
      FunctionName: fn
      Handler: index.handler
      Runtime: python3.10
      Code: {OssBucketName: code-bucket, OssObjectName: fn.zip}
  Http:
    Type: ALIYUN::FC::Trigger
    Properties:
      ServiceName: {'Fn::GetAtt': [Svc, ServiceName]}
      FunctionName: {'Fn::GetAtt': [Fn, FunctionName]}
      TriggerName: web
      TriggerType: http
      TriggerConfig: {AuthType: anonymous, Methods: [POST]}
Outputs:
  Arn: {Value: {'Fn::GetAtt': [Fn, ARN]}}
"""


def load_plain(tmp_path: Path, body: str = PLAIN, params: dict[str, str] | None = None):
    code = tmp_path / "unpacked"
    code.mkdir(exist_ok=True)
    (code / "index.py").write_text("def handler(event, context):\n    return event\n")
    asked: list[tuple[str, str]] = []

    def locate(bucket: str, key: str, path: str) -> Path:
        asked.append((bucket, key))
        return code

    path = tmp_path / "plain.yml"
    path.write_text(body)
    template = load_template(path, params or {}, account_id=ACCOUNT, region=REGION, code=locate)
    return template, asked


def test_plain_fc_service_takes_its_name_from_a_parameter(tmp_path):
    template, asked = load_plain(tmp_path, params={"ServiceName": "staging-svc"})
    service = template.service("staging-svc")
    assert service is not None and asked == [("code-bucket", "fn.zip")]
    function = service.function("fn")
    assert function.code_dir == tmp_path / "unpacked" and function.runtime == "python3.10"
    assert function.http_trigger.auth_type == "ANONYMOUS"
    assert function.http_trigger.methods == ("POST",)
    assert template.outputs["Arn"] == f"acs:fc:{REGION}:{ACCOUNT}:services/staging-svc/functions/fn"


def test_plain_fc_function_of_an_undeclared_service_is_refused(tmp_path):
    body = PLAIN.replace(
        "ServiceName: {'Fn::GetAtt': [Svc, ServiceName]}\n      FunctionName: fn",
        "ServiceName: elsewhere\n      FunctionName: fn",
    )
    with pytest.raises(TemplateError, match="elsewhere"):
        load_plain(tmp_path, body)


def test_plain_fc_inline_code_is_refused(tmp_path):
    body = PLAIN.replace(
        "Code: {OssBucketName: code-bucket, OssObjectName: fn.zip}",
        "Code: {SourceCode: 'def handler(e, c): return e'}",
    )
    with pytest.raises(TemplateError) as info:
        load_plain(tmp_path, body)
    assert info.value.path == "Resources.Fn.Properties.Code"


def test_plain_fc_unknown_trigger_type_is_refused(tmp_path):
    with pytest.raises(TemplateError) as info:
        load_plain(tmp_path, PLAIN.replace("TriggerType: http", "TriggerType: oss"))
    assert info.value.path == "Resources.Http.Properties.TriggerType"


def test_project_template_loads_with_plain_safe_load():
    # Long-form intrinsics only: any YAML loader (ROS, Funcraft, a linter) reads it.
    doc = yaml.safe_load((ROOT / "template.yml").read_text())
    assert "Transform" not in doc
    assert {"ServiceName", "CodeBucket"} <= set(doc["Parameters"])


def test_project_template_names_the_service_by_its_parameter_everywhere(tmp_path):
    params = template_parameters(ServiceName="todo-staging", CodeBucket="some-bucket")
    template, asked = load_plain(tmp_path, (ROOT / "template.yml").read_text(), params)
    assert sorted(set(asked)) == [
        ("some-bucket", "db.zip"),
        ("some-bucket", "payments.zip"),  # the notify and orders functions' package
        ("some-bucket", "session.zip"),
    ]
    assert sorted(s.name for s in template.services) == [
        "todo-staging",
        "todo-staging-notify",
        "todo-staging-orders",
        "todo-staging-session",
    ]
    assert template.outputs["ServiceName"] == "todo-staging"
    client_policy = next(r for r in template.roles if r.name.endswith("-client")).policies[0]
    resources = client_policy["Statement"][0]["Resource"]
    assert all("services/todo-staging" in r for r in resources), resources
    assert "miniapp-todo" not in yaml.safe_dump(client_policy)


def test_project_template_log_config_depends_on_the_logstore():
    # Fn::GetAtt of the logstore (not Ref of a parameter) is what makes ROS order them.
    doc = yaml.safe_load((ROOT / "template.yml").read_text())
    log = doc["Resources"]["Service"]["Properties"]["LogConfig"]
    assert log == {
        "Project": {"Fn::GetAtt": ["LogStore", "ProjectName"]},
        "Logstore": {"Fn::GetAtt": ["LogStore", "LogstoreName"]},
    }


PROVISION = """\
  warm:
    Type: ALIYUN::FC::ProvisionConfig
    Properties:
      ServiceName: svc
      FunctionName: !GetAtt fn.FunctionName
      Qualifier: LATEST
      Target: 2
"""


def test_a_provision_config_gives_its_function_provisioned_instances(tmp_path):
    template = load_text(tmp_path, "Resources:\n" + FUNCTION + PROVISION)
    assert template.service("svc").function("fn").provisioned == 2
    assert (
        load_text(tmp_path, "Resources:\n" + FUNCTION).service("svc").function("fn").provisioned
        == 0
    )


def test_the_template_provisions_none_by_default_and_what_the_parameter_says(tmp_path):
    write(tmp_path, "")  # a code folder with an index module, for every function
    params = template_parameters()
    path = ROOT / "template.yml"
    for value, expected in ((None, 0), ("3", 3)):
        values = params if value is None else {**params, "ProvisionedInstances": value}
        template = load_template(
            path, values, account_id=ACCOUNT, region=REGION, code=lambda *_: tmp_path / "code"
        )
        provisioned = {f.name: f.provisioned for s in template.services for f in s.functions}
        # the two a user waits for; Alipay's notifies and the reconciler wait for no one
        assert {provisioned["session"], provisioned["db"]} == {expected}
        assert set(provisioned) - {"session", "db"} and not any(
            n for name, n in provisioned.items() if name not in ("session", "db")
        )


@pytest.mark.parametrize(
    ("change", "path_end"),
    [
        (("Qualifier: LATEST", "Qualifier: prod"), "Qualifier"),
        (("Target: 2", "Target: -1"), "Target"),
        (("Target: 2", "Target: 10001"), "Target"),
        (("FunctionName: !GetAtt fn.FunctionName", "FunctionName: other"), ""),
    ],
)
def test_a_provision_config_the_local_fc_cannot_serve_is_refused(tmp_path, change, path_end):
    error = error_of(tmp_path, "Resources:\n" + FUNCTION + PROVISION.replace(*change))
    assert error.path.endswith(path_end) and error.path.startswith("Resources")

"""What `make deploy` checks before it uploads or creates anything: every missing or invalid
parameter at once (the template's constraints, the functions' own checks), the secrets and
Alipay's key with the functions' parsers, the files, the credentials, the bucket name, the
endpoints. A refused deploy creates no bucket, uploads no object and starts no stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, running_local_cloud
from tests.e2e.deploying import Deployer, failure


@pytest.fixture(scope="module")
def deployer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployer]:
    with running_local_cloud(tmp_path_factory.mktemp("deploy-checks-state")) as cloud:
        yield Deployer(cloud, tmp_path_factory.mktemp("deploy-checks-work"))


def problems(result) -> list[str]:
    """The problems listed under the one `deploy failed: N problems` line."""
    header = failure(result)
    lines = result.stderr.splitlines()
    listed = [line[4:] for line in lines[lines.index(header) + 1 :] if line.startswith("  - ")]
    assert header.startswith(f"deploy failed: {len(listed)} problems; nothing was uploaded"), (
        result.stderr
    )
    return listed


def created_nothing(deployer: Deployer, bucket: str, stack: str) -> None:
    assert deployer.puts == []
    assert bucket not in deployer.cloud.oss.store.buckets()
    assert all(s.name != stack for s in deployer.cloud.ros.stacks.list())


def without(deployer: Deployer, tmp_path: Path, *names: str) -> Path:
    """The deployer's parameters file without `names`."""
    values = json.loads(deployer.parameters.read_text())
    path = tmp_path / "parameters.json"
    path.write_text(json.dumps({k: v for k, v in values.items() if k not in names}))
    return path


def test_two_missing_parameters_are_both_named_and_nothing_is_created(deployer, tmp_path):
    deployer.puts.clear()
    result = deployer.run(
        "deploy-missing",
        "--parameters-file",
        str(without(deployer, tmp_path, "AppId", "AlipayPublicKey")),
        "--bucket",
        "deploy-missing-code",
    )
    assert problems(result) == [
        "AppId: missing (it has no Default); set it in the parameters file or with "
        "--parameter AppId=VALUE",
        "AlipayPublicKey: missing (it has no Default); set it in the parameters file or with "
        "--parameter AlipayPublicKey=VALUE",
    ]
    created_nothing(deployer, "deploy-missing-code", "deploy-missing")


def test_every_problem_is_named_at_once(deployer, tmp_path):
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(
        json.dumps({**json.loads(deployer.secrets.read_text()), "HashKey": "c2hvcnQ="})
    )
    deployer.puts.clear()
    result = deployer.run(
        "deploy-many",
        "--parameters-file",
        str(without(deployer, tmp_path, "AppId")),
        "--parameter",
        "ServiceName=Not Valid!",
        "--parameter",
        "ItemQuota=lots",
        "--parameter",
        "AlipaySignMode=both",
        "--parameter",
        "Colour=blue",
        "--bucket",
        "Bad_Bucket",
        secrets_file=secrets_file,
    )
    found = problems(result)
    assert len(found) == 7, found
    expected = [
        "HashKey in ",
        "unknown parameters ['Colour']; the template declares ",
        "bucket name 'Bad_Bucket' is not valid for OSS",
        "ServiceName: does not match AllowedPattern",
        "AppId: missing",
        "AlipaySignMode: value 'both' is not one of AllowedValues ['key', 'cert']",
        "ItemQuota: 'lots' is not a number",
    ]
    assert sorted(p for e in expected for p in found if p.startswith(e)) == sorted(found), found
    created_nothing(deployer, "Bad_Bucket", "deploy-many")


def test_values_the_functions_refuse_are_named_by_the_parameter(deployer):
    deployer.puts.clear()
    result = deployer.run(
        "deploy-cert",
        "--parameter",
        "AlipaySignMode=cert",
        "--parameter",
        "SessionIdleSeconds=700000",
        "--parameter",
        "AlipayRootCertSN=not-hex",
        "--parameter",
        "ItemQuota=0",
        "--bucket",
        "deploy-cert-code",
    )
    # the template's constraints first, then what only the functions check (a problem about a
    # value the template already refused is not named twice), saying which functions found it
    found = problems(result)
    assert [p.split(" (the ")[0] if "function" in p else p for p in found] == [
        "AlipayRootCertSN: does not match AllowedPattern '([0-9a-f]{32}(_[0-9a-f]{32})*)?' "
        "(32 lower-case hex digits each, joined by '_', or empty.)",
        "ItemQuota: 0 is below MinValue 1 (1 to 10000000.)",
        "SessionIdleSeconds must not exceed SessionLifetimeSeconds",
        "AlipayAppCertSN is required when AlipaySignMode is cert",
        "AlipayPublicKey (cert mode): not an X.509 certificate in PEM or base64 DER form; give "
        "Alipay's public key certificate, alipayCertPublicKey_RSA2.crt (PEM or bare base64)",
    ]
    assert found[2].endswith(" (the session and db functions' check)")
    assert found[3].endswith(" (the session function's check)") or found[3].endswith(
        " (the session and db functions' check)"
    )
    created_nothing(deployer, "deploy-cert-code", "deploy-cert")


def test_a_private_key_in_the_public_key_parameter_is_refused(deployer, tmp_path):
    private = json.loads(deployer.secrets.read_text())["AlipayAppPrivateKey"]
    parameters = tmp_path / "parameters.json"
    parameters.write_text(
        json.dumps({**json.loads(deployer.parameters.read_text()), "AlipayPublicKey": private})
    )
    deployer.puts.clear()
    line = failure(deployer.run("deploy-pub", "--parameters-file", str(parameters)))
    assert "AlipayPublicKey (key mode): expected an RSA public key, got a private key" in line
    assert private.splitlines()[1] not in line
    created_nothing(deployer, "deploy-pub-code-cn-hangzhou", "deploy-pub")


def test_a_template_ros_refuses_is_refused_before_anything_is_created(deployer, tmp_path):
    template = tmp_path / "template.yml"
    template.write_text(
        (ROOT / "template.yml").read_text().replace("ALIYUN::SLS::Index", "ALIYUN::SLS::Indexes")
    )
    deployer.puts.clear()
    line = failure(
        deployer.run("deploy-tpl", "--template", str(template), "--bucket", "deploy-tpl-code")
    )
    assert "ROS refused the request: StackValidationFailed: Unknown resource Type" in line
    assert "ALIYUN::SLS::Indexes (Resources.LogIndex)" in line
    created_nothing(deployer, "deploy-tpl-code", "deploy-tpl")


def test_a_wrong_secret_key_is_refused_before_anything_is_created(deployer):
    saved = deployer.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]
    deployer.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "not-the-secret"
    deployer.puts.clear()
    try:
        line = failure(deployer.run("deploy-creds", "--bucket", "deploy-creds-code"))
    finally:
        deployer.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = saved
    assert "ROS refused the credentials: InvalidAccessKeySecret" in line
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in line
    created_nothing(deployer, "deploy-creds-code", "deploy-creds")


def test_a_bad_parameter_is_refused_with_the_templates_reason(deployer):
    line = failure(deployer.run("deploy-broken", "--parameter", "ServiceName=Not Valid!"))
    assert "ServiceName: does not match AllowedPattern" in line
    assert "(1-120 letters, digits, '_' or '-', starting with a letter or '_'.)" in line


def secrets_text(deployer: Deployer, case: str) -> str:
    good = json.loads(deployer.secrets.read_text())
    public_key = Path(deployer.cloud.alipay.keys.alipay_public_key_file).read_text()
    return {
        "not json": "{not json",
        "not an object": '["AlipayAppPrivateKey", "DataKey"]',
        "a missing secret": json.dumps({"DataKey": good["DataKey"], "HashKey": good["HashKey"]}),
        "an unknown key": json.dumps({**good, "AppId": "2021"}),
        "a short data key": json.dumps({**good, "DataKey": "c2hvcnQ="}),
        "a malformed key ring": json.dumps({**good, "DataKey": f"2:c2hvcnQ=,1:{good['DataKey']}"}),
        "a short hash key": json.dumps({**good, "HashKey": "c2hvcnQ="}),
        "a public key": json.dumps({**good, "AlipayAppPrivateKey": public_key}),
    }[case]


@pytest.mark.parametrize(
    "case, expected",
    [
        ("not json", "not valid JSON"),
        ("not an object", "expected a JSON object of strings; write"),
        ("a missing secret", "missing secrets AlipayAppPrivateKey: put them in"),
        ("an unknown key", "unknown keys ['AppId']; it holds only"),
        ("a short data key", "DataKey in "),
        ("a malformed key ring", "DataKey in "),
        ("a short hash key", "HashKey in "),
        ("a public key", "AlipayAppPrivateKey in "),
    ],
)
def test_a_bad_secrets_file_names_the_problem_and_uploads_nothing(
    deployer, tmp_path, case, expected
):
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(secrets_text(deployer, case))
    deployer.puts.clear()
    line = failure(deployer.run("deploy-broken", secrets_file=secrets_file))
    assert expected in line
    assert deployer.puts == []  # refused before anything is uploaded or any stack is touched
    good = json.loads(deployer.secrets.read_text())
    for secret in (good["DataKey"], good["AlipayAppPrivateKey"].splitlines()[1], "c2hvcnQ="):
        assert secret not in line  # no secret quoted back
    if case in ("a short data key", "a malformed key ring", "a short hash key"):
        assert "openssl rand -base64 32" in line
    if case == "a public key":
        assert "expected an RSA private key" in line


def test_a_missing_secrets_file_names_the_fix(deployer, tmp_path):
    line = failure(deployer.run("deploy-broken", secrets_file=tmp_path / "nowhere.json"))
    assert "nowhere.json does not exist; create it" in line
    assert "MINIAPP_ALIPAY_APP_PRIVATE_KEY, MINIAPP_DATA_KEY, MINIAPP_HASH_KEY" in line


def test_a_malformed_parameters_file_names_the_fix(deployer, tmp_path):
    saved = deployer.parameters
    deployer.parameters = tmp_path / "parameters.json"
    deployer.parameters.write_text("[1, 2]")
    try:
        line = failure(deployer.run("deploy-broken"))
    finally:
        deployer.parameters = saved
    assert "parameters file" in line and "expected a JSON object" in line


def test_no_credentials_names_the_two_ways_to_give_them(deployer, tmp_path):
    saved = dict(deployer.env)
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        deployer.env.pop(name)
    deployer.env["ALIBABA_CLOUD_CONFIG_FILE"] = str(tmp_path / "no-aliyun-config.json")
    try:
        line = failure(deployer.run("deploy-broken"))
    finally:
        deployer.env.clear()
        deployer.env.update(saved)
    assert "no Alibaba Cloud credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID" in line
    assert "aliyun configure" in line


def test_a_secret_on_the_command_line_is_refused(deployer):
    line = failure(deployer.run("deploy-broken", "--parameter", "DataKey=abc"))
    assert "use the secrets file" in line


def test_a_bad_bucket_name_is_refused(deployer):
    assert "is not valid for OSS" in failure(
        deployer.run("deploy-broken", "--bucket", "Bad_Bucket")
    )


@pytest.mark.parametrize("service", ["OSS", "ROS"])
def test_an_unreachable_endpoint_is_named(deployer, service):
    variable = f"{service}_ENDPOINT"
    deployer.env[variable], saved = "http://127.0.0.1:9", deployer.env[variable]
    try:
        result = deployer.run("deploy-broken")
    finally:
        deployer.env[variable] = saved
    assert f"cannot reach {service} at http://127.0.0.1:9" in failure(result)
    assert f"check {variable} and your network" in failure(result)


def test_a_rotation_of_a_malformed_ring_is_refused_before_anything_is_uploaded(deployer, tmp_path):
    secrets_file = tmp_path / "bad.secrets.json"
    good = json.loads(deployer.secrets.read_text())
    secrets_file.write_text(json.dumps({**good, "DataKey": f"1:{good['DataKey']},1:c2hvcnQ="}))
    before = secrets_file.read_text()
    deployer.puts.clear()
    line = failure(deployer.run("deploy-broken", "--rotate-data-key", secrets_file=secrets_file))
    assert "DataKey in " in line and "key ring" in line
    assert deployer.puts == [] and secrets_file.read_text() == before

"""Contract tests: `aliyunsdkcore.AcsClient` with `aliyunsdkkms` GetSecretValue against the local
KMS. A secret is read by the root key or by STS credentials of a role whose policies allow
`kms:GetSecretValue` on it; everyone else gets KMS's `Forbidden.*` codes. Clients run with
`auto_retry=False` so a refusal or a dropped connection is reported at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.auth.credentials import AccessKeyCredential, StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkkms.request.v20160120.GetSecretValueRequest import GetSecretValueRequest

from localcloud.account import load_or_create_account
from localcloud.clock import ShiftableClock
from localcloud.credentials import CredentialBook, IssuedCredentials
from localcloud.faults import Fault, FaultBoard
from localcloud.httpshell import HttpServer
from localcloud.kms import KmsEmulator, secret_arn
from localcloud.policy import role_policies_of


def read_policy(*resources: str) -> dict[str, Any]:
    return {
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "Action": ["kms:GetSecretValue"], "Resource": list(resources)}
        ],
    }


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    state = tmp_path_factory.mktemp("kms")
    account = load_or_create_account(state)
    clock = ShiftableClock()
    book = CredentialBook(account, state / "credentials.db", clock)
    faults = FaultBoard(seed=1)
    kms = KmsEmulator(credentials=book, faults=faults, region="cn-hangzhou")
    data_key = secret_arn("cn-hangzhou", account.account_id, "app/data-key")
    reader = SimpleNamespace(
        arn=f"acs:ram::{account.account_id}:role/reader", policies=(read_policy(data_key),)
    )
    kms.set_role_policies(role_policies_of([reader]))
    kms.set_secrets([("app/data-key", "first value"), ("app/alipay-key", "PEM text")])
    server = HttpServer(kms.app).start()
    yield SimpleNamespace(
        account=account,
        clock=clock,
        book=book,
        faults=faults,
        kms=kms,
        server=server,
        reader=reader.arn,
    )
    server.stop()


@pytest.fixture
def faults(cloud: SimpleNamespace) -> Iterator[FaultBoard]:
    yield cloud.faults
    cloud.faults.clear()


def role_client(
    cloud: SimpleNamespace,
    role_arn: str | None = None,
    policy: dict[str, Any] | None = None,
    seconds: int = 3600,
) -> AcsClient:
    issued: IssuedCredentials = cloud.book.issue(role_arn or cloud.reader, "fc-db", policy, seconds)
    p = issued.principal
    return AcsClient(
        region_id="cn-hangzhou",
        auto_retry=False,
        credential=StsTokenCredential(p.access_key_id, p.access_key_secret, issued.security_token),
    )


def root_client(cloud: SimpleNamespace, secret: str | None = None) -> AcsClient:
    return AcsClient(
        region_id="cn-hangzhou",
        auto_retry=False,
        credential=AccessKeyCredential(
            cloud.account.access_key_id, secret or cloud.account.access_key_secret
        ),
    )


def get(cloud: SimpleNamespace, client: AcsClient, name: str) -> dict[str, Any]:
    request = GetSecretValueRequest()
    request.set_endpoint(f"127.0.0.1:{cloud.server.port}")
    request.set_protocol_type("http")
    request.set_accept_format("JSON")
    request.set_SecretName(name)
    return json.loads(client.do_action_with_exception(request))


def refusal(cloud: SimpleNamespace, client: AcsClient, name: str) -> tuple[str, int]:
    with pytest.raises(ServerException) as info:
        get(cloud, client, name)
    return info.value.get_error_code(), info.value.get_http_status()


def test_a_role_allowed_to_read_a_secret_gets_its_current_value(cloud):
    reply = get(cloud, role_client(cloud), "app/data-key")
    assert reply["SecretName"] == "app/data-key" and reply["SecretData"] == "first value"
    assert reply["SecretDataType"] == "text"
    assert reply["VersionStages"] == {"VersionStage": ["ACSCurrent"]}
    assert reply["VersionId"] and reply["RequestId"]


def test_the_root_key_reads_any_secret(cloud):
    assert get(cloud, root_client(cloud), "app/alipay-key")["SecretData"] == "PEM text"


def test_a_secret_the_role_is_not_granted_is_forbidden(cloud):
    assert refusal(cloud, role_client(cloud), "app/alipay-key") == ("Forbidden.RAM", 403)


def test_a_role_the_account_does_not_declare_reads_nothing(cloud):
    other = f"acs:ram::{cloud.account.account_id}:role/other"
    assert refusal(cloud, role_client(cloud, other), "app/data-key") == ("Forbidden.RAM", 403)


def test_an_inline_policy_narrows_the_role(cloud):
    narrowed = role_client(cloud, policy=read_policy("acs:kms:*:*:secret/elsewhere"))
    assert refusal(cloud, narrowed, "app/data-key") == ("Forbidden.RAM", 403)


def test_a_secret_that_does_not_exist_is_not_found(cloud):
    assert refusal(cloud, root_client(cloud), "app/missing") == ("Forbidden.ResourceNotFound", 404)


def test_a_new_value_is_a_new_version(cloud):
    before = get(cloud, root_client(cloud), "app/data-key")
    cloud.kms.set_secrets([("app/data-key", "second value"), ("app/alipay-key", "PEM text")])
    try:
        after = get(cloud, root_client(cloud), "app/data-key")
        unchanged = get(cloud, root_client(cloud), "app/alipay-key")
    finally:
        cloud.kms.set_secrets([("app/data-key", "first value"), ("app/alipay-key", "PEM text")])
    assert after["SecretData"] == "second value" and after["VersionId"] != before["VersionId"]
    assert unchanged["VersionId"] == get(cloud, root_client(cloud), "app/alipay-key")["VersionId"]


def test_a_wrong_secret_key_is_refused_as_the_sdk_reports_it(cloud):
    # The SDK compares our string to sign with its own: equal, so only the secret was wrong.
    assert refusal(cloud, root_client(cloud, secret="wrong"), "app/data-key") == (
        "InvalidAccessKeySecret",
        400,
    )


def test_an_expired_token_is_refused(cloud):
    client = role_client(cloud, seconds=60)
    cloud.clock.advance(61)
    assert refusal(cloud, client, "app/data-key") == ("InvalidSecurityToken.Expired", 400)


def test_an_unreachable_kms_is_an_http_error_of_the_sdk(cloud, faults):
    faults.set(Fault("kms", "unreachable"))
    with pytest.raises(ClientException) as info:
        get(cloud, root_client(cloud), "app/data-key")
    assert info.value.get_error_code() == "SDK.HttpError"


def test_a_refuse_fault_answers_forbidden(cloud, faults):
    faults.set(Fault("kms", "refuse"))
    assert refusal(cloud, root_client(cloud), "app/data-key") == ("Forbidden.RAM", 403)


def test_an_api_outside_the_emulated_set_is_an_unknown_action(cloud):
    from aliyunsdkkms.request.v20160120.ListSecretsRequest import ListSecretsRequest

    request = ListSecretsRequest()
    request.set_endpoint(f"127.0.0.1:{cloud.server.port}")
    request.set_protocol_type("http")
    with pytest.raises(ServerException) as info:
        root_client(cloud).do_action_with_exception(request)
    assert (info.value.get_error_code(), info.value.get_http_status()) == (
        "InvalidAction.NotFound",
        404,
    )

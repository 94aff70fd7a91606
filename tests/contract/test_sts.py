"""Contract tests: `aliyunsdkcore.AcsClient` with `aliyunsdksts` requests against the local STS.

As on the cloud, AssumeRole is called with a role's STS credentials (the functions hold their
service role's), never with the root key. Clients run with `auto_retry=False` so a 5xx answer or
a dropped connection is reported at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.auth.composer import rpc_signature_composer
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.utils import parameter_helper
from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest
from aliyunsdksts.request.v20150401.AssumeRoleWithOIDCRequest import AssumeRoleWithOIDCRequest
from aliyunsdksts.request.v20150401.AssumeRoleWithSAMLRequest import AssumeRoleWithSAMLRequest
from aliyunsdksts.request.v20150401.GetCallerIdentityRequest import GetCallerIdentityRequest

from localcloud.account import Account, load_or_create_account
from localcloud.clock import ShiftableClock
from localcloud.credentials import CredentialBook, IssuedCredentials
from localcloud.faults import Fault, FaultBoard
from localcloud.httpshell import HttpServer
from localcloud.sts import RoleSpec, StsEmulator, StsError


class Cloud(SimpleNamespace):
    account: Account
    clock: ShiftableClock
    book: CredentialBook
    faults: FaultBoard
    sts: StsEmulator
    server: HttpServer
    session_role: str  # ARN of the role the session function hands to clients
    service_role: str  # ARN of the functions' own service role
    long_role: str  # ARN of a role with a 2-hour MaxSessionDuration


def roles_of(account_id: str) -> dict[str, RoleSpec]:
    specs = [
        RoleSpec("MiniappClientRole", f"acs:ram::{account_id}:role/miniappclientrole"),
        RoleSpec("MiniappServiceRole", f"acs:ram::{account_id}:role/miniappservicerole"),
        RoleSpec("ReportRole", f"acs:ram::{account_id}:role/reportrole", max_session_duration=7200),
    ]
    return {spec.name.lower(): spec for spec in specs}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    state_dir = tmp_path_factory.mktemp("sts")
    account = load_or_create_account(state_dir)
    clock = ShiftableClock()
    book = CredentialBook(account, state_dir / "credentials.db", clock)
    faults = FaultBoard(seed=1)
    roles = roles_of(account.account_id)
    sts = StsEmulator(account=account, credentials=book, clock=clock, faults=faults, roles=roles)
    server = HttpServer(sts.app).start()
    yield Cloud(
        account=account,
        clock=clock,
        book=book,
        faults=faults,
        sts=sts,
        server=server,
        session_role=roles["miniappclientrole"].arn,
        service_role=roles["miniappservicerole"].arn,
        long_role=roles["reportrole"].arn,
    )
    server.stop()


@pytest.fixture
def faults(cloud: Cloud) -> Iterator[FaultBoard]:
    yield cloud.faults
    cloud.faults.clear()


def service_credentials(cloud: Cloud, policy: dict | None = None) -> IssuedCredentials:
    """What FC gives a function: its service role's credentials, through the core call."""
    return cloud.sts.assume_role(cloud.service_role, "fc-session", policy, 3600)


def client_for(issued: IssuedCredentials) -> AcsClient:
    p = issued.principal
    return AcsClient(
        region_id="cn-hangzhou",
        auto_retry=False,
        credential=StsTokenCredential(p.access_key_id, p.access_key_secret, issued.security_token),
    )


@pytest.fixture
def client(cloud: Cloud) -> AcsClient:
    return client_for(service_credentials(cloud))


def assume_request(
    cloud: Cloud,
    role_arn: str | None = None,
    session: str | None = "user-1",
    policy: str | None = None,
    duration: int | None = None,
) -> AssumeRoleRequest:
    request = AssumeRoleRequest()
    request.set_endpoint(f"127.0.0.1:{cloud.server.port}")
    request.set_protocol_type("http")
    request.set_RoleArn(role_arn or cloud.session_role)
    if session is not None:
        request.set_RoleSessionName(session)
    if policy is not None:
        request.set_Policy(policy)
    if duration is not None:
        request.set_DurationSeconds(duration)
    return request


def call(client: AcsClient, request: Any) -> dict:
    return json.loads(client.do_action_with_exception(request))


def server_error(client: AcsClient, request: Any) -> ServerException:
    with pytest.raises(ServerException) as info:
        client.do_action_with_exception(request)
    return info.value


def code_and_status(err: ServerException) -> tuple[str, int]:
    return err.get_error_code(), err.get_http_status()


INVOKE_DB = {
    "Version": "1",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["fc:InvokeFunction"],
            "Resource": ["acs:fc:cn-hangzhou:*:services/miniapp/functions/db"],
        }
    ],
}


# ---- AssumeRole ----------------------------------------------------------------------------------


def test_assume_role_answers_the_documented_shape(cloud, client):
    reply = call(client, assume_request(cloud, policy=json.dumps(INVOKE_DB), duration=900))
    assert set(reply) == {"RequestId", "AssumedRoleUser", "Credentials"}
    assert reply["AssumedRoleUser"]["Arn"] == f"{cloud.session_role}/user-1"
    role_id, session = reply["AssumedRoleUser"]["AssumedRoleId"].split(":")
    assert role_id.isdigit() and session == "user-1"
    creds = reply["Credentials"]
    assert set(creds) == {"AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}
    assert creds["AccessKeyId"].startswith("STS.")
    principal = cloud.book.resolve(creds["AccessKeyId"], creds["SecurityToken"])
    assert creds["Expiration"] == time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(principal.expires_at)
    )


def test_issued_credentials_remember_role_session_and_policy(cloud, client):
    creds = call(client, assume_request(cloud, policy=json.dumps(INVOKE_DB)))["Credentials"]
    principal = cloud.book.resolve(creds["AccessKeyId"], creds["SecurityToken"])
    assert (principal.role_arn, principal.session_name, principal.policy) == (
        cloud.session_role,
        "user-1",
        INVOKE_DB,
    )


def test_default_duration_is_one_hour(cloud, client):
    before = cloud.clock.now()
    creds = call(client, assume_request(cloud))["Credentials"]
    after = cloud.clock.now()
    principal = cloud.book.resolve(creds["AccessKeyId"], creds["SecurityToken"])
    assert principal.policy is None
    assert before + 3600 <= principal.expires_at <= after + 3600


def test_role_names_are_case_insensitive(cloud, client):
    shouting = cloud.session_role.replace("miniappclientrole", "MiniAppClientRole")
    reply = call(client, assume_request(cloud, role_arn=shouting))
    assert reply["AssumedRoleUser"]["Arn"] == f"{cloud.session_role}/user-1"


@pytest.mark.parametrize(
    "duration, role", [(900, "session_role"), (3600, "session_role"), (7200, "long_role")]
)
def test_duration_within_limits_is_accepted(cloud, client, duration, role):
    creds = call(client, assume_request(cloud, role_arn=getattr(cloud, role), duration=duration))[
        "Credentials"
    ]
    assert cloud.book.resolve(creds["AccessKeyId"], creds["SecurityToken"])


@pytest.mark.parametrize(
    "duration, role", [(899, "session_role"), (3601, "session_role"), (7201, "long_role")]
)
def test_duration_outside_limits_is_refused(cloud, client, duration, role):
    err = server_error(
        client, assume_request(cloud, role_arn=getattr(cloud, role), duration=duration)
    )
    assert code_and_status(err) == ("InvalidParameter.DurationSeconds", 400)


@pytest.mark.parametrize("session", ["a", "x" * 33, "has space", "user/1", "名字"])
def test_malformed_session_name_is_refused(cloud, client, session):
    err = server_error(client, assume_request(cloud, session=session))
    assert code_and_status(err) == ("InvalidParameter.RoleSessionName", 400)


def test_session_name_may_use_dots_at_signs_dashes_underscores(cloud, client):
    reply = call(client, assume_request(cloud, session="a.b@c-d_e"))
    assert reply["AssumedRoleUser"]["Arn"].endswith("/a.b@c-d_e")


@pytest.mark.parametrize(
    "policy",
    [
        "{not json",
        json.dumps({"Statement": INVOKE_DB["Statement"]}),  # no Version
        json.dumps({"Version": "1", "Statement": []}),
        json.dumps(
            {"Version": "1", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}
        ),
        json.dumps(
            {
                "Version": "1",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": ["r" * 40] * 60}],
            }
        ),  # > 2048 chars
    ],
)
def test_bad_policy_is_refused(cloud, client, policy):
    err = server_error(client, assume_request(cloud, policy=policy))
    assert code_and_status(err) == ("InvalidParameter.PolicyGrammar", 400)


@pytest.mark.parametrize("request_type", [AssumeRoleWithOIDCRequest, AssumeRoleWithSAMLRequest])
def test_an_api_outside_the_emulated_set_is_invalid_action_not_found(cloud, client, request_type):
    request = request_type()
    request.set_endpoint(f"127.0.0.1:{cloud.server.port}")
    request.set_protocol_type("http")
    request.set_RoleArn(cloud.session_role)
    err = server_error(client, request)
    assert code_and_status(err) == ("InvalidAction.NotFound", 404)


def test_unknown_role_is_entity_not_exist(cloud, client):
    err = server_error(
        client,
        assume_request(cloud, role_arn=f"acs:ram::{cloud.account.account_id}:role/nosuchrole"),
    )
    assert code_and_status(err) == ("EntityNotExist.Role", 404)


def test_role_of_another_account_is_entity_not_exist(cloud, client):
    err = server_error(
        client, assume_request(cloud, role_arn="acs:ram::1111111111111111:role/miniappclientrole")
    )
    assert code_and_status(err) == ("EntityNotExist.Role", 404)


def test_malformed_role_arn_is_refused(cloud, client):
    err = server_error(client, assume_request(cloud, role_arn="miniappclientrole"))
    assert code_and_status(err) == ("InvalidParameter.RoleArn", 400)


def test_missing_session_name_is_refused(cloud, client):
    err = server_error(client, assume_request(cloud, session=None))
    assert code_and_status(err) == ("MissingRoleSessionName", 400)


def test_replaced_roles_apply_at_once(cloud, client):
    try:
        cloud.sts.set_roles({})
        err = server_error(client, assume_request(cloud))
        assert code_and_status(err) == ("EntityNotExist.Role", 404)
    finally:
        cloud.sts.set_roles(roles_of(cloud.account.account_id))


def test_core_call_applies_the_same_rules(cloud):
    with pytest.raises(StsError) as info:
        cloud.sts.assume_role(cloud.session_role, "x", None, 3600)
    assert (info.value.code, info.value.status) == ("InvalidParameter.RoleSessionName", 400)


# ---- who may call --------------------------------------------------------------------------------


def test_root_key_may_not_assume_roles(cloud):
    root = AcsClient(
        cloud.account.access_key_id,
        cloud.account.access_key_secret,
        "cn-hangzhou",
        auto_retry=False,
    )
    err = server_error(root, assume_request(cloud))
    assert code_and_status(err) == ("NoPermission", 403)


def test_caller_whose_inline_policy_lacks_assume_role_is_refused(cloud):
    limited = client_for(service_credentials(cloud, policy=INVOKE_DB))
    err = server_error(limited, assume_request(cloud))
    assert code_and_status(err) == ("NoPermission", 403)


def test_wrong_secret_is_reported_by_the_sdk_as_invalid_secret(cloud):
    # The server answers SignatureDoesNotMatch with its string to sign; the SDK sees it equals its
    # own (only the secret differs) and reports InvalidAccessKeySecret.
    issued = service_credentials(cloud)
    wrong = AcsClient(
        region_id="cn-hangzhou",
        auto_retry=False,
        credential=StsTokenCredential(
            issued.principal.access_key_id, "not-the-secret", issued.security_token
        ),
    )
    err = server_error(wrong, assume_request(cloud))
    assert code_and_status(err) == ("InvalidAccessKeySecret", 400)


def test_signature_over_other_parameters_is_signature_does_not_match(cloud, client, monkeypatch):
    compose = getattr(rpc_signature_composer, "__compose_string_to_sign")
    monkeypatch.setattr(
        rpc_signature_composer,
        "__compose_string_to_sign",
        lambda method, queries: compose(method, {**queries, "Extra": "1"}),
    )
    err = server_error(client, assume_request(cloud))
    assert code_and_status(err) == ("SignatureDoesNotMatch", 400)


def test_unknown_access_key_is_not_found(cloud):
    stranger = AcsClient("LTAI" + "x" * 20, "whatever", "cn-hangzhou", auto_retry=False)
    err = server_error(stranger, assume_request(cloud))
    assert code_and_status(err) == ("InvalidAccessKeyId.NotFound", 404)


def test_sts_key_without_its_token_is_refused(cloud):
    issued = service_credentials(cloud)
    bare = AcsClient(
        issued.principal.access_key_id,
        issued.principal.access_key_secret,
        "cn-hangzhou",
        auto_retry=False,
    )
    err = server_error(bare, assume_request(cloud))
    assert code_and_status(err) == ("MissingSecurityToken", 400)


def test_sts_key_with_another_token_is_refused(cloud):
    issued, other = service_credentials(cloud), service_credentials(cloud)
    mixed = AcsClient(
        region_id="cn-hangzhou",
        auto_retry=False,
        credential=StsTokenCredential(
            issued.principal.access_key_id, issued.principal.access_key_secret, other.security_token
        ),
    )
    err = server_error(mixed, assume_request(cloud))
    assert code_and_status(err) == ("InvalidSecurityToken.MismatchWithAccessKey", 400)


def test_expired_token_is_refused(cloud):
    issued = cloud.sts.assume_role(cloud.service_role, "fc-session", None, 900)
    cloud.clock.advance(901)
    err = server_error(client_for(issued), assume_request(cloud))
    assert code_and_status(err) == ("InvalidSecurityToken.Expired", 400)


def test_replayed_nonce_is_refused(cloud, client, monkeypatch):
    monkeypatch.setattr(parameter_helper, "get_uuid", lambda: "the-same-nonce")
    call(client, assume_request(cloud))
    err = server_error(client, assume_request(cloud))
    assert code_and_status(err) == ("SignatureNonceUsed", 400)


def test_stale_timestamp_is_refused(cloud, client, monkeypatch):
    stale = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    monkeypatch.setattr(parameter_helper, "get_iso_8061_date", lambda: stale)
    err = server_error(client, assume_request(cloud))
    assert code_and_status(err) == ("InvalidTimeStamp.Expired", 400)


# ---- GetCallerIdentity ---------------------------------------------------------------------------


def identity_request(cloud: Cloud) -> GetCallerIdentityRequest:
    request = GetCallerIdentityRequest()
    request.set_endpoint(f"127.0.0.1:{cloud.server.port}")
    request.set_protocol_type("http")
    return request


def test_caller_identity_of_role_credentials(cloud, client):
    reply = call(client, identity_request(cloud))
    assert (reply["IdentityType"], reply["AccountId"]) == (
        "AssumedRoleUser",
        cloud.account.account_id,
    )
    assert reply["Arn"] == (
        f"acs:ram::{cloud.account.account_id}:assumed-role/miniappservicerole/fc-session"
    )


def test_caller_identity_of_the_root_key(cloud):
    root = AcsClient(
        cloud.account.access_key_id,
        cloud.account.access_key_secret,
        "cn-hangzhou",
        auto_retry=False,
    )
    reply = call(root, identity_request(cloud))
    assert (reply["IdentityType"], reply["Arn"]) == (
        "Account",
        f"acs:ram::{cloud.account.account_id}:root",
    )


# ---- faults --------------------------------------------------------------------------------------


def test_refuse_fault_answers_no_permission(cloud, client, faults):
    faults.set(Fault(service="sts", kind="refuse", api="AssumeRole"))
    err = server_error(client, assume_request(cloud))
    assert code_and_status(err) == ("NoPermission", 403)


def test_refuse_fault_may_name_its_code(cloud, client, faults):
    faults.set(Fault(service="sts", kind="refuse", code="Throttling.User"))
    err = server_error(client, assume_request(cloud))
    assert code_and_status(err) == ("Throttling.User", 403)


def test_unreachable_fault_drops_the_connection(cloud, client, faults):
    faults.set(Fault(service="sts", kind="unreachable", api="AssumeRole"))
    with pytest.raises(ClientException) as info:
        client.do_action_with_exception(assume_request(cloud))
    assert info.value.get_error_code() == "SDK.HttpError"


def test_internal_error_fault_answers_500(cloud, client, faults):
    faults.set(Fault(service="sts", kind="internal_error", api="AssumeRole"))
    err = server_error(client, assume_request(cloud))
    assert code_and_status(err) == ("InternalError", 500)


def test_slow_fault_delays_but_answers(cloud, client, faults):
    faults.set(Fault(service="sts", kind="slow", api="AssumeRole", seconds=0.05))
    before = faults.injected["sts:slow"]
    assert "Credentials" in call(client, assume_request(cloud))
    assert faults.injected["sts:slow"] - before == 1


def test_faults_on_one_api_leave_the_others_alone(cloud, client, faults):
    faults.set(Fault(service="sts", kind="internal_error", api="AssumeRole"))
    assert call(client, identity_request(cloud))["IdentityType"] == "AssumedRoleUser"

"""Secrets from KMS, against the local cloud: what an operator with FC read access sees of each
function (GetFunction, through the fc2 SDK) holds no secret; each cold instance reads its secrets
from the local KMS with its own role; a denied, missing or unreachable secret answers the typed
UpstreamUnavailable and the next request tries again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import fc2
import pytest

from localcloud.faults import Fault
from localcloud.miniprogram import MiniProgram

SECRET_PARAMETERS = ("AlipayAppPrivateKey", "DataKey", "HashKey")


def operator(cloud: Any) -> Any:
    account = cloud.account
    return fc2.Client(
        endpoint=cloud.url("fc"),
        accessKeyID=account.access_key_id,
        accessKeySecret=account.access_key_secret,
    )


def functions(cloud: Any) -> list[tuple[str, str]]:
    config = cloud.client_config()
    return [
        (config["sessionServiceName"], config["sessionFunctionName"]),
        (config["serviceName"], config["dbFunctionName"]),
    ]


def secret_values(cloud: Any) -> list[str]:
    values = [str(cloud.template.parameters[name]) for name in SECRET_PARAMETERS]
    # PEM keys: any line of their body would give them away
    return [
        line
        for value in values
        for line in value.splitlines()
        if len(line) > 16 and not line.startswith("-----")
    ]


@pytest.fixture
def fresh(local_cloud: Any) -> Iterator[Any]:
    """The shared cloud with cold instances before and after (KMS and its faults restored)."""
    local_cloud.fc.recycle()
    yield local_cloud
    local_cloud.faults.clear("kms")
    local_cloud.serve_grants(local_cloud.template)
    local_cloud.fc.recycle()


def test_get_function_shows_no_secret_value_of_either_function(local_cloud):
    client, secrets = operator(local_cloud), secret_values(local_cloud)
    assert len(secrets) >= 3
    for service, function in functions(local_cloud):
        shown = client.get_function(service, function).data
        text = json.dumps(shown)
        assert shown["functionName"] == function and "environmentVariables" in shown
        assert not [value for value in secrets if value in text], function
        assert shown["environmentVariables"]["HASH_KEY_SECRET"].endswith("/hash-key")


def test_get_function_names_where_the_session_secrets_are_not_what_they_are(local_cloud):
    service, function = functions(local_cloud)[0]
    env = operator(local_cloud).get_function(service, function).data["environmentVariables"]
    assert {"DATA_KEY_SECRET", "ALIPAY_APP_PRIVATE_KEY_SECRET"} <= set(env)
    assert not {"DATA_KEY", "ALIPAY_APP_PRIVATE_KEY"} & set(env)


def test_get_function_needs_fc_read_access(local_cloud):
    app = MiniProgram(local_cloud.cloud_config())
    session = app.login()
    service, function = functions(local_cloud)[1]
    with pytest.raises(fc2.fc_exceptions.FcError) as info:
        app.fc_client(session.sts).get_function(service, function)
    assert info.value.status_code == 403 and "fc:GetFunction" in str(info.value)


def test_cold_instances_read_their_secrets_from_kms_once(fresh):
    app = MiniProgram(fresh.cloud_config())
    before = fresh.traffic.snapshot()
    session = app.login()
    assert app.db(session, "list") == {"data": []}
    assert fresh.traffic.since(before).get(("kms", "GetSecretValue")) == 4  # session 3, db 1
    warm = fresh.traffic.snapshot()
    assert app.db(session, "list") == {"data": []}
    app.login()
    assert ("kms", "GetSecretValue") not in fresh.traffic.since(warm)


def db_error(app: MiniProgram, session: Any) -> dict[str, str]:
    answer = app.db(session, "list")
    assert "data" not in answer, answer
    return answer["error"]


@pytest.mark.parametrize(
    "break_kms, code",
    [
        (lambda cloud: cloud.kms.set_role_policies(lambda arn: ()), "Forbidden.RAM"),
        (lambda cloud: cloud.kms.set_secrets([]), "Forbidden.ResourceNotFound"),
        (lambda cloud: cloud.faults.set(Fault("kms", "unreachable")), "unreachable"),
    ],
)
def test_a_cold_start_without_its_secret_answers_upstream_unavailable_then_recovers(
    fresh, break_kms, code
):
    app = MiniProgram(fresh.cloud_config())
    session = app.login()  # warm now: it read its secrets
    fresh.fc.recycle()
    break_kms(fresh)
    error = db_error(app, session)
    assert error["code"] == "UpstreamUnavailable" and code in error["message"]
    assert "Traceback" not in json.dumps(error)
    login = app.post_session({"authCode": app.get_auth_code()})
    assert login.status_code == 503 and login.json()["error"]["code"] == "UpstreamUnavailable"
    # KMS back: the very next request builds the instance (nothing failed was cached)
    fresh.faults.clear("kms")
    fresh.serve_grants(fresh.template)
    assert app.db(session, "list") == {"data": []}
    assert app.login().session_id

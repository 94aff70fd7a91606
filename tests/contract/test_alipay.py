"""Contract tests of the local Alipay OpenAPI gateway, driven through python-alipay-sdk (plus plain
HTTP for the sandbox, which plays the Alipay app and has no SDK).

The emulator runs once per module on an ephemeral port with keys generated into a temporary
directory and an app id made up at run time (real AppIds start with 20…; ours start with 9).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig
from alipay_trade_kit import post_json
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from localcloud.alipay import FAULT_KINDS, AlipayEmulator
from localcloud.alipay.core import ACCESS_TOKEN_TTL, AUTH_CODE_TTL, REFRESH_TOKEN_TTL
from localcloud.clock import ShiftableClock
from localcloud.faults import Fault, FaultBoard
from localcloud.httpshell import HttpServer

# alipay/loggers.py attaches a DEBUG stderr handler on import; keep test output clean.
logging.getLogger("python-alipay-sdk").setLevel(logging.CRITICAL)

OAUTH = "alipay.system.oauth.token"
USER_INFO = "alipay.user.info.share"


class Cloud:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.app_id = "9" + "".join(secrets.choice("0123456789") for _ in range(15))
        self.clock = ShiftableClock()
        self.faults = FaultBoard(seed=1)
        self.emulator = self.build()
        self.server = HttpServer(self.emulator.app).start()

    def build(self) -> AlipayEmulator:
        return AlipayEmulator(
            db_path=self.tmp / "alipay.db",
            keys_dir=self.tmp / "keys",
            clock=self.clock,
            faults=self.faults,
            app_id=self.app_id,
        )

    @property
    def gateway(self) -> str:
        return self.server.url + "/gateway.do"

    def client(self, *, app_id: str | None = None, private_key: str | None = None) -> AliPay:
        keys = self.emulator.keys
        client = AliPay(
            app_id or self.app_id,
            None,
            app_private_key_string=private_key or keys.app_private_key_file.read_text(),
            alipay_public_key_string=keys.alipay_public_key_file.read_text(),
            sign_type="RSA2",
            config=AliPayConfig(timeout=5),
        )
        client._gateway = self.gateway  # the SDK has no parameter for it; see cloud-protocols.md
        return client

    def auth_code(self, user_id: str, scopes: list[str] | None = None) -> str:
        body: dict[str, Any] = {"user_id": user_id}
        if scopes is not None:
            body["scopes"] = scopes
        status, reply = self.sandbox(json.dumps(body).encode())
        assert status == 200, reply
        return str(reply["authCode"])

    def sandbox(self, body: bytes) -> tuple[int, Any]:
        return post_json(self.server.url + "/sandbox/auth_code", body)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    cloud = Cloud(tmp_path_factory.mktemp("alipay"))
    yield cloud
    cloud.server.stop()


@pytest.fixture(autouse=True)
def no_faults(cloud: Cloud) -> Iterator[None]:
    yield
    cloud.faults.clear()


def new_user() -> str:
    return "2088" + "".join(secrets.choice("0123456789") for _ in range(12))


def exchange(client: AliPay, code: str) -> dict[str, Any]:
    return client.server_api(OAUTH, grant_type="authorization_code", code=code)


def error_of(exc: pytest.ExceptionInfo[AliPayException]) -> dict[str, Any]:
    """The error object of the raw reply the SDK put into its exception message."""
    raw = str(exc.value).split("message:", 1)[1]
    reply = json.loads(raw)
    return reply["error_response"]


def other_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


# -- alipay.system.oauth.token --------------------------------------------------------------------


def test_auth_code_exchanges_for_tokens_of_its_user(cloud: Cloud) -> None:
    user = new_user()
    result = exchange(cloud.client(), cloud.auth_code(user))
    assert result["user_id"] == user
    assert result["access_token"] and result["refresh_token"]
    assert result["access_token"] != result["refresh_token"]
    assert result["expires_in"] == ACCESS_TOKEN_TTL
    assert result["re_expires_in"] == REFRESH_TOKEN_TTL
    assert len(result["auth_start"]) == len("2024-01-01 00:00:00")


def test_auth_code_works_only_once(cloud: Cloud) -> None:
    client = cloud.client()
    code = cloud.auth_code(new_user())
    exchange(client, code)
    with pytest.raises(AliPayException) as exc:
        exchange(client, code)
    assert error_of(exc) == {
        "code": "40002",
        "msg": "Invalid Arguments",
        "sub_code": "isv.code-invalid",
        "sub_msg": "授权码code无效",
    }


def test_unknown_auth_code_is_refused(cloud: Cloud) -> None:
    with pytest.raises(AliPayException) as exc:
        exchange(cloud.client(), secrets.token_hex(16))
    assert error_of(exc)["sub_code"] == "isv.code-invalid"


def test_auth_code_lapses_after_its_lifetime(cloud: Cloud) -> None:
    client = cloud.client()
    fresh, stale = cloud.auth_code(new_user()), cloud.auth_code(new_user())
    cloud.clock.advance(AUTH_CODE_TTL - 10)
    assert exchange(client, fresh)["access_token"]
    cloud.clock.advance(20)
    with pytest.raises(AliPayException) as exc:
        exchange(client, stale)
    assert error_of(exc)["sub_code"] == "isv.code-invalid"


def test_refresh_rotates_the_token_pair(cloud: Cloud) -> None:
    client = cloud.client()
    user = new_user()
    first = exchange(client, cloud.auth_code(user))
    second = client.server_api(
        OAUTH, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert second["user_id"] == user
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    with pytest.raises(AliPayException) as exc:
        client.server_api(OAUTH, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert error_of(exc) == {
        "code": "40002",
        "msg": "Invalid Arguments",
        "sub_code": "isv.refresh-token-invalid",
        "sub_msg": "刷新令牌refresh_token无效",
    }
    third = client.server_api(
        OAUTH, grant_type="refresh_token", refresh_token=second["refresh_token"]
    )
    assert third["user_id"] == user


def test_unknown_refresh_token_is_refused(cloud: Cloud) -> None:
    with pytest.raises(AliPayException) as exc:
        cloud.client().server_api(OAUTH, grant_type="refresh_token", refresh_token="authbseBnope")
    assert error_of(exc)["sub_code"] == "isv.refresh-token-invalid"


def test_refresh_token_lapses_after_its_lifetime(cloud: Cloud) -> None:
    client = cloud.client()
    grant = exchange(client, cloud.auth_code(new_user()))
    cloud.clock.advance(REFRESH_TOKEN_TTL + 1)
    with pytest.raises(AliPayException) as exc:
        client.server_api(OAUTH, grant_type="refresh_token", refresh_token=grant["refresh_token"])
    assert error_of(exc)["sub_code"] == "isv.refresh-token-time-out"


def test_unknown_grant_type_is_refused(cloud: Cloud) -> None:
    with pytest.raises(AliPayException) as exc:
        cloud.client().server_api(OAUTH, grant_type="password", code="x")
    assert error_of(exc)["sub_code"] == "isv.grant-type-invalid"


# -- alipay.user.info.share -------------------------------------------------------------------


def test_user_info_answers_the_profile_of_the_token_owner(cloud: Cloud) -> None:
    client = cloud.client()
    user = new_user()
    token = exchange(client, cloud.auth_code(user, ["auth_user"]))["access_token"]
    info = client.server_api(USER_INFO, auth_token=token)
    assert info["code"] == "10000" and info["msg"] == "Success"
    assert info["user_id"] == user
    assert info["nick_name"] and info["avatar"].startswith("https://")
    assert info["gender"] in ("M", "F")


def test_user_info_with_unknown_token_is_a_20001_result(cloud: Cloud) -> None:
    # The platform answers token problems under the method key, signed: the SDK returns them.
    info = cloud.client().server_api(USER_INFO, auth_token="authusrBunknown")
    assert info == {
        "code": "20001",
        "msg": "Insufficient Token Permissions",
        "sub_code": "aop.invalid-auth-token",
        "sub_msg": "无效的访问令牌",
    }


def test_user_info_needs_the_auth_user_scope(cloud: Cloud) -> None:
    client = cloud.client()
    token = exchange(client, cloud.auth_code(new_user()))["access_token"]  # default auth_base
    info = client.server_api(USER_INFO, auth_token=token)
    assert info["sub_code"] == "aop.invalid-auth-token"


def test_user_info_with_expired_token_is_refused(cloud: Cloud) -> None:
    client = cloud.client()
    token = exchange(client, cloud.auth_code(new_user(), ["auth_user"]))["access_token"]
    cloud.clock.advance(ACCESS_TOKEN_TTL + 1)
    info = client.server_api(USER_INFO, auth_token=token)
    assert (info["code"], info["sub_code"]) == ("20001", "aop.auth-token-time-out")


# -- public checks of gateway.do ----------------------------------------------------------------


def test_request_signed_with_another_key_is_refused(cloud: Cloud) -> None:
    client = cloud.client(private_key=other_private_key())
    code = cloud.auth_code(new_user())
    with pytest.raises(AliPayException) as exc:
        exchange(client, code)
    error = error_of(exc)
    assert (error["code"], error["sub_code"]) == ("40002", "isv.invalid-signature")
    assert f"app_id={cloud.app_id}" in error["sub_msg"]  # the string the gateway verified
    assert exchange(cloud.client(), code)["access_token"]  # a refused call spends no code


@pytest.mark.parametrize(
    "params, code, sub_code",
    [
        ({"timestamp": ""}, "40001", "isv.missing-timestamp"),
        ({"timestamp": "2024/01/01 10:00"}, "40002", "isv.invalid-timestamp"),
        ({"version": ""}, "40001", "isv.missing-version"),
        ({"charset": "latin-1"}, "40002", "isv.invalid-charset"),
        ({"sign_type": "RSA"}, "40002", "isv.missing-signature-config"),
        ({"sign_type": "MD5"}, "40002", "isv.invalid-signature-type"),
        ({"extra": ""}, "40002", "isv.invalid-signature"),  # the SDK signs empty values; Alipay not
    ],
)
def test_bad_public_parameters_are_refused(
    cloud: Cloud, params: dict[str, str], code: str, sub_code: str
) -> None:
    with pytest.raises(AliPayException) as exc:
        cloud.client().server_api(OAUTH, grant_type="authorization_code", code="x", **params)
    error = error_of(exc)
    assert (error["code"], error["sub_code"]) == (code, sub_code)


def test_missing_method_is_refused(cloud: Cloud) -> None:
    with pytest.raises(AliPayException) as exc:
        cloud.client().server_api("")
    assert error_of(exc) == {
        "code": "40001",
        "msg": "Missing Required Arguments",
        "sub_code": "isv.missing-method",
        "sub_msg": "缺少方法名参数",
    }


def test_unknown_method_is_refused(cloud: Cloud) -> None:
    with pytest.raises(AliPayException) as exc:
        cloud.client().server_api("alipay.trade.pay", biz_content={"out_trade_no": "1"})
    assert error_of(exc)["sub_code"] == "isv.invalid-method"


def test_unknown_app_id_is_refused(cloud: Cloud) -> None:
    with pytest.raises(AliPayException) as exc:
        exchange(cloud.client(app_id="9000000000000000"), "x")
    assert error_of(exc)["sub_code"] == "isv.invalid-app-id"


def test_gateway_takes_a_form_post(cloud: Cloud) -> None:
    # Official SDKs other than python-alipay-sdk POST the signed parameters as a form.
    client = cloud.client()
    user = new_user()
    form = client.client_api(
        OAUTH, grant_type="authorization_code", code=cloud.auth_code(user)
    ).encode()
    request = urllib.request.Request(
        cloud.gateway,
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        raw = response.read().decode()
    result = client._verify_and_return_sync_response(raw, "alipay_system_oauth_token_response")
    assert result["user_id"] == user


def test_other_paths_are_not_found(cloud: Cloud) -> None:
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(cloud.server.url + "/nope", timeout=5)
    assert exc.value.code == 404


# -- sandbox ----------------------------------------------------------------------------------


def test_sandbox_answers_like_my_get_auth_code(cloud: Cloud) -> None:
    status, reply = cloud.sandbox(
        json.dumps({"user_id": new_user(), "scopes": ["auth_user"]}).encode()
    )
    assert status == 200
    assert reply["authCode"] and reply["authSuccessScopes"] == ["auth_user"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({}).encode(),
        json.dumps({"user_id": "2088123"}).encode(),
        json.dumps({"user_id": "1234567890123456"}).encode(),
        json.dumps({"user_id": 2088123456789012}).encode(),
        json.dumps({"user_id": "2088123456789012", "scopes": ["auth_everything"]}).encode(),
        json.dumps({"user_id": "2088123456789012", "scopes": []}).encode(),
        json.dumps({"user_id": "2088123456789012", "admin": True}).encode(),
    ],
)
def test_sandbox_refuses_bad_input(cloud: Cloud, body: bytes) -> None:
    status, reply = cloud.sandbox(body)
    assert status == 400
    assert reply["code"] and reply["message"]


# -- persistence ------------------------------------------------------------------------------


def test_keys_and_state_survive_a_restart(cloud: Cloud) -> None:
    keys = cloud.emulator.keys
    before = {path: path.read_bytes() for path in vars(keys).values()}
    for private in (keys.app_private_key_file, keys.alipay_private_key_file):
        assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
        assert private.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    code = cloud.auth_code(new_user())
    restarted = cloud.build()
    assert restarted.keys == keys
    assert {path: path.read_bytes() for path in vars(restarted.keys).values()} == before
    server = HttpServer(restarted.app).start()
    try:
        client = cloud.client()
        client._gateway = server.url + "/gateway.do"
        assert exchange(client, code)["access_token"]  # minted before the restart
    finally:
        server.stop()


# -- faults -----------------------------------------------------------------------------------


def test_fault_kinds_are_described() -> None:
    assert set(FAULT_KINDS) == {
        "down",
        "slow",
        "timeout",
        "lost_reply",
        "bad_signature",
        "internal_error",
        "notify_lost",
        "notify_duplicated",
        "notify_delayed",
        "notify_out_of_order",
        "notify_forged",
    }


def test_down_hangs_up_and_spends_nothing(cloud: Cloud) -> None:
    code = cloud.auth_code(new_user())
    cloud.faults.set(Fault(service="alipay", kind="down", api=OAUTH))
    with pytest.raises(OSError):
        exchange(cloud.client(), code)
    cloud.faults.clear()
    assert exchange(cloud.client(), code)["access_token"]


def test_slow_still_answers(cloud: Cloud) -> None:
    cloud.faults.set(Fault(service="alipay", kind="slow", api=OAUTH, seconds=0.05))
    user = new_user()
    assert exchange(cloud.client(), cloud.auth_code(user))["user_id"] == user
    assert cloud.faults.injected["alipay:slow"] >= 1


def test_bad_signature_is_rejected_by_the_sdk(cloud: Cloud) -> None:
    code = cloud.auth_code(new_user())
    cloud.faults.set(Fault(service="alipay", kind="bad_signature", api=OAUTH))
    with pytest.raises(AliPayValidationError):
        exchange(cloud.client(), code)
    cloud.faults.clear()
    assert exchange(cloud.client(), code)["access_token"]


@pytest.mark.parametrize(
    "fault_code, sub_code",
    [
        (None, "isp.unknow-error"),
        ("aop.unknow-error", "aop.unknow-error"),
    ],
)
def test_error_response_is_a_system_error(
    cloud: Cloud, fault_code: str | None, sub_code: str
) -> None:
    code = cloud.auth_code(new_user())
    cloud.faults.set(Fault(service="alipay", kind="error_response", code=fault_code))
    with pytest.raises(AliPayException) as exc:
        exchange(cloud.client(), code)
    error = error_of(exc)
    assert (error["code"], error["msg"], error["sub_code"]) == (
        "20000",
        "Service Currently Unavailable",
        sub_code,
    )
    cloud.faults.clear()
    assert exchange(cloud.client(), code)["access_token"]


def test_fault_on_one_method_spares_the_other(cloud: Cloud) -> None:
    cloud.faults.set(Fault(service="alipay", kind="error_response", api=USER_INFO))
    assert exchange(cloud.client(), cloud.auth_code(new_user()))["access_token"]

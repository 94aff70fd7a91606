"""Contract tests of the local Alipay OpenAPI gateway, through python-alipay-sdk only (`AliPay` in
key mode, `DCAliPay` in certificate mode; plain HTTP for the sandbox, which plays the Alipay app
and has no SDK), organised by Alipay's API reference.

This module: `gateway.do` (how a call is read, its public parameters and signatures in key and
certificate mode), the common error codes (https://opendocs.alipay.com/open/common/105806),
`alipay.system.oauth.token` (https://opendocs.alipay.com/apis/api_9/alipay.system.oauth.token:
authorization_code and refresh_token) and `alipay.user.info.share`, then the sandbox, state and
faults. The trade methods and the async notify are test_alipay_trades.py's; the app settings
(identity modes, several apps) test_alipay_modes.py's.

Codes with a test here: those the template's code paths can meet (a misconfigured app, a wrong
key or certificate, an outage, a bad or spent code), and the rest of the gateway's public
parameter checks: 20000 isp.unknow-error and aop.unknow-error; 20001 aop.invalid-auth-token
and aop.auth-token-time-out; 40001 isv.missing-method, isv.missing-timestamp,
isv.missing-version, isv.missing-app-cert-sn, isv.missing-alipay-root-cert-sn; 40002
isv.invalid-app-id, isv.invalid-method, isv.invalid-timestamp, isv.invalid-charset,
isv.invalid-signature-type, isv.missing-signature-config, isv.invalid-signature,
isv.app-cert-not-exist, isv.invalid-alipay-root-cert-sn, and oauth.token's isv.code-invalid,
isv.grant-type-invalid, isv.refresh-token-invalid, isv.refresh-token-time-out; 40006
isv.insufficient-isv-permissions. A reply whose signature does not verify is the SDK's
AliPayValidationError.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from alipay import DCAliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay_kit import (
    OAUTH,
    USER_INFO,
    Gateway,
    error_of,
    made_up_app_id,
    new_private_key,
    new_user,
    out_no,
    pem_private,
    pem_public,
    sub_code,
)
from Cryptodome.PublicKey import RSA
from cryptography.hazmat.primitives import serialization

from localcloud.alipay import FAULT_KINDS
from localcloud.alipay.certs import issue_certificate
from localcloud.alipay.core import ACCESS_TOKEN_TTL, AUTH_CODE_TTL, REFRESH_TOKEN_TTL
from localcloud.faults import Fault
from localcloud.httpshell import HttpServer


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    running = Gateway(tmp_path_factory.mktemp("alipay-key"), "key")
    yield running
    running.close()


@pytest.fixture(scope="module")
def cert_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    running = Gateway(tmp_path_factory.mktemp("alipay-cert"), "cert")
    yield running
    running.close()


@pytest.fixture(autouse=True)
def no_faults(gateway: Gateway) -> Iterator[None]:
    yield
    gateway.faults.clear()


def exchange(client: Any, code: str) -> dict[str, Any]:
    return dict(client.server_api(OAUTH, grant_type="authorization_code", code=code))


def refresh(client: Any, token: str) -> dict[str, Any]:
    return dict(client.server_api(OAUTH, grant_type="refresh_token", refresh_token=token))


def refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(AliPayException) as exc:
        call()
    return error_of(exc)


# -- gateway.do: how a call is read -----------------------------------------------------------
def test_gateway_takes_a_form_post(gateway):
    # Official SDKs other than python-alipay-sdk POST the signed parameters as a form.
    client, user = gateway.client(), new_user()
    form = client.client_api(
        OAUTH, grant_type="authorization_code", code=gateway.auth_code(user)
    ).encode()
    request = urllib.request.Request(
        gateway.gateway,
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        raw = response.read().decode()
    result = client._verify_and_return_sync_response(raw, "alipay_system_oauth_token_response")
    assert result["user_id"] == user


def test_other_paths_are_not_found(gateway):
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(gateway.server.url + "/nope", timeout=5)
    assert exc.value.code == 404


# -- 40001 and 40002: public parameters -------------------------------------------------------
def test_missing_method_is_40001_isv_missing_method(gateway):
    assert refusal(lambda: gateway.client().server_api("")) == {
        "code": "40001",
        "msg": "Missing Required Arguments",
        "sub_code": "isv.missing-method",
        "sub_msg": "缺少方法名参数",
    }


@pytest.mark.parametrize(
    "params, code, sub",
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
def test_bad_public_parameters_are_refused(gateway, params, code, sub):
    client = gateway.client()
    error = refusal(
        lambda: client.server_api(OAUTH, grant_type="authorization_code", code="x", **params)
    )
    assert (error["code"], error["sub_code"]) == (code, sub)


def test_unknown_method_is_40002_isv_invalid_method(gateway):
    error = refusal(lambda: gateway.client().server_api("alipay.trade.pay", biz_content={"a": "1"}))
    assert error["sub_code"] == "isv.invalid-method"


def test_unknown_app_id_is_40002_isv_invalid_app_id(gateway):
    error = refusal(lambda: exchange(gateway.key_client(app_id="9000000000000000"), "x"))
    assert (error["code"], error["sub_code"]) == ("40002", "isv.invalid-app-id")


# -- 40002: signatures (key mode) -------------------------------------------------------------
def test_request_signed_with_another_key_is_40002_isv_invalid_signature(gateway):
    client = gateway.key_client(private_key=pem_private(new_private_key()))
    code = gateway.auth_code(new_user())
    error = refusal(lambda: exchange(client, code))
    assert (error["code"], error["sub_code"]) == ("40002", "isv.invalid-signature")
    assert f"app_id={gateway.app_id}" in error["sub_msg"]  # the string the gateway verified
    assert exchange(gateway.client(), code)["access_token"]  # a refused call spends no code


# -- certificate mode -------------------------------------------------------------------------
def test_certificate_mode_works_with_the_sdks_dcalipay(cert_gateway):
    client, user = cert_gateway.cert_client(), new_user()
    assert client.app_cert_sn == cert_gateway.emulator.certs.app_cert_sn
    assert client.alipay_root_cert_sn == cert_gateway.emulator.certs.root_cert_sn
    assert exchange(client, cert_gateway.auth_code(user))["user_id"] == user


def test_replies_name_alipays_certificate(cert_gateway):
    client = cert_gateway.cert_client()
    query = client.sign_data(
        client.build_body(
            OAUTH, grant_type="authorization_code", code=cert_gateway.auth_code(new_user())
        )
    )
    with urllib.request.urlopen(cert_gateway.gateway + "?" + query, timeout=5) as response:
        raw = json.loads(response.read())
    assert raw["alipay_cert_sn"] == cert_gateway.emulator.certs.alipay_cert_sn
    assert len(raw["alipay_cert_sn"]) == 32


def test_the_root_chain_has_a_certificate_the_sn_rule_skips(cert_gateway):
    chain = cert_gateway.emulator.certs.root_cert_file.read_text()
    assert chain.count("BEGIN CERTIFICATE") == 2
    assert "_" not in DCAliPay.get_root_cert_sn(chain)  # only the RSA root counts


def test_a_key_mode_request_to_a_certificate_app_is_40001_isv_missing_app_cert_sn(cert_gateway):
    error = refusal(lambda: exchange(cert_gateway.key_client(), cert_gateway.auth_code(new_user())))
    assert (error["code"], error["sub_code"]) == ("40001", "isv.missing-app-cert-sn")


def test_no_root_serial_number_is_40001_isv_missing_alipay_root_cert_sn(cert_gateway):
    client = cert_gateway.cert_client()
    client._alipay_root_cert_sn = ""  # where DCAliPay keeps it (the template's adapter sets it)
    error = refusal(lambda: exchange(client, cert_gateway.auth_code(new_user())))
    assert (error["code"], error["sub_code"]) == ("40001", "isv.missing-alipay-root-cert-sn")


def test_a_wrong_app_certificate_serial_number_is_40002_isv_app_cert_not_exist(cert_gateway):
    certs, keys = cert_gateway.emulator.certs, cert_gateway.emulator.keys
    # The same key, certified again by the same root: a valid certificate with another SN.
    reissued = issue_certificate(
        certs.root_cert_file,
        certs.root_cert_file.parent / "root_private_key.pem",
        cert_gateway.app_id,
        serialization.load_pem_public_key(keys.app_public_key_file.read_bytes()),
    ).decode()
    client = cert_gateway.cert_client(app_cert=reissued)
    assert client.app_cert_sn != certs.app_cert_sn
    code = cert_gateway.auth_code(new_user())
    assert refusal(lambda: exchange(client, code)) == {
        "code": "40002",
        "msg": "Invalid Arguments",
        "sub_code": "isv.app-cert-not-exist",
        "sub_msg": "应用公钥证书不存在",
    }
    # Refused before the code was looked at: it still works with the right certificate.
    assert exchange(cert_gateway.cert_client(), code)["access_token"]


def test_a_wrong_root_certificate_serial_number_is_40002_isv_invalid_alipay_root_cert_sn(
    cert_gateway,
):
    foreign_root = cert_gateway.emulator.certs.app_cert_file.read_text()  # not the root
    client = cert_gateway.cert_client(root_cert=foreign_root)
    error = refusal(lambda: exchange(client, cert_gateway.auth_code(new_user())))
    assert (error["code"], error["sub_code"]) == ("40002", "isv.invalid-alipay-root-cert-sn")


def test_the_right_serial_numbers_with_another_key_fail_the_signature(cert_gateway):
    client = cert_gateway.cert_client()
    client._app_private_key = RSA.importKey(pem_private(new_private_key()))  # the SDK's loader
    error = refusal(lambda: exchange(client, cert_gateway.auth_code(new_user())))
    assert error["sub_code"] == "isv.invalid-signature"


# -- 20000: the platform failed (an injected outage) -------------------------------------------
@pytest.mark.parametrize(
    "fault_code, sub", [(None, "isp.unknow-error"), ("aop.unknow-error", "aop.unknow-error")]
)
def test_an_outage_is_20000_and_spends_nothing(gateway, fault_code, sub):
    code = gateway.auth_code(new_user())
    gateway.faults.set(Fault(service="alipay", kind="error_response", code=fault_code))
    error = refusal(lambda: exchange(gateway.client(), code))
    assert (error["code"], error["msg"], error["sub_code"]) == (
        "20000",
        "Service Currently Unavailable",
        sub,
    )
    gateway.faults.clear()
    assert exchange(gateway.client(), code)["access_token"]


# -- 40006: insufficient permissions ----------------------------------------------------------
def test_a_trade_method_of_an_app_without_the_payment_product_is_40006(gateway):
    key = new_private_key()
    app = gateway.emulator.register_app(made_up_app_id(), pem_public(key), payments=False)
    client = gateway.key_client(app.app_id, pem_private(key))
    reply = dict(
        client.api_alipay_trade_create(
            subject="Pro", out_trade_no=out_no(), total_amount="1.00", buyer_id=new_user()
        )
    )  # returned, not raised: Alipay answers it under the method's key, signed
    assert reply == {
        "code": "40006",
        "msg": "Insufficient Permissions",
        "sub_code": "isv.insufficient-isv-permissions",
        "sub_msg": "ISV权限不足，建议在开发者中心检查签约是否已经生效",
    }
    assert sub_code(dict(client.api_alipay_trade_query(out_trade_no=out_no()))) == (
        "40006",
        "isv.insufficient-isv-permissions",
    )
    user = new_user()  # its logins still work: oauth.token needs no product
    assert exchange(client, gateway.auth_code(user, app_id=app.app_id))["user_id"] == user


# -- replies ----------------------------------------------------------------------------------
def test_a_reply_whose_signature_does_not_verify_is_refused_by_the_sdk(gateway):
    code = gateway.auth_code(new_user())
    gateway.faults.set(Fault(service="alipay", kind="bad_signature", api=OAUTH))
    with pytest.raises(AliPayValidationError):
        exchange(gateway.client(), code)
    gateway.faults.clear()
    assert exchange(gateway.client(), code)["access_token"]


# -- alipay.system.oauth.token: authorization_code ----------------------------------------------
def test_auth_code_exchanges_for_tokens_of_its_user(gateway):
    user = new_user()
    result = exchange(gateway.client(), gateway.auth_code(user))
    assert result["user_id"] == user
    assert result["access_token"] and result["refresh_token"]
    assert result["access_token"] != result["refresh_token"]
    assert result["expires_in"] == ACCESS_TOKEN_TTL
    assert result["re_expires_in"] == REFRESH_TOKEN_TTL
    assert len(result["auth_start"]) == len("2024-01-01 00:00:00")


def test_a_spent_auth_code_is_40002_isv_code_invalid(gateway):
    client, code = gateway.client(), gateway.auth_code(new_user())
    exchange(client, code)
    assert refusal(lambda: exchange(client, code)) == {
        "code": "40002",
        "msg": "Invalid Arguments",
        "sub_code": "isv.code-invalid",
        "sub_msg": "授权码code无效",
    }


def test_unknown_auth_code_is_isv_code_invalid(gateway):
    error = refusal(lambda: exchange(gateway.client(), secrets.token_hex(16)))
    assert error["sub_code"] == "isv.code-invalid"


def test_auth_code_lapses_after_its_lifetime(gateway):
    client = gateway.client()
    fresh, stale = gateway.auth_code(new_user()), gateway.auth_code(new_user())
    gateway.clock.advance(AUTH_CODE_TTL - 10)
    assert exchange(client, fresh)["access_token"]
    gateway.clock.advance(20)
    assert refusal(lambda: exchange(client, stale))["sub_code"] == "isv.code-invalid"


def test_unknown_grant_type_is_40002_isv_grant_type_invalid(gateway):
    error = refusal(lambda: gateway.client().server_api(OAUTH, grant_type="password", code="x"))
    assert (error["code"], error["sub_code"]) == ("40002", "isv.grant-type-invalid")


# -- alipay.system.oauth.token: refresh_token ---------------------------------------------------
def test_refresh_rotates_the_token_pair(gateway):
    client, user = gateway.client(), new_user()
    first = exchange(client, gateway.auth_code(user))
    second = refresh(client, first["refresh_token"])
    assert second["user_id"] == user
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert refusal(lambda: refresh(client, first["refresh_token"])) == {
        "code": "40002",
        "msg": "Invalid Arguments",
        "sub_code": "isv.refresh-token-invalid",
        "sub_msg": "刷新令牌refresh_token无效",
    }
    assert refresh(client, second["refresh_token"])["user_id"] == user


def test_unknown_refresh_token_is_isv_refresh_token_invalid(gateway):
    error = refusal(lambda: refresh(gateway.client(), "authbseBnope"))
    assert error["sub_code"] == "isv.refresh-token-invalid"


def test_an_expired_refresh_token_is_40002_isv_refresh_token_time_out(gateway):
    client = gateway.client()
    grant = exchange(client, gateway.auth_code(new_user()))
    gateway.clock.advance(REFRESH_TOKEN_TTL + 1)
    error = refusal(lambda: refresh(client, grant["refresh_token"]))
    assert (error["code"], error["sub_code"]) == ("40002", "isv.refresh-token-time-out")


# -- alipay.user.info.share -------------------------------------------------------------------
def test_user_info_answers_the_profile_of_the_token_owner(gateway):
    client, user = gateway.client(), new_user()
    token = exchange(client, gateway.auth_code(user, ["auth_user"]))["access_token"]
    info = client.server_api(USER_INFO, auth_token=token)
    assert info["code"] == "10000" and info["msg"] == "Success"
    assert info["user_id"] == user
    assert info["nick_name"] and info["avatar"].startswith("https://")
    assert info["gender"] in ("M", "F")


def test_user_info_with_unknown_token_is_20001_aop_invalid_auth_token(gateway):
    # The platform answers token problems under the method key, signed: the SDK returns them.
    assert gateway.client().server_api(USER_INFO, auth_token="authusrBunknown") == {
        "code": "20001",
        "msg": "Insufficient Token Permissions",
        "sub_code": "aop.invalid-auth-token",
        "sub_msg": "无效的访问令牌",
    }


def test_user_info_needs_the_auth_user_scope(gateway):
    client = gateway.client()
    token = exchange(client, gateway.auth_code(new_user()))["access_token"]  # default auth_base
    assert client.server_api(USER_INFO, auth_token=token)["sub_code"] == "aop.invalid-auth-token"


def test_user_info_with_expired_token_is_20001_aop_auth_token_time_out(gateway):
    client = gateway.client()
    token = exchange(client, gateway.auth_code(new_user(), ["auth_user"]))["access_token"]
    gateway.clock.advance(ACCESS_TOKEN_TTL + 1)
    info = client.server_api(USER_INFO, auth_token=token)
    assert (info["code"], info["sub_code"]) == ("20001", "aop.auth-token-time-out")


# -- the sandbox (my.getAuthCode) -------------------------------------------------------------
def test_sandbox_answers_like_my_get_auth_code(gateway):
    status, reply = gateway.sandbox_auth_code(
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
def test_sandbox_refuses_bad_input(gateway, body):
    status, reply = gateway.sandbox_auth_code(body)
    assert status == 400
    assert reply["code"] and reply["message"]


# -- state ------------------------------------------------------------------------------------
def test_keys_and_state_survive_a_restart(gateway):
    keys = gateway.emulator.keys
    before = {path: path.read_bytes() for path in vars(keys).values()}
    for private in (keys.app_private_key_file, keys.alipay_private_key_file):
        assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
        assert private.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    code = gateway.auth_code(new_user())
    restarted = gateway.build()
    assert restarted.keys == keys
    assert {path: path.read_bytes() for path in vars(restarted.keys).values()} == before
    server = HttpServer(restarted.app).start()
    try:
        client = gateway.client()
        client._gateway = server.url + "/gateway.do"
        assert exchange(client, code)["access_token"]  # minted before the restart
    finally:
        server.stop()


def test_state_from_before_apps_had_products_keeps_their_payments(tmp_path):
    with sqlite3.connect(tmp_path / "alipay.db") as conn:  # the apps table as it was
        conn.execute(
            "CREATE TABLE apps (app_id TEXT PRIMARY KEY, public_key_pem TEXT NOT NULL,"
            " signing TEXT NOT NULL, app_cert_sn TEXT NOT NULL, identity TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO apps VALUES ('9000000000000001', 'PEM', 'key', '', 'open_id')")
    gateway = Gateway(tmp_path, "key")
    try:
        old = gateway.emulator.apps.get("9000000000000001")
        assert (old.identity, old.payments) == ("open_id", True)
        user = new_user()
        trade = gateway.client().api_alipay_trade_create(
            subject="Pro", out_trade_no=out_no(), total_amount="1.00", buyer_id=user
        )
        assert trade["code"] == "10000"
    finally:
        gateway.close()


def test_certificates_survive_a_restart(cert_gateway):
    before = cert_gateway.emulator.certs
    after = cert_gateway.build().certs
    assert after == before
    assert after.app_cert_file.read_text() == before.app_cert_file.read_text()


# -- faults -----------------------------------------------------------------------------------
def test_fault_kinds_are_described():
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


def test_down_hangs_up_and_spends_nothing(gateway):
    code = gateway.auth_code(new_user())
    gateway.faults.set(Fault(service="alipay", kind="down", api=OAUTH))
    with pytest.raises(OSError):
        exchange(gateway.client(), code)
    gateway.faults.clear()
    assert exchange(gateway.client(), code)["access_token"]


def test_slow_still_answers(gateway):
    gateway.faults.set(Fault(service="alipay", kind="slow", api=OAUTH, seconds=0.05))
    user = new_user()
    assert exchange(gateway.client(), gateway.auth_code(user))["user_id"] == user
    assert gateway.faults.injected["alipay:slow"] >= 1


def test_fault_on_one_method_spares_the_other(gateway):
    gateway.faults.set(Fault(service="alipay", kind="error_response", api=USER_INFO))
    assert exchange(gateway.client(), gateway.auth_code(new_user()))["access_token"]

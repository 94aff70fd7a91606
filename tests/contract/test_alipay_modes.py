"""Contract tests of the local Alipay gateway's app settings, through python-alipay-sdk (plus
plain HTTP for the sandbox): the identity modes Alipay's openid guide describes (user_id, both,
open_id) and apps beside the sandbox app. Certificate mode is a signing setting of `gateway.do`,
tested with it in test_alipay.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from alipay import AliPay
from alipay.exceptions import AliPayException
from alipay_kit import (
    OAUTH,
    USER_INFO,
    Gateway,
    error_of,
    made_up_app_id,
    new_private_key,
    new_user,
    pem_private,
    pem_public,
)

from localcloud.alipay import IDENTITY_MODES

OPEN_ID = re.compile(r"0[0-9A-Za-z]{46}")


@pytest.fixture(scope="module")
def key_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("alipay-modes"), "key")
    yield gateway
    gateway.close()


@pytest.fixture
def sandbox_mode(key_gateway: Gateway) -> Iterator[None]:
    yield
    key_gateway.emulator.set_identity("user_id")


def login(gateway: Gateway, client: AliPay, user: str, app_id: str | None = None) -> dict[str, Any]:
    return client.server_api(
        OAUTH, grant_type="authorization_code", code=gateway.auth_code(user, app_id=app_id)
    )


# -- identity modes ---------------------------------------------------------------------------


def test_the_modes_are_the_three_alipay_has() -> None:
    assert IDENTITY_MODES == ("user_id", "both", "open_id")


def test_user_id_mode_names_the_user_by_user_id_only(
    key_gateway: Gateway, sandbox_mode: None
) -> None:
    user = new_user()
    reply = login(key_gateway, key_gateway.client(), user)
    assert reply["user_id"] == user and "open_id" not in reply


def test_open_id_mode_names_the_user_by_an_opaque_open_id_only(
    key_gateway: Gateway, sandbox_mode: None
) -> None:
    key_gateway.emulator.set_identity("open_id")
    user = new_user()
    reply = login(key_gateway, key_gateway.client(), user)
    assert "user_id" not in reply
    assert OPEN_ID.fullmatch(reply["open_id"]), reply["open_id"]
    assert user not in reply["open_id"]


def test_both_mode_carries_both_and_the_open_id_is_stable(
    key_gateway: Gateway, sandbox_mode: None
) -> None:
    client, user = key_gateway.client(), new_user()
    key_gateway.emulator.set_identity("both")
    both = login(key_gateway, client, user)
    assert both["user_id"] == user
    key_gateway.emulator.set_identity("open_id")
    assert login(key_gateway, client, user)["open_id"] == both["open_id"]


def test_user_info_follows_the_mode(key_gateway: Gateway, sandbox_mode: None) -> None:
    client, user = key_gateway.client(), new_user()
    key_gateway.emulator.set_identity("open_id")
    grant = client.server_api(
        OAUTH,
        grant_type="authorization_code",
        code=key_gateway.auth_code(user, scopes=["auth_user"]),
    )
    info = client.server_api(USER_INFO, auth_token=grant["access_token"])
    assert info["code"] == "10000" and info["open_id"] == grant["open_id"]
    assert "user_id" not in info


def test_switching_modes_keeps_codes_and_tokens(key_gateway: Gateway, sandbox_mode: None) -> None:
    client, user = key_gateway.client(), new_user()
    code = key_gateway.auth_code(user)
    key_gateway.emulator.set_identity("open_id")  # between minting and exchanging the code
    first = client.server_api(OAUTH, grant_type="authorization_code", code=code)
    key_gateway.emulator.set_identity("both")
    refreshed = client.server_api(
        OAUTH, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert refreshed["open_id"] == first["open_id"] and refreshed["user_id"] == user


def test_a_mode_outlives_a_restart_unless_one_is_given(
    key_gateway: Gateway, sandbox_mode: None
) -> None:
    key_gateway.emulator.set_identity("both")
    assert key_gateway.build().apps.get(key_gateway.app_id).identity == "both"
    assert key_gateway.build("open_id").apps.get(key_gateway.app_id).identity == "open_id"


def test_an_unknown_mode_is_refused(key_gateway: Gateway) -> None:
    with pytest.raises(ValueError, match="user_id, both, open_id"):
        key_gateway.emulator.set_identity("union_id")


# -- more than one app ------------------------------------------------------------------------


def test_two_apps_see_different_open_ids_for_one_user(
    key_gateway: Gateway, sandbox_mode: None
) -> None:
    other_key = new_private_key()
    other = key_gateway.emulator.register_app(
        made_up_app_id(), pem_public(other_key), identity="open_id"
    )
    key_gateway.emulator.set_identity("open_id")
    user = new_user()
    mine = login(key_gateway, key_gateway.client(), user)["open_id"]
    theirs_client = key_gateway.key_client(other.app_id, pem_private(other_key))
    theirs = login(key_gateway, theirs_client, user, other.app_id)["open_id"]
    assert OPEN_ID.fullmatch(theirs) and theirs != mine
    assert login(key_gateway, theirs_client, user, other.app_id)["open_id"] == theirs


def test_a_code_for_one_app_is_no_code_for_another(key_gateway: Gateway) -> None:
    other_key = new_private_key()
    other = key_gateway.emulator.register_app(made_up_app_id(), pem_public(other_key))
    code = key_gateway.auth_code(new_user())  # for the sandbox app
    with pytest.raises(AliPayException) as exc:
        key_gateway.key_client(other.app_id, pem_private(other_key)).server_api(
            OAUTH, grant_type="authorization_code", code=code
        )
    assert error_of(exc)["sub_code"] == "isv.code-invalid"
    # ... and the other app's attempt did not spend it.
    assert key_gateway.client().server_api(OAUTH, grant_type="authorization_code", code=code)[
        "access_token"
    ]


def test_each_app_signs_with_its_own_key(key_gateway: Gateway) -> None:
    other = key_gateway.emulator.register_app(made_up_app_id(), pem_public(new_private_key()))
    sandbox_key = key_gateway.emulator.keys.app_private_key_file.read_text()
    with pytest.raises(AliPayException) as exc:
        login(
            key_gateway, key_gateway.key_client(other.app_id, sandbox_key), new_user(), other.app_id
        )
    assert error_of(exc)["sub_code"] == "isv.invalid-signature"


def test_the_sandbox_refuses_an_unknown_app(key_gateway: Gateway) -> None:
    body = json.dumps({"user_id": new_user(), "app_id": made_up_app_id()}).encode()
    status, reply = key_gateway.sandbox_auth_code(body)
    assert (status, reply["code"]) == (400, "InvalidParameter")

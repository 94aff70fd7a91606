"""Contract tests of the local Alipay gateway's identity modes (user_id, both, open_id), of apps
beside the sandbox app, and of certificate mode, driven through python-alipay-sdk only (`AliPay`
for key mode, `DCAliPay` for certificate mode) plus plain HTTP for the sandbox.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alipay import AliPay, DCAliPay
from alipay.exceptions import AliPayException
from alipay.utils import AliPayConfig
from Cryptodome.PublicKey import RSA
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from localcloud.alipay import IDENTITY_MODES, AlipayEmulator
from localcloud.alipay.certs import issue_certificate
from localcloud.clock import ShiftableClock
from localcloud.faults import FaultBoard
from localcloud.httpshell import HttpServer

logging.getLogger("python-alipay-sdk").setLevel(logging.CRITICAL)

OAUTH = "alipay.system.oauth.token"
USER_INFO = "alipay.user.info.share"
OPEN_ID = re.compile(r"0[0-9A-Za-z]{46}")


def made_up_app_id() -> str:
    return "9" + "".join(secrets.choice("0123456789") for _ in range(15))


def new_user() -> str:
    return "2088" + "".join(secrets.choice("0123456789") for _ in range(12))


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def pem_public(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class Gateway:
    def __init__(self, tmp: Path, signing: str) -> None:
        self.tmp = tmp
        self.app_id = made_up_app_id()
        self.signing = signing
        self.emulator = self.build()
        self.server = HttpServer(self.emulator.app).start()

    def build(self, identity: str | None = None) -> AlipayEmulator:
        return AlipayEmulator(
            db_path=self.tmp / "alipay.db",
            keys_dir=self.tmp / "keys",
            clock=ShiftableClock(),
            faults=FaultBoard(seed=1),
            app_id=self.app_id,
            signing=self.signing,
            identity=identity,
        )

    @property
    def gateway(self) -> str:
        return self.server.url + "/gateway.do"

    def key_client(self, app_id: str, private_key_pem: str) -> AliPay:
        client = AliPay(
            app_id,
            None,
            app_private_key_string=private_key_pem,
            alipay_public_key_string=self.emulator.keys.alipay_public_key_file.read_text(),
            sign_type="RSA2",
            config=AliPayConfig(timeout=5),
        )
        client._gateway = self.gateway  # no constructor parameter for it (cloud-protocols.md)
        return client

    def sandbox_client(self) -> AliPay:
        return self.key_client(self.app_id, self.emulator.keys.app_private_key_file.read_text())

    def cert_client(self, *, app_cert: str | None = None, root_cert: str | None = None) -> DCAliPay:
        certs, keys = self.emulator.certs, self.emulator.keys
        client = DCAliPay(
            appid=self.app_id,
            app_private_key_string=keys.app_private_key_file.read_text(),
            app_public_key_cert_string=app_cert or certs.app_cert_file.read_text(),
            alipay_public_key_cert_string=certs.alipay_cert_file.read_text(),
            alipay_root_cert_string=root_cert or certs.root_cert_file.read_text(),
        )
        client._gateway = self.gateway
        return client

    def auth_code(
        self, user_id: str, app_id: str | None = None, scopes: list[str] | None = None
    ) -> str:
        body: dict[str, Any] = {"user_id": user_id}
        if app_id is not None:
            body["app_id"] = app_id
        if scopes is not None:
            body["scopes"] = scopes
        request = urllib.request.Request(
            self.server.url + "/sandbox/auth_code",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return str(json.loads(response.read())["authCode"])


@pytest.fixture(scope="module")
def key_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("alipay-key"), "key")
    yield gateway
    gateway.server.stop()


@pytest.fixture(scope="module")
def cert_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("alipay-cert"), "cert")
    yield gateway
    gateway.server.stop()


@pytest.fixture
def sandbox_mode(key_gateway: Gateway) -> Iterator[None]:
    yield
    key_gateway.emulator.set_identity("user_id")


def login(gateway: Gateway, client: AliPay, user: str, app_id: str | None = None) -> dict[str, Any]:
    return client.server_api(
        OAUTH, grant_type="authorization_code", code=gateway.auth_code(user, app_id)
    )


def error_of(exc: pytest.ExceptionInfo[AliPayException]) -> dict[str, Any]:
    return json.loads(str(exc.value).split("message:", 1)[1])["error_response"]


# -- identity modes ---------------------------------------------------------------------------


def test_the_modes_are_the_three_alipay_has() -> None:
    assert IDENTITY_MODES == ("user_id", "both", "open_id")


def test_user_id_mode_names_the_user_by_user_id_only(
    key_gateway: Gateway, sandbox_mode: None
) -> None:
    user = new_user()
    reply = login(key_gateway, key_gateway.sandbox_client(), user)
    assert reply["user_id"] == user and "open_id" not in reply


def test_open_id_mode_names_the_user_by_an_opaque_open_id_only(
    key_gateway: Gateway, sandbox_mode: None
) -> None:
    key_gateway.emulator.set_identity("open_id")
    user = new_user()
    reply = login(key_gateway, key_gateway.sandbox_client(), user)
    assert "user_id" not in reply
    assert OPEN_ID.fullmatch(reply["open_id"]), reply["open_id"]
    assert user not in reply["open_id"]


def test_both_mode_carries_both_and_the_open_id_is_stable(
    key_gateway: Gateway, sandbox_mode: None
) -> None:
    client, user = key_gateway.sandbox_client(), new_user()
    key_gateway.emulator.set_identity("both")
    both = login(key_gateway, client, user)
    assert both["user_id"] == user
    key_gateway.emulator.set_identity("open_id")
    assert login(key_gateway, client, user)["open_id"] == both["open_id"]


def test_user_info_follows_the_mode(key_gateway: Gateway, sandbox_mode: None) -> None:
    client, user = key_gateway.sandbox_client(), new_user()
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
    client, user = key_gateway.sandbox_client(), new_user()
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
    mine = login(key_gateway, key_gateway.sandbox_client(), user)["open_id"]
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
    assert key_gateway.sandbox_client().server_api(
        OAUTH, grant_type="authorization_code", code=code
    )["access_token"]


def test_each_app_signs_with_its_own_key(key_gateway: Gateway) -> None:
    other = key_gateway.emulator.register_app(made_up_app_id(), pem_public(new_private_key()))
    sandbox_key = key_gateway.emulator.keys.app_private_key_file.read_text()
    with pytest.raises(AliPayException) as exc:
        login(
            key_gateway, key_gateway.key_client(other.app_id, sandbox_key), new_user(), other.app_id
        )
    assert error_of(exc)["sub_code"] == "isv.invalid-signature"


def test_the_sandbox_refuses_an_unknown_app(key_gateway: Gateway) -> None:
    with pytest.raises(urllib.error.HTTPError) as exc:
        key_gateway.auth_code(new_user(), app_id=made_up_app_id())
    assert exc.value.code == 400


# -- certificate mode -------------------------------------------------------------------------


def test_certificate_mode_works_with_the_sdks_dcalipay(cert_gateway: Gateway) -> None:
    client, user = cert_gateway.cert_client(), new_user()
    assert client.app_cert_sn == cert_gateway.emulator.certs.app_cert_sn
    assert client.alipay_root_cert_sn == cert_gateway.emulator.certs.root_cert_sn
    reply = login(cert_gateway, client, user)
    assert reply["user_id"] == user


def test_replies_name_alipays_certificate(cert_gateway: Gateway) -> None:
    client = cert_gateway.cert_client()
    url = (
        cert_gateway.gateway
        + "?"
        + client.sign_data(
            client.build_body(
                OAUTH, grant_type="authorization_code", code=cert_gateway.auth_code(new_user())
            )
        )
    )
    with urllib.request.urlopen(url, timeout=5) as response:
        raw = json.loads(response.read())
    assert raw["alipay_cert_sn"] == cert_gateway.emulator.certs.alipay_cert_sn
    assert len(raw["alipay_cert_sn"]) == 32


def test_the_root_chain_has_a_certificate_the_sn_rule_skips(cert_gateway: Gateway) -> None:
    chain = cert_gateway.emulator.certs.root_cert_file.read_text()
    assert chain.count("BEGIN CERTIFICATE") == 2
    assert "_" not in DCAliPay.get_root_cert_sn(chain)  # only the RSA root counts


def test_a_wrong_app_certificate_serial_number_is_refused(cert_gateway: Gateway) -> None:
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
    with pytest.raises(AliPayException) as exc:
        client.server_api(OAUTH, grant_type="authorization_code", code=code)
    assert error_of(exc) == {
        "code": "40002",
        "msg": "Invalid Arguments",
        "sub_code": "isv.app-cert-not-exist",
        "sub_msg": "应用公钥证书不存在",
    }
    # Refused before the code was looked at: it still works with the right certificate.
    assert cert_gateway.cert_client().server_api(OAUTH, grant_type="authorization_code", code=code)[
        "access_token"
    ]


def test_a_wrong_root_certificate_serial_number_is_refused(cert_gateway: Gateway) -> None:
    certs = cert_gateway.emulator.certs
    foreign_root = certs.app_cert_file.read_text()  # an RSA-signed certificate, but not the root
    with pytest.raises(AliPayException) as exc:
        login(cert_gateway, cert_gateway.cert_client(root_cert=foreign_root), new_user())
    assert error_of(exc)["sub_code"] == "isv.invalid-alipay-root-cert-sn"


def test_a_key_mode_request_to_a_certificate_app_is_refused(cert_gateway: Gateway) -> None:
    with pytest.raises(AliPayException) as exc:
        login(cert_gateway, cert_gateway.sandbox_client(), new_user())
    assert error_of(exc)["sub_code"] == "isv.missing-app-cert-sn"


def test_the_right_serial_numbers_with_another_key_fail_the_signature(
    cert_gateway: Gateway,
) -> None:
    client = cert_gateway.cert_client()
    client._app_private_key = RSA.importKey(pem_private(new_private_key()))  # the SDK's own loader
    with pytest.raises(AliPayException) as exc:
        login(cert_gateway, client, new_user())
    assert error_of(exc)["sub_code"] == "isv.invalid-signature"


def test_certificates_survive_a_restart(cert_gateway: Gateway) -> None:
    before = cert_gateway.emulator.certs
    after = cert_gateway.build().certs
    assert after == before
    assert after.app_cert_file.read_text() == before.app_cert_file.read_text()

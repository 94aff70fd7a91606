"""Contract tests of the session function's Alipay adapter (`AlipayIdentityProvider`, on
python-alipay-sdk) against the local gateway in its other modes: an app in openid mode, and an
app in certificate mode (the SDK's DCAliPay), with the serial numbers `scripts/alipay_certs.py`
prints from the certificate files."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.alipay import AlipayEmulator
from localcloud.clock import ShiftableClock
from localcloud.faults import FaultBoard
from localcloud.httpshell import HttpServer
from miniapp.adapters.alipay import AlipayIdentityProvider
from miniapp.errors import Internal, UpstreamUnavailable

ROOT = Path(__file__).resolve().parents[2]


class Gateway:
    def __init__(self, tmp: Path, signing: str) -> None:
        self.app_id = "9" + "".join(secrets.choice("0123456789") for _ in range(15))
        self.emulator = AlipayEmulator(
            db_path=tmp / "alipay.db",
            keys_dir=tmp / "keys",
            clock=ShiftableClock(),
            faults=FaultBoard(seed=3),
            app_id=self.app_id,
            signing=signing,
        )
        self.server = HttpServer(self.emulator.app).start()

    def auth_code(self, user_id: str) -> str:
        request = urllib.request.Request(
            self.server.url + "/sandbox/auth_code",
            data=json.dumps({"user_id": user_id}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return str(json.loads(response.read())["authCode"])

    def provider(
        self,
        *,
        public: str | None = None,
        app_cert_sn: str | None = None,
        root_cert_sn: str | None = None,
    ) -> AlipayIdentityProvider:
        keys, certs = self.emulator.keys, self.emulator.certs
        cert_mode = self.emulator.apps.get(self.app_id).signing == "cert"
        if public is None:
            public = (
                certs.alipay_cert_file if cert_mode else keys.alipay_public_key_file
            ).read_text()
        return AlipayIdentityProvider(
            self.app_id,
            keys.app_private_key_file.read_text(),
            public,
            self.server.url + "/gateway.do",
            3.0,
            app_cert_sn=certs.app_cert_sn
            if app_cert_sn is None and cert_mode
            else (app_cert_sn or ""),
            root_cert_sn=certs.root_cert_sn
            if root_cert_sn is None and cert_mode
            else (root_cert_sn or ""),
        )


@pytest.fixture(scope="module")
def key_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("adapter-key"), "key")
    yield gateway
    gateway.server.stop()


@pytest.fixture(scope="module")
def cert_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = Gateway(tmp_path_factory.mktemp("adapter-cert"), "cert")
    yield gateway
    gateway.server.stop()


def new_user() -> str:
    return "2088" + "".join(secrets.choice("0123456789") for _ in range(12))


@pytest.mark.parametrize(
    "mode, named",
    [("user_id", {"user_id"}), ("both", {"user_id", "open_id"}), ("open_id", {"open_id"})],
)
def test_the_grant_names_the_user_as_the_app_is_told(
    key_gateway: Gateway, mode: str, named: set[str]
) -> None:
    key_gateway.emulator.set_identity(mode)
    try:
        user = new_user()
        grant = key_gateway.provider().exchange_auth_code(key_gateway.auth_code(user))
    finally:
        key_gateway.emulator.set_identity("user_id")
    assert {name for name in ("user_id", "open_id") if getattr(grant, name)} == named
    assert grant.user_id in ("", user)
    assert user not in grant.open_id


def test_certificate_mode_exchanges_a_code(cert_gateway: Gateway) -> None:
    user = new_user()
    grant = cert_gateway.provider().exchange_auth_code(cert_gateway.auth_code(user))
    assert grant.user_id == user and grant.access_token


def test_certificate_mode_takes_alipays_certificate_as_bare_base64(cert_gateway: Gateway) -> None:
    pem = cert_gateway.emulator.certs.alipay_cert_file.read_text()
    bare = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    user = new_user()
    grant = cert_gateway.provider(public=bare).exchange_auth_code(cert_gateway.auth_code(user))
    assert grant.user_id == user


@pytest.mark.parametrize(
    "wrong, sub_code",
    [
        ({"app_cert_sn": "0" * 32}, "isv.app-cert-not-exist"),
        ({"root_cert_sn": "1" * 32}, "isv.invalid-alipay-root-cert-sn"),
    ],
)
def test_a_wrong_serial_number_is_upstream_unavailable_naming_the_sub_code(
    cert_gateway: Gateway, wrong: dict[str, str], sub_code: str
) -> None:
    with pytest.raises(UpstreamUnavailable) as raised:
        cert_gateway.provider(**wrong).exchange_auth_code(cert_gateway.auth_code(new_user()))
    assert sub_code in raised.value.message


def test_replies_verified_with_another_certificate_are_refused(cert_gateway: Gateway) -> None:
    # The app's certificate stands in for a wrong Alipay certificate: the reply does not verify.
    app_cert = cert_gateway.emulator.certs.app_cert_file.read_text()
    with pytest.raises(UpstreamUnavailable) as raised:
        cert_gateway.provider(public=app_cert).exchange_auth_code(
            cert_gateway.auth_code(new_user())
        )
    assert "signature" in raised.value.message


def test_a_public_key_where_the_certificate_belongs_is_a_configuration_error(
    cert_gateway: Gateway,
) -> None:
    key = cert_gateway.emulator.keys.alipay_public_key_file.read_text()
    with pytest.raises(Internal) as raised:
        cert_gateway.provider(public=key)
    assert "certificate" in raised.value.message


def test_the_script_prints_the_parameters_the_gateway_expects(cert_gateway: Gateway) -> None:
    certs = cert_gateway.emulator.certs
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "alipay_certs.py"),
            str(certs.app_cert_file),
            str(certs.alipay_cert_file),
            str(certs.root_cert_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    printed = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert printed["AlipayAppCertSN"] == certs.app_cert_sn
    assert printed["AlipayRootCertSN"] == certs.root_cert_sn
    assert printed["AlipaySignMode"] == "cert"
    user = new_user()
    grant = cert_gateway.provider(public=printed["AlipayPublicKey"]).exchange_auth_code(
        cert_gateway.auth_code(user)
    )
    assert grant.user_id == user


def test_the_script_refuses_a_file_that_is_no_certificate(tmp_path: Path) -> None:
    junk = tmp_path / "junk.crt"
    junk.write_text("not a certificate")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "alipay_certs.py"),
            str(junk),
            str(junk),
            str(junk),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "certificate" in done.stderr


@pytest.mark.parametrize("mode", ["key", "cert"])
def test_a_cold_start_runs_no_primality_test(
    key_gateway: Gateway, cert_gateway: Gateway, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """pycryptodomex's consistency check of a private key (two primality tests) took 85 ms or
    more of every cold start on python3.10, and the SDK ran it again on the same key: the
    client checks the key without them (`keys.private_key`, which `make deploy` runs in full)
    and hands the SDK that key. Logins still sign and verify (the tests above)."""
    from Cryptodome.PublicKey import RSA

    checks: list[object] = []
    real = RSA.test_probable_prime

    def counted(candidate: object, randfunc: object = None) -> object:
        checks.append(candidate)
        return real(candidate, randfunc)

    monkeypatch.setattr(RSA, "test_probable_prime", counted)
    gateway = key_gateway if mode == "key" else cert_gateway
    provider = gateway.provider()
    assert checks == []
    user = new_user()
    assert provider.exchange_auth_code(gateway.auth_code(user)).user_id == user

"""Certificate mode end to end: the shared local cloud with `AlipaySignMode: cert` set on its
template for each test (`parameters_set`; its gateway's app then signs with certificates). The local
Alipay gateway is the certificate authority (it issued the app's and Alipay's certificates from
its own root at first start); the session function signs with the app's private key, sends both
serial numbers and verifies the replies with Alipay's public key certificate (python-alipay-sdk's
DCAliPay). Also: what the session function's environment weighs in either mode, against FC's 4 KB
limit on all its environment variables together."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.miniprogram import MiniProgram

from ..conftest import parameters_set

FC_ENVIRONMENT_LIMIT = 4096  # bytes, all variables of one function together


@pytest.fixture
def cert_cloud(local_cloud: Any) -> Iterator[Any]:
    with parameters_set(local_cloud, {"AlipaySignMode": "cert"}) as cloud:
        warm(cloud)
        yield cloud


def warm(cloud: Any) -> None:
    """Warm instances of both functions first: a cold start on a loaded machine can overrun the
    function's timeout (the instance is then killed and the next call starts cold again), and
    these tests are about signing, not cold starts. A few tries, then the error."""
    failure: object = None
    for _ in range(4):
        try:
            app = MiniProgram(cloud.cloud_config())
            app.db(app.login(), "list", v=2)
            return
        except Exception as exc:  # noqa: BLE001 - any failure of a try is retried, the last raised
            failure = exc
    raise AssertionError(f"the functions did not warm up: {failure}")


def session_environment(cloud: Any) -> dict[str, str]:
    """What the template gives the session function (the endpoints the local cloud adds for its
    own emulators are left out: in the cloud the template sets those same variables)."""
    service = cloud.template.service(cloud.cloud_config()["sessionServiceName"])
    return dict(service.function("session").environment)


def weight(environment: dict[str, str]) -> int:
    # FC documents the limit on the variables together; JSON is the form its API carries them
    # in, and a little heavier than the bare names and values, so it is the safe measure.
    return len(json.dumps(environment, ensure_ascii=False, separators=(",", ":")).encode())


def test_a_user_logs_in_and_keeps_todos_in_certificate_mode(cert_cloud: Any) -> None:
    config = cert_cloud.cloud_config()
    app = MiniProgram(config)
    session = app.login()
    app.db(session, "add", v=2, text="signed with a certificate")
    again = app.login()
    items = app.db(again, "list", v=2)["data"]["items"]
    assert [item["text"] for item in items] == ["signed with a certificate"]
    env = session_environment(cert_cloud)
    assert env["ALIPAY_SIGN_MODE"] == "cert"
    assert env["ALIPAY_APP_CERT_SN"] == cert_cloud.alipay.certs.app_cert_sn
    assert env["ALIPAY_ROOT_CERT_SN"] == cert_cloud.alipay.certs.root_cert_sn
    pem = cert_cloud.alipay.certs.alipay_cert_file.read_text()  # passed as bare base64
    assert env["ALIPAY_PUBLIC_KEY"] == "".join(pem.splitlines()[1:-1])


def test_a_certificate_the_gateway_no_longer_knows_is_refused(cert_cloud: Any) -> None:
    """The developer re-issued the app's certificate in the console; the function still sends the
    old serial number: Alipay answers isv.app-cert-not-exist, the client 503 UpstreamUnavailable,
    and no session is created."""
    gateway = cert_cloud.alipay
    app_id = gateway.app_id
    registered = gateway.apps.get(app_id)
    gateway.apps.register(app_id, registered.public_key_pem, signing="cert", app_cert_sn="0" * 32)
    try:
        app = MiniProgram(cert_cloud.cloud_config())
        answer = app.post_session({"authCode": app.get_auth_code()})
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "UpstreamUnavailable"
    finally:
        gateway.apps.register(
            app_id, registered.public_key_pem, signing="cert", app_cert_sn=registered.app_cert_sn
        )
    assert MiniProgram(cert_cloud.cloud_config()).login().session_id


def test_the_session_environment_fits_fcs_limit_in_either_mode(local_cloud: Any) -> None:
    key_mode = session_environment(local_cloud)
    with parameters_set(local_cloud, {"AlipaySignMode": "cert"}) as cert_cloud:
        cert_mode = session_environment(cert_cloud)
    assert key_mode["ALIPAY_SIGN_MODE"] == "key"
    # The app's private key lives in KMS, not in the environment.
    assert "ALIPAY_APP_PRIVATE_KEY" not in cert_mode and "ALIPAY_APP_PRIVATE_KEY" not in key_mode
    figures = {
        "key mode": weight(key_mode),
        "certificate mode": weight(cert_mode),
        "Alipay certificate": len(cert_mode["ALIPAY_PUBLIC_KEY"].encode()),
    }
    print(
        "\nsession function environment (bytes, JSON):",
        ", ".join(f"{name} {value}" for name, value in figures.items()),
    )
    assert figures["key mode"] <= FC_ENVIRONMENT_LIMIT
    assert figures["certificate mode"] <= FC_ENVIRONMENT_LIMIT


def test_certificate_mode_runs_pyopenssl_which_key_mode_never_loads(cert_cloud: Any) -> None:
    """python-alipay-sdk reads Alipay's public key certificate with pyOpenSSL, which the
    functions import deferred (miniapp/adapters/sdk_imports.py): run here, never in key mode
    (tests/package/test_cold_path.py)."""
    config = cert_cloud.cloud_config()
    MiniProgram(config).login()
    files, _ = cert_cloud.fc.loaded_modules(
        config["sessionServiceName"], config["sessionFunctionName"]
    )
    assert [f for f in files if "/OpenSSL/" in f]

"""A local Alipay gateway for the Alipay contract tests: an emulator on an ephemeral port with its
own clock and a scheduler that runs only when told (`tick`) or when the clock moves,
python-alipay-sdk clients in key mode (`AliPay`) and certificate mode (`DCAliPay`), the sandbox
(auth codes and the cashier) and a loopback notify receiver.

The app id is made up at run time (real AppIds start with 20...; ours with 9), the keys and
certificates are generated into the test's folder."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from alipay import AliPay, DCAliPay
from alipay.exceptions import AliPayException
from alipay.utils import AliPayConfig
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from localcloud.alipay import AlipayEmulator
from localcloud.clock import ShiftableClock
from localcloud.faults import FaultBoard
from localcloud.httpshell import HttpServer
from localcloud.schedule import Scheduler

# alipay/loggers.py attaches a DEBUG stderr handler on import; keep test output clean.
logging.getLogger("python-alipay-sdk").setLevel(logging.CRITICAL)

OAUTH = "alipay.system.oauth.token"
USER_INFO = "alipay.user.info.share"


def new_user() -> str:
    return "2088" + "".join(secrets.choice("0123456789") for _ in range(12))


def made_up_app_id() -> str:
    return "9" + "".join(secrets.choice("0123456789") for _ in range(15))


def out_no() -> str:
    return "T" + secrets.token_hex(8)


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


def error_of(exc: pytest.ExceptionInfo[AliPayException]) -> dict[str, Any]:
    """The `error_response` object of the raw reply the SDK put into its exception message."""
    raw = str(exc.value).split("message:", 1)[1]
    return dict(json.loads(raw)["error_response"])


def sub_code(reply: dict[str, Any]) -> tuple[str, str]:
    """(code, sub_code) of a reply the SDK returned (a business refusal comes back, not raised)."""
    return reply["code"], reply.get("sub_code", "")


def post_json(url: str, body: bytes) -> tuple[int, Any]:
    """POST a JSON body (as given, malformed or not); the status and the JSON answer."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@contextmanager
def gateway_for(request: Any, tmp: Path) -> Iterator[Gateway]:
    """The gateway a parametrized fixture asks for: `request.param` is (signing, identity)."""
    signing, identity = request.param
    running = Gateway(tmp, signing, identity)
    try:
        yield running
    finally:
        running.close()


class Gateway:
    def __init__(self, tmp: Path, signing: str = "key", identity: str = "user_id") -> None:
        self.tmp = tmp
        self.app_id = made_up_app_id()
        self.clock = ShiftableClock()
        self.faults = FaultBoard(seed=1)
        self.scheduler = Scheduler(self.clock)  # not started: the test says when it looks
        self.signing = signing
        self.emulator = self.build(identity)
        self.server = HttpServer(self.emulator.app).start()

    def build(self, identity: str | None = None) -> AlipayEmulator:
        """The gateway on this folder's state (again: a restart)."""
        return AlipayEmulator(
            db_path=self.tmp / "alipay.db",
            keys_dir=self.tmp / "keys",
            clock=self.clock,
            faults=self.faults,
            app_id=self.app_id,
            signing=self.signing,
            identity=identity,
            scheduler=self.scheduler,
        )

    @property
    def gateway(self) -> str:
        return self.server.url + "/gateway.do"

    def client(self) -> AliPay:
        """The sandbox app's client, in the gateway's signing mode."""
        if self.signing == "cert":
            return self.cert_client()
        return self.key_client()

    def key_client(self, app_id: str | None = None, private_key: str | None = None) -> AliPay:
        keys = self.emulator.keys
        client = AliPay(
            app_id or self.app_id,
            None,
            app_private_key_string=private_key or keys.app_private_key_file.read_text(),
            alipay_public_key_string=keys.alipay_public_key_file.read_text(),
            sign_type="RSA2",
            config=AliPayConfig(timeout=5),
        )
        client._gateway = self.gateway  # no constructor parameter for it (cloud-protocols.md)
        return client

    def cert_client(self, *, app_cert: str | None = None, root_cert: str | None = None) -> DCAliPay:
        keys, certs = self.emulator.keys, self.emulator.certs
        client = DCAliPay(
            appid=self.app_id,
            app_private_key_string=keys.app_private_key_file.read_text(),
            app_public_key_cert_string=app_cert or certs.app_cert_file.read_text(),
            alipay_public_key_cert_string=certs.alipay_cert_file.read_text(),
            alipay_root_cert_string=root_cert or certs.root_cert_file.read_text(),
        )
        client._gateway = self.gateway
        return client

    def identity(self) -> str:
        return self.emulator.apps.get(self.app_id).identity

    def auth_code(
        self, user: str, scopes: list[str] | None = None, app_id: str | None = None
    ) -> str:
        body: dict[str, Any] = {"user_id": user}
        if scopes is not None:
            body["scopes"] = scopes
        if app_id is not None:
            body["app_id"] = app_id
        status, reply = self.sandbox_auth_code(json.dumps(body).encode())
        assert status == 200, reply
        return str(reply["authCode"])

    def sandbox_auth_code(self, body: bytes) -> tuple[int, Any]:
        return post_json(self.server.url + "/sandbox/auth_code", body)

    def open_id(self, user: str) -> str:
        """The user's open_id for the app, as the app learns it: from a login."""
        code = self.auth_code(user)
        return str(
            self.client().server_api(OAUTH, grant_type="authorization_code", code=code)["open_id"]
        )

    def buyer(self, user: str) -> dict[str, str]:
        """The buyer as the app names them: user_id, or the open_id its login answered."""
        if self.identity() == "open_id":
            return {"buyer_open_id": self.open_id(user)}
        return {"buyer_id": user}

    def pay(self, trade_no: str, user: str, result: str = "success") -> tuple[int, Any]:
        return self.sandbox_pay(
            json.dumps({"tradeNo": trade_no, "user_id": user, "result": result}).encode()
        )

    def sandbox_pay(self, body: bytes) -> tuple[int, Any]:
        return post_json(self.server.url + "/sandbox/pay", body)

    def close(self) -> None:
        self.server.stop()


class Receiver:
    """A merchant's notify_url on loopback: records each POST's form, answers what it is told
    (`answers`, one per POST, then `success`). Its path is its own: a notify queued for an
    earlier receiver whose port the system gave again (a retry, a TRADE_FINISHED months later on
    the local clock) is answered 404 and not recorded."""

    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []
        self.content_types: list[str] = []
        self.answers: list[bytes] = []
        self._arrived = threading.Condition()
        path = f"/notify/{secrets.token_hex(8)}"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != path:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with receiver._arrived:
                    receiver.forms.append(
                        dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                    )
                    receiver.content_types.append(self.headers.get("Content-Type", ""))
                    answer = receiver.answers.pop(0) if receiver.answers else b"success"
                    receiver._arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{path}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, str]]:
        """The forms once `count` have arrived (a bound on waiting, not a timing assertion)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.forms) >= count, timeout)
            return list(self.forms)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    try:
        yield running
    finally:
        running.stop()

"""A local Alipay gateway for the trade and notify contract tests: an emulator on an ephemeral
port with its own clock and a scheduler that runs only when told (`tick`) or when the clock
moves, python-alipay-sdk clients in key and certificate mode, the sandbox cashier and a loopback
notify receiver."""

from __future__ import annotations

import json
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

from alipay import AliPay, DCAliPay
from alipay.utils import AliPayConfig

from localcloud.alipay import AlipayEmulator
from localcloud.clock import ShiftableClock
from localcloud.faults import FaultBoard
from localcloud.httpshell import HttpServer
from localcloud.schedule import Scheduler

OAUTH = "alipay.system.oauth.token"


def new_user() -> str:
    return "2088" + "".join(secrets.choice("0123456789") for _ in range(12))


def out_no() -> str:
    return "T" + secrets.token_hex(8)


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
    def __init__(self, tmp: Path, signing: str, identity: str = "user_id") -> None:
        self.app_id = "9" + "".join(secrets.choice("0123456789") for _ in range(15))
        self.clock = ShiftableClock()
        self.faults = FaultBoard(seed=1)
        self.scheduler = Scheduler(self.clock)  # not started: the test says when it looks
        self.emulator = AlipayEmulator(
            db_path=tmp / "alipay.db",
            keys_dir=tmp / "keys",
            clock=self.clock,
            faults=self.faults,
            app_id=self.app_id,
            signing=signing,
            identity=identity,
            scheduler=self.scheduler,
        )
        self.signing = signing
        self.server = HttpServer(self.emulator.app).start()

    def client(self) -> AliPay:
        keys, certs = self.emulator.keys, self.emulator.certs
        client: AliPay
        if self.signing == "cert":
            client = DCAliPay(
                appid=self.app_id,
                app_private_key_string=keys.app_private_key_file.read_text(),
                app_public_key_cert_string=certs.app_cert_file.read_text(),
                alipay_public_key_cert_string=certs.alipay_cert_file.read_text(),
                alipay_root_cert_string=certs.root_cert_file.read_text(),
            )
        else:
            client = AliPay(
                self.app_id,
                None,
                app_private_key_string=keys.app_private_key_file.read_text(),
                alipay_public_key_string=keys.alipay_public_key_file.read_text(),
                sign_type="RSA2",
                config=AliPayConfig(timeout=5),
            )
        client._gateway = self.server.url + "/gateway.do"  # no constructor parameter for it
        return client

    def open_id(self, user: str) -> str:
        """The user's open_id for the app, as the app learns it: from a login."""
        request = urllib.request.Request(
            self.server.url + "/sandbox/auth_code",
            data=json.dumps({"user_id": user}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            code = json.loads(response.read())["authCode"]
        return str(
            self.client().server_api(OAUTH, grant_type="authorization_code", code=code)["open_id"]
        )

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
    (`answers`, one per POST, then `success`)."""

    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []
        self.content_types: list[str] = []
        self.answers: list[bytes] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
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
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/notify"
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

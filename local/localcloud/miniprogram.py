"""Plays the Alipay mini program against a running local cloud, described by the cloud's own
`{state-dir}/cloud.json` (`.local/cloud.json` for `make dev`): the client config's keys
(`fcEndpoint`, `sessionUrl`, `serviceName`, `dbFunctionName`) and `alipaySandbox`, which only the
cloud file has. It gets an auth code from the sandbox (where a phone would call
`my.getAuthCode`), opens a session over the session function's HTTP trigger, and invokes the db
function through `aliyun-fc2` with the STS credentials it was given — exactly the client's path.

Used by `make demo` and by the end-to-end tests.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests


def new_user_id() -> str:
    """A fresh Alipay-shaped user id (2088 + 12 digits) for the sandbox."""
    return "2088" + "".join(secrets.choice("0123456789") for _ in range(12))


@dataclass(frozen=True)
class Session:
    session_id: str
    sts: Mapping[str, str]


class MiniProgram:
    def __init__(
        self, config: Mapping[str, str], user_id: str | None = None, timeout: float = 15.0
    ) -> None:
        self.config = config
        self.user_id = user_id or new_user_id()
        self.timeout = timeout
        self.http = requests.Session()

    # -- what my.getAuthCode gives the mini program ------------------------------------------
    def get_auth_code(self) -> str:
        resp = self.http.post(
            self.config["alipaySandbox"] + "/auth_code",
            json={"user_id": self.user_id},
            timeout=self.timeout,
        )
        resp.raise_for_status()
        return str(resp.json()["authCode"])

    # -- the session function ---------------------------------------------------------------
    def post_session(
        self,
        body: Any,
        path: str = "",
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        data = raw if raw is not None else json.dumps(body).encode()
        return self.http.post(
            self.config["sessionUrl"] + path,
            data=data,
            timeout=self.timeout,
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    def login(self) -> Session:
        code = self.get_auth_code()
        resp = self.post_session({"authCode": code, "authSuccessScopes": ["auth_base"]})
        if resp.status_code != 200:
            raise RuntimeError(f"login failed: {resp.status_code} {resp.text}")
        body = resp.json()
        return Session(body["sessionId"], body["sts"])

    # -- the db function, invoked with the session's STS credentials ------------------------
    def fc_client(self, sts: Mapping[str, str]) -> Any:
        import fc2

        return fc2.Client(
            endpoint=self.config["fcEndpoint"],
            accessKeyID=sts["AccessKeyId"],
            accessKeySecret=sts["AccessKeySecret"],
            securityToken=sts["SecurityToken"],
            Timeout=self.timeout,
        )

    def invoke(
        self, session: Session, event: Mapping[str, Any], function: str | None = None
    ) -> Any:
        client = self.fc_client(session.sts)
        resp = client.invoke_function(
            self.config["serviceName"],
            function or self.config["dbFunctionName"],
            payload=json.dumps(event),
        )
        return json.loads(resp.data)

    def db(self, session: Session, op: str, **fields: Any) -> Any:
        return self.invoke(session, {"sid": session.session_id, "op": op, **fields})

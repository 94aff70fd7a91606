"""Fixtures for the unit tests: a `World` of fakes with both apps composed exactly as wiring
composes them for FC, only with fakes in place of the adapters."""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from miniapp.config import Settings
from miniapp.wiring import DbPorts, SessionPorts, db_app_from_ports, session_app_from_ports

from .fakes import (
    FakeClock,
    FakeIdentity,
    FakeIssuer,
    InMemoryIdempotency,
    InMemoryIdentityLinks,
    InMemoryItems,
    InMemoryRateLimiter,
    InMemorySessions,
    InMemoryUsage,
    ListSink,
)

REPO = Path(__file__).resolve().parents[2]
ALICE, BOB = "2088000000000001", "2088000000000002"
IP = "203.0.113.7"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        data_key=os.urandom(32), ots_instance="testinstance", region="cn-hangzhou",
        account_id="1234567890123456", fc_service_name="todo", db_function_name="db",
        alipay_app_id="test-app", alipay_app_private_key="unused", alipay_public_key="unused",
        client_role_arn="acs:ram::1234567890123456:role/miniapp-client")
    values.update(overrides)
    return Settings(**values)


class World:
    def __init__(self, sink: Any = None, **settings: Any) -> None:
        self.settings = make_settings(**settings)
        self.clock = FakeClock()
        self.identity = FakeIdentity()
        self.issuer = FakeIssuer()
        self.sessions = InMemorySessions()
        self.items = InMemoryItems()
        self.usage = InMemoryUsage()
        self.idempotency = InMemoryIdempotency()
        self.limiter = InMemoryRateLimiter(self.clock)
        self.links = InMemoryIdentityLinks()
        self.sink = ListSink() if sink is None else sink
        self.session_app = session_app_from_ports(self.settings, SessionPorts(
            identity=self.identity, issuer=self.issuer, sessions=self.sessions,
            limiter=self.limiter, sink=self.sink, clock=self.clock, links=self.links))
        self.db_app = db_app_from_ports(self.settings, DbPorts(
            sessions=self.sessions, items=self.items, usage=self.usage,
            idempotency=self.idempotency, sink=self.sink, clock=self.clock))

    def post(self, path: str = "/", body: Any = None, *, raw: bytes | None = None,
             method: str = "POST", ip: str = IP):
        data = raw if raw is not None else json.dumps(body).encode()
        return self.session_app.handle(method=method, path=path, body=data, client_ip=ip,
                                       request_id="req-1")

    def login(self, user: str = ALICE, open_id: str = "") -> str:
        """Log in as Alipay names the user: by user_id, by open_id, or by both."""
        code = self.identity.mint(user, open_id)
        answer = self.post("/", {"authCode": code, "authSuccessScopes": ["auth_base"]})
        assert answer.status == 200, answer.body
        return answer.body["sessionId"]

    def db(self, event: Any = None, *, raw: bytes | None = None) -> dict[str, Any]:
        data = raw if raw is not None else json.dumps(event).encode()
        return self.db_app.handle(data, "req-1")

    def v2(self, sid: str, op: str, **fields: Any) -> dict[str, Any]:
        return self.db({"v": 2, "sid": sid, "op": op, **fields})

    def ok(self, answer: dict[str, Any]) -> Any:
        assert "error" not in answer, answer
        return answer["data"]


@pytest.fixture
def world() -> World:
    return World()


def load_handler(function: str) -> ModuleType:
    """functions/<name>/index.py under a unique module name (both files are called index.py)."""
    path = REPO / "functions" / function / "index.py"
    spec = importlib.util.spec_from_file_location(f"fc_{function}_index", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def error_code(answer: dict[str, Any]) -> str:
    assert "error" in answer, answer
    return answer["error"]["code"]

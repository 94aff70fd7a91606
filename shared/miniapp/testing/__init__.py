"""The public test kit: a `World` of in-memory fakes with both apps composed exactly as
`miniapp.wiring` composes them for FC, only with fakes in place of the adapters, so a developer's
own tests can drive their collections and custom ops without a cloud:

    from miniapp.testing import World
    world = World()
    sid = world.login("2088000000000001")
    world.ok(world.v2(sid, "add", collection="notes", title="hi"))

`World(collections=...)` serves other declarations than the registered ones; keyword settings
(`World(item_quota=3)`) go to `Settings`; `sessions=`, `items=` or `tallies=` put a fake of the
test's own (a subclass that fails a certain way) in place of the default one. `world.files` is
the files bucket (`FakeFileObjects`: post a ticket's form to it as the phone would); with
`bucket=False` there is none, as in a db function deployed without FILES_BUCKET. A test that drives
one service below the front ends takes it from the composed apps: `world.compat`,
`world.collection("todos")`, `world.login_service` (the session function's), `world.resolver`
(the db function's session resolution, with its read-ahead). No I/O, no SDKs.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..crypto import KeyRing
from ..domain.schema import Collection
from ..wiring import DbPorts, SessionPorts, db_app_from_ports, session_app_from_ports
from .fake_files import FakeFileObjects
from .fakes import (
    FakeClock,
    FakeIdentity,
    FakeIssuer,
    FakeTrades,
    InMemoryIdempotency,
    InMemoryIdentityLinks,
    InMemoryItems,
    InMemoryOrderIndex,
    InMemoryRateLimiter,
    InMemoryRows,
    InMemorySessionItems,
    InMemorySessions,
    InMemoryTallies,
    ListSink,
)

if TYPE_CHECKING:
    from ..services.collection import CollectionService
    from ..services.compat import Compat
    from ..services.login import Login
    from ..services.sessions import Sessions

ALICE, BOB = "2088000000000001", "2088000000000002"
IP = "203.0.113.7"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        hash_key=os.urandom(32),
        data_keys=KeyRing.single(os.urandom(32)),
        ots_instance="testinstance",
        region="cn-hangzhou",
        account_id="1234567890123456",
        fc_service_name="todo",
        db_function_name="db",
        alipay_app_id="test-app",
        alipay_app_private_key="unused",
        alipay_public_key="unused",
        notify_service_name="todo-notify",
        notify_function_name="notify",
        client_role_arn="acs:ram::1234567890123456:role/miniapp-client",
    )
    values.update(overrides)
    return Settings(**values)


class World:
    def __init__(
        self,
        sink: Any = None,
        collections: tuple[Collection, ...] | None = None,
        *,
        sessions: InMemorySessions | None = None,
        items: InMemoryItems | None = None,
        tallies: InMemoryTallies | None = None,
        bucket: bool = True,
        **settings: Any,
    ) -> None:
        if items is not None and tallies is not None:
            raise ValueError("give items or tallies (which holds its own items), not both")
        self.settings = make_settings(**settings)
        self.clock = FakeClock()
        self.identity = FakeIdentity()
        self.issuer = FakeIssuer()
        self.sessions = InMemorySessions() if sessions is None else sessions
        self.tallies = InMemoryTallies(items, InMemoryRows()) if tallies is None else tallies
        self.items, self.rows = self.tallies.items, self.tallies.rows
        # The session row with a command's first rows, as the db function reads them warm.
        self.session_items = InMemorySessionItems(self.sessions, self.tallies)
        self.idempotency = InMemoryIdempotency()
        self.limiter = InMemoryRateLimiter(self.clock)
        self.links = InMemoryIdentityLinks()
        self.trades = FakeTrades()  # Alipay's trade API (payments: the `orders` collection)
        self.order_index = InMemoryOrderIndex()
        self.files = FakeFileObjects(self.clock)  # the users' files bucket (`files` collection)
        self.sink = ListSink() if sink is None else sink
        self.session_app = session_app_from_ports(
            self.settings,
            SessionPorts(
                identity=self.identity,
                issuer=self.issuer,
                sessions=self.sessions,
                limiter=self.limiter,
                sink=self.sink,
                clock=self.clock,
                links=self.links,
            ),
        )
        self.db_app = db_app_from_ports(
            self.settings,
            DbPorts(
                sessions=self.sessions,
                items=self.items,
                rows=self.rows,
                counted=self.tallies,
                idempotency=self.idempotency,
                sink=self.sink,
                clock=self.clock,
                session_items=self.session_items,
                grants=self.tallies,
                order_index=self.order_index,
                trades=lambda: self.trades,
                files=self.files if bucket else None,
            ),
            collections,
        )

    # The services as the two apps compose them, for tests of one service's rules.

    @property
    def login_service(self) -> Login:
        """The session function's logins, refreshes and logouts."""
        return self.session_app.login

    @property
    def resolver(self) -> Sessions:
        """The db function's session resolution (it reads a command's first rows with the
        session row once it has seen the session)."""
        return self.db_app.sessions

    @property
    def compat(self) -> Compat:
        """The 2020 protocol's rows."""
        return self.db_app.services.compat

    def collection(self, name: str = "todos") -> CollectionService:
        return self.db_app.services.collections[name]

    def post(
        self,
        path: str = "/",
        body: Any = None,
        *,
        raw: bytes | None = None,
        method: str = "POST",
        ip: str = IP,
    ) -> Any:
        data = raw if raw is not None else json.dumps(body).encode()
        return self.session_app.handle(
            method=method, path=path, body=data, client_ip=ip, request_id="req-1"
        )

    def login(self, user: str = ALICE, open_id: str = "") -> str:
        """Log in as Alipay names the user: by user_id, by open_id, or by both."""
        code = self.identity.mint(user, open_id)
        answer = self.post("/", {"authCode": code, "authSuccessScopes": ["auth_base"]})
        assert answer.status == 200, answer.body
        return str(answer.body["sessionId"])

    def db(self, event: Any = None, *, raw: bytes | None = None) -> dict[str, Any]:
        data = raw if raw is not None else json.dumps(event).encode()
        return self.db_app.handle(data, "req-1")

    def v2(self, sid: str, op: str, **fields: Any) -> dict[str, Any]:
        return self.db({"v": 2, "sid": sid, "op": op, **fields})

    def ok(self, answer: dict[str, Any]) -> Any:
        assert "error" not in answer, answer
        return answer["data"]


__all__ = ["ALICE", "BOB", "IP", "World", "make_settings"]

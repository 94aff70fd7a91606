"""Starts the local Function Compute on this test stack for the contract tests (Python and
Node): account, credential book, shiftable clock, fault board, the template, a recording log
sink, the emulator and an HTTP server on an ephemeral port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fc2

from localcloud.account import Account, load_or_create_account
from localcloud.clock import ShiftableClock
from localcloud.credentials import CredentialBook, IssuedCredentials
from localcloud.faults import FaultBoard
from localcloud.fc import FunctionComputeEmulator
from localcloud.httpshell import HttpServer
from localcloud.template import Template, load_template

APP = Path(__file__).parent
PARAMETERS = {"ApiSecret": "not-a-real-secret"}


def unpacked_code(bucket: str, key: str, path: str) -> Path:
    """Every function's OSS package is the code/ folder (no upload, no unzip for these tests)."""
    return APP / "code"


class Issuer:
    """Stands in for the STS emulator: issues straight from the credential book."""

    def __init__(self, book: CredentialBook) -> None:
        self.book = book

    def assume_role(
        self, role_arn: str, session_name: str, policy: dict[str, Any] | None, duration_seconds: int
    ) -> IssuedCredentials:
        return self.book.issue(role_arn, session_name, policy, duration_seconds)


@dataclass
class RecordingSink:
    """A log sink that keeps what FC ships, in place of the Log Service emulator."""

    writes: list[tuple[str, str, list[dict[str, str]], str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(
        self,
        project: str,
        logstore: str,
        records: list[dict[str, str]],
        topic: str = "",
        source: str = "",
    ) -> None:
        with self.lock:
            self.writes.append((project, logstore, records, topic))

    def records_for(self, request_id: str) -> list[dict[str, str]]:
        with self.lock:
            return [
                r
                for _, _, records, _ in self.writes
                for r in records
                if r["requestId"] == request_id
            ]


@dataclass
class Cloud:
    account: Account
    book: CredentialBook
    clock: ShiftableClock
    faults: FaultBoard
    template: Template
    sink: RecordingSink
    emulator: FunctionComputeEmulator
    url: str

    def client(
        self, key_id: str | None = None, secret: str | None = None, token: str = ""
    ) -> fc2.Client:
        return fc2.Client(
            endpoint=self.url,
            accessKeyID=key_id or self.account.access_key_id,
            accessKeySecret=secret or self.account.access_key_secret,
            securityToken=token,
            Timeout=30,
        )

    def issue(
        self, policy: dict[str, Any] | None, role: str = "someexternalrole", duration: int = 3600
    ) -> IssuedCredentials:
        return self.book.issue(
            f"acs:ram::{self.account.account_id}:role/{role}", "tester", policy, duration
        )

    def sts_client(
        self, policy: dict[str, Any] | None, role: str = "someexternalrole", duration: int = 3600
    ) -> fc2.Client:
        issued = self.issue(policy, role, duration)
        return self.client(
            issued.principal.access_key_id,
            issued.principal.access_key_secret,
            issued.security_token,
        )

    def resource(self, function: str, service: str = "fctest") -> str:
        return (
            f"acs:fc:{self.account.region}:{self.account.account_id}:services/{service}/"
            f"functions/{function}"
        )


@contextmanager
def running_cloud(state: Path) -> Iterator[Cloud]:
    account = load_or_create_account(state)
    clock = ShiftableClock()
    book = CredentialBook(account, state / "credentials.sqlite3", clock)
    faults = FaultBoard()
    template = load_template(
        APP / "template.yml",
        PARAMETERS,
        account_id=account.account_id,
        region=account.region,
        code=unpacked_code,
    )
    sink = RecordingSink()
    emulator = FunctionComputeEmulator(
        template=template,
        account=account,
        credentials=book,
        clock=clock,
        faults=faults,
        issuer=Issuer(book),
        log_sink=sink,
        region=account.region,
        extra_env={"EXTRA": "from-the-local-cloud", "OTS_ENDPOINT": "http://127.0.0.1:9"},
    )
    server = HttpServer(emulator.app, **emulator.server_options()).start()
    emulator.endpoint = server.url
    try:
        yield Cloud(account, book, clock, faults, template, sink, emulator, server.url)
    finally:
        server.stop()
        emulator.close()

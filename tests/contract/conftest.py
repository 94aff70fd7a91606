"""Fixtures of the contract tests: the local OSS on an ephemeral port, a bucket per test."""

from __future__ import annotations

import re
from collections.abc import Iterator

import oss2
import pytest

from localcloud.account import load_or_create_account
from localcloud.clock import ShiftableClock
from localcloud.credentials import CredentialBook
from localcloud.httpshell import HttpServer
from localcloud.oss import ObjectStore, OssEmulator
from tests.contract.osskit import Oss


@pytest.fixture(scope="module")
def oss(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Oss]:
    state = tmp_path_factory.mktemp("oss-state")
    account = load_or_create_account(state)
    clock = ShiftableClock()
    credentials = CredentialBook(account, state / "credentials.sqlite3", clock)
    emulator = OssEmulator(
        store=ObjectStore(state / "oss.sqlite3", clock),
        account=account,
        credentials=credentials,
        clock=clock,
    )
    server = HttpServer(emulator.app, screen=emulator.screen, **emulator.server_options()).start()
    try:
        yield Oss(server.url, account, credentials, clock, state, emulator)
    finally:
        server.stop()


@pytest.fixture
def bucket(oss: Oss, request: pytest.FixtureRequest) -> oss2.Bucket:
    name = "b-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:50].rstrip("-")
    bucket = oss.bucket(name)
    bucket.create_bucket()
    return bucket

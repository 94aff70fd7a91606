"""What `make dev` shows in the terminal: one line per invocation (time, function, op, outcome,
latency, cold or warm), and `python -m localcloud logs` printing the logstore's records of a
request just made, once or following."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.miniprogram import MiniProgram, Session
from tests.conftest import ROOT, build_packages, warm_up
from tests.contract.test_cloud_cli import _start, _stop, _wait_for, cli


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str], Any]]:
    build_packages()
    base = tmp_path_factory.mktemp("dev")
    proc = _start(base / "state", base / "local.json")
    try:
        config = _wait_for(base / "state", proc)
        warm_up(config)
        yield base / "state", config, proc
    finally:
        if proc.poll() is None:
            _stop(proc)


def _login(config: dict[str, str]) -> tuple[MiniProgram, str, Session]:
    """(the client, the login's request id, the session)."""
    app = MiniProgram(config)
    resp = app.post_session({"authCode": app.get_auth_code()})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return app, resp.headers["x-fc-request-id"], Session(body["sessionId"], body["sts"])


def test_logs_prints_the_records_of_a_request_just_made(dev):
    state, config, _ = dev
    _, request_id, _ = _login(config)
    result = cli("--state-dir", str(state), "logs", "--since", "5")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if f"requestId={request_id}" in line]
    assert any("kind=audit" in line and "event=login" in line for line in lines), result.stdout
    assert any("FC Invoke Start" in line for line in lines), result.stdout
    only_audits = cli(
        "--state-dir", str(state), "logs", "message.kind: audit and message.event: login"
    )
    assert only_audits.stdout.strip()
    assert all("event=login" in line for line in only_audits.stdout.splitlines())


def test_logs_follow_prints_records_as_they_arrive(dev):
    state, config, _ = dev
    _, before, _ = _login(config)
    follow = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localcloud",
            "--state-dir",
            str(state),
            "logs",
            "--follow",
            "--since",
            "5",
            "--every",
            "0.2",
            "message.kind: audit",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert follow.stdout is not None
    stream = follow.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()

    def wait_for(request_id: str) -> str:
        deadline = time.time() + 60
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.time()))
            except queue.Empty:
                pytest.fail(f"logs --follow did not print the audit record of {request_id}")
            if f"requestId={request_id}" in line:
                return line

    try:
        wait_for(before)  # the backlog: it runs and has read what was there
        _, after, _ = _login(config)
        assert "event=login" in wait_for(after)  # arrived while it was following
    finally:
        follow.terminate()
        follow.wait(timeout=10)


def test_the_terminal_shows_one_line_per_invocation(dev):
    state, config, proc = dev
    app, _, session = _login(config)
    for _ in range(2):
        assert "data" in app.db(session, "list", v=2)
    assert app.db(session, "get", v=2, id="not an id")["error"]["code"] == "InvalidRequest"
    out = _stop(proc)
    lines = [
        line
        for line in out.splitlines()
        if re.match(r"^\d\d:\d\d:\d\d  \S+\s+.+ ms  (cold|warm)$", line)
    ]
    assert any(
        re.search(r"session\s+POST /\s+200\s+\d+ ms  (cold|warm)$", line) for line in lines
    ), out
    assert any(re.search(r"db\s+todos\.list\s+\S.*\d+ ms  cold$", line) for line in lines), out
    assert any(re.search(r"db\s+todos\.list\s+ok\s+\d+ ms  warm$", line) for line in lines), out
    assert any(
        re.search(r"db\s+todos\.get\s+InvalidRequest\s+\d+ ms  warm$", line) for line in lines
    ), out


def test_an_invocation_line_names_the_stack_unless_local_and_the_collection():
    from localcloud.fc.invocations import Invocation, collection_of

    event = {"op": "invoke"}
    assert collection_of(event, b'{"v": 2, "op": "add", "collection": "notes"}') == "notes"
    assert collection_of(event, b'{"v": 2, "op": "list"}') == "todos"
    assert collection_of(event, b'{"op": "list"}') == ""  # the 2020 protocol has none
    assert collection_of({"op": "http"}, b'{"v": 2}') == ""
    call = Invocation(
        time=0.0,
        service="s",
        function="db",
        request_id="r",
        op="add",
        outcome="ok",
        latency_ms=3.0,
        cold=False,
        collection="notes",
    )
    assert call.line(stack="staging").split()[1:3] == ["staging/db", "notes.add"]
    assert call.line(stack="local").split()[1:3] == ["db", "notes.add"]
    assert call.line().split()[1:3] == ["db", "notes.add"]


def test_the_invocation_line_of_any_event_is_well_formed():
    from localcloud.fc.invocations import op_of, outcome_of

    deep = b"[" * 40_000 + b"]" * 40_000
    assert op_of({"op": "invoke"}, deep) == "-"
    assert op_of({"op": "invoke"}, b'{"op": "list\\u0000' + b"x" * 100 + b'"}').endswith("…")
    assert outcome_of(None, b'{"error": ' + deep + b"}", None) == "ok"
    assert outcome_of(None, b'{"error": {"code": "NotFound"}}', "404 Not Found") == "404 NotFound"

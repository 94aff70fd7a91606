"""Small helpers the end-to-end tests share: the v2 session endpoints (refresh, logout), raw
InvokeFunction calls (to see the exact bytes the db function answered), and a diff of two
snapshots that names every row that appeared, vanished or changed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from localcloud.miniprogram import MiniProgram, Session

from .support import Snapshot


def refresh(app: MiniProgram, session_id: Any) -> Any:
    """`POST {sessionUrl}refresh`; the requests.Response."""
    return app.post_session({"sessionId": session_id}, path="refresh")


def logout(app: MiniProgram, session_id: Any) -> Any:
    return app.post_session({"sessionId": session_id}, path="logout")


def refreshed(app: MiniProgram, session: Session) -> Session:
    """The same session with the fresh STS credentials `refresh` answered (which must be 200)."""
    resp = refresh(app, session.session_id)
    assert resp.status_code == 200, resp.text
    return Session(session.session_id, resp.json()["sts"])


def invoke_raw(
    app: MiniProgram,
    sts: Mapping[str, str],
    payload: bytes | str,
    function: str | None = None,
    qualifier: str | None = None,
    service: str | None = None,
) -> bytes:
    """InvokeFunction through aliyun-fc2 with the client's STS credentials; the answer's bytes."""
    client = app.fc_client(sts)
    resp = client.invoke_function(
        service or app.config["serviceName"],
        function or app.config["dbFunctionName"],
        payload=payload,
        qualifier=qualifier,
    )
    return bytes(resp.data)


def invoke_event(app: MiniProgram, session: Session, event: Mapping[str, Any]) -> Any:
    return json.loads(invoke_raw(app, session.sts, json.dumps(event)))


def error_code(answer: Mapping[str, Any]) -> str | None:
    """The error code of a db answer or session function body, None for a success."""
    error = answer.get("error") if isinstance(answer, Mapping) else None
    return error.get("code") if isinstance(error, Mapping) else None


def snapshot_diff(before: Snapshot, after: Snapshot) -> dict[str, dict[str, list[Any]]]:
    """Per table, the rows only in `before` ("gone") and only in `after` ("new"); tables without
    any difference are left out, so `== {}` means nothing changed at all."""
    diff: dict[str, dict[str, list[Any]]] = {}
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, []), after.get(table, [])
        gone = [row for row in old if row not in new]
        added = [row for row in new if row not in old]
        if gone or added:
            diff[table] = {"gone": gone, "new": added}
    return diff


def rows_by_key(snapshot: Snapshot, table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {key: dict(columns) for key, columns in snapshot[table]}

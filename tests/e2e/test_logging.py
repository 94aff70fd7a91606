"""What reaches Log Service: one structured record per invocation and audit records for logins,
failed logins, refreshes and logouts, read back through the official SLS client. No record holds
a session id, auth code, token, todo text or the raw user id.

The functions write each record as a JSON line to stdout; FC ships every line to the service's
logstore as the `message` field of one log (with serviceName, functionName, qualifier), and the
template's JSON index on `message` makes `message.kind: audit` searchable."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from localcloud.logclient import log_client


def _records(
    config: dict[str, str], query: str, expected: int, since: int, request_ids: set[str]
) -> list[dict[str, Any]]:
    """This flow's structured records matching `query`: the JSON objects in `message`."""
    logs = _logs(config, query, expected, since, request_ids)
    records = []
    for log in logs:
        try:
            record = json.loads(log.get("message", ""))
        except ValueError:
            continue  # FC's own lines (Start/End), or a plain print
        if isinstance(record, dict):
            records.append(record)
    return records


def _logs(
    config: dict[str, str], query: str, expected: int, since: int, request_ids: set[str]
) -> list[dict[str, str]]:
    """This flow's matching logs as stored (FC's fields), waiting briefly for them to arrive.
    `since` is on the cloud's clock, which stamps the records: another test may have moved the
    shared cloud's clock ahead of real time."""
    client = log_client(config["slsEndpoint"], config["accessKeyId"], config["accessKeySecret"])
    deadline = time.time() + 10
    while True:
        found = []
        offset = 0
        while True:  # page through everything: other tests' records share the logstore
            resp = client.get_log(
                config["slsProject"],
                "function-logs",
                since,
                since + 600,
                query=query,
                offset=offset,
                size=100,
            )
            page = [log.get_contents() for log in resp.get_logs()]
            found += [r for r in page if r.get("requestId") in request_ids]
            if len(page) < 100:
                break
            offset += 100
        if len(found) >= expected or time.time() > deadline:
            return found
        time.sleep(0.2)


@pytest.fixture(scope="module")
def logged_flow(local_cloud: Any, config: dict[str, str]) -> dict[str, Any]:
    from localcloud.miniprogram import MiniProgram

    since = int(local_cloud.clock.now()) - 1
    app = MiniProgram(config)
    code = app.get_auth_code()
    opened = app.post_session({"authCode": code})
    replay = app.post_session({"authCode": code})
    body = opened.json()
    from localcloud.miniprogram import Session

    session = Session(body["sessionId"], body["sts"])
    added = app.fc_client(session.sts).invoke_function(
        config["serviceName"],
        config["dbFunctionName"],
        payload=json.dumps(
            {"v": 2, "sid": session.session_id, "op": "add", "text": "secret shopping list"}
        ),
    )
    refreshed = app.post_session({"sessionId": session.session_id}, path="refresh")
    logged_out = app.post_session({"sessionId": session.session_id}, path="logout")
    # Other tests share this cloud and its logstore: pick this flow's records by request id.
    request_ids = {
        resp.headers["x-fc-request-id"] for resp in (opened, replay, refreshed, logged_out)
    }
    request_ids.add(added.headers["x-fc-request-id"])
    return {
        "since": since,
        "code": code,
        "session": session,
        "todo": json.loads(added.data)["data"],
        "user": app.user_id,
        "replay_status": replay.status_code,
        "request_ids": request_ids,
        "add_request_id": added.headers["x-fc-request-id"],
    }


def test_every_invocation_leaves_one_structured_record(config, logged_flow):
    records = _records(
        config,
        "message.kind: invocation and message.function: db",
        1,
        logged_flow["since"],
        {logged_flow["add_request_id"]},
    )
    assert len(records) == 1
    record = records[0]
    assert record["op"] == "add"
    for field in ("time", "requestId", "function", "op", "outcome", "latencyMs", "userHash"):
        assert record.get(field), field
    assert record["function"] == "db" and record["outcome"] == "ok"
    assert int(record["latencyMs"]) >= 0


def test_logins_refreshes_logouts_and_failed_logins_are_audited(config, logged_flow):
    assert logged_flow["replay_status"] == 401
    records = _records(
        config, "message.kind: audit", 4, logged_flow["since"], logged_flow["request_ids"]
    )
    events = {r["event"] for r in records}
    assert {"login", "login_failed", "refresh", "logout"} <= events


def test_no_record_holds_a_secret_or_the_user_id(config, logged_flow):
    records = _logs(config, "*", 10, logged_flow["since"], logged_flow["request_ids"])
    assert len(records) >= 10  # 5 invocations, 4 audits, FC's own start/end lines
    text = json.dumps(records, ensure_ascii=False)
    session = logged_flow["session"]
    for secret in (
        session.session_id,
        logged_flow["code"],
        session.sts["AccessKeySecret"],
        session.sts["SecurityToken"],
        logged_flow["todo"]["text"],
        logged_flow["user"],
    ):
        assert secret not in text


def test_a_record_survives_its_instance_stopping_right_after_the_request(local_cloud, config):
    """Nothing waits in the function for a later flush: the record was on stdout before the
    answer, so stopping every instance at once loses nothing."""
    from localcloud.miniprogram import MiniProgram

    since = int(local_cloud.clock.now()) - 1
    app = MiniProgram(config)
    session = app.login()
    answer = app.fc_client(session.sts).invoke_function(
        config["serviceName"],
        config["dbFunctionName"],
        payload=json.dumps({"v": 2, "sid": session.session_id, "op": "list"}),
    )
    request_id = answer.headers["x-fc-request-id"]
    local_cloud.fc.recycle()
    records = _records(config, "message.kind: invocation", 1, since, {request_id})
    assert [(r["function"], r["op"], r["outcome"]) for r in records] == [("db", "list", "ok")]
    [stored] = _logs(config, f"message.requestId: {request_id}", 1, since, {request_id})
    assert (stored["functionName"], stored["serviceName"]) == (
        config["dbFunctionName"],
        config["serviceName"],
    )


def test_the_functions_never_call_log_service(local_cloud, config):
    """Zero SLS requests on the request path: a login and a db call leave the SLS emulator's
    request count where it was (FC's shipping of stdout is the emulator's own, in process)."""
    from localcloud.miniprogram import MiniProgram

    app = MiniProgram(config)
    app.login()  # a warm instance of each function first: an initializer could call too
    before = local_cloud.traffic.snapshot()
    session = app.login()
    assert "error" not in app.db(session, "list")
    served = local_cloud.traffic.by_service(local_cloud.traffic.since(before))
    assert served.get("tablestore", 0) > 0 and served.get("sts") == 1  # counted at all
    assert "sls" not in served


def test_the_templates_index_is_readable_through_the_sdk(config: dict[str, str]) -> None:
    client = log_client(config["slsEndpoint"], config["accessKeyId"], config["accessKeySecret"])
    index = client.get_index_config(config["slsProject"], "function-logs").get_index_config()
    message = index.key_config_list["message"]
    assert index.line_config is not None and message.index_type == "json"
    assert {"kind", "event", "latencyMs"} <= set(message.json_key_config.json_keys)
    assert message.json_key_config.json_keys["latencyMs"]["type"] == "long"

"""Contract tests of the local Function Compute, organised by FC 2.0's API reference.

Sections: InvokeFunction (sync, then async), the function runtime it drives, HTTP trigger
invocation, GetFunction, timer triggers; then signatures and RAM, limits, APIs outside the emulated
set, and faults. The callers are the official `fc2` SDK (an operator or a backend), `requests`
for anonymous HTTP triggers (as a browser calls them), and, where the mini program is the caller
(InvokeFunction of the db function with its session's STS credentials), the client's own signer
`client/lib/fcsign.js`, run by node. The Node SDK (`@alicloud/fc2`) has test_fc_node.py.

Error codes. FC 2.0's table (https://help.aliyun.com/zh/fc/developer-reference/error-codes) lists
these, each met by a template code path and tested here: 400 InvalidArgument, 400
PathNotSupported, 400 EntityTooLarge (6 MB sync, 128 KB async), 403 AccessDenied, 403
SignatureNotMatch, 403 InvalidAccessKeyID, 404 ServiceNotFound, 500 InternalServerError. FC's
error handling page (https://www.alibabacloud.com/help/en/functioncompute/fc/error-handling-1-1):
a function that raised answers 200 with `X-Fc-Error-Type: UnhandledInvocationError` and
`{errorMessage, errorType, stackTrace}`. Codes FC answers outside that table, tested too: 404
FunctionNotFound (in FC 3.0's table,
https://help.aliyun.com/zh/functioncompute/api-fc-2023-03-30-errorcodes), 403
InvalidSecurityToken and SecurityTokenExpired (the mini program refreshes its STS credentials on
them), 429 ResourceThrottled, 404 TriggerNotFound, 405 MethodNotAllowed. Not met by the template:
400 MissingRequiredHeader (every SDK and the client send Date), AliasNotFound and VersionNotFound
(no versions or aliases locally). FC's signature page
(https://help.aliyun.com/document_detail/53252.html) says a request whose Date is more than 15
minutes off the server's time is refused, without naming a code; the local FC does not check it:
tests move the local clock ahead of real time and phones follow the cloud's clock, so a check on
either clock would refuse one of the two.
"""

from __future__ import annotations

import base64
import email.utils
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from fc2.auth import Auth
from fc2.fc_exceptions import FcError
from fc_app.client_signer import client_signed, node_or_skip, send
from fc_app.harness import APP, Cloud, running_cloud

from localcloud.faults import Fault
from localcloud.fc import FAULT_KINDS
from localcloud.fc.timers import InvalidSchedule, Schedule
from localcloud.fc.workers import IDLE_SECONDS
from localcloud.policy import is_allowed
from localcloud.template import TimerDecl

CODE = (APP / "code").resolve()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    with running_cloud(tmp_path_factory.mktemp("fc-state")) as running:
        yield running


def error_of(call: Any) -> FcError:
    with pytest.raises(FcError) as info:
        call()
    return info.value


def body_of(error: FcError) -> dict[str, Any]:
    return json.loads(error.message)


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "1", "Statement": list(statements)}


def allow(*resources: str, action: str = "fc:InvokeFunction") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": [action], "Resource": list(resources)}


def signed_post(
    cloud: Cloud, path: str, body: bytes, extra: dict[str, str] | None = None
) -> requests.Response:
    """A raw request signed with the SDK's own signer, to see statuses the client hides."""
    headers = {
        "date": email.utils.formatdate(usegmt=True),
        "content-type": "application/json",
        **(extra or {}),
    }
    auth = Auth(cloud.account.access_key_id, cloud.account.access_key_secret)
    headers["authorization"] = auth.sign_request("POST", path, headers)
    return requests.post(cloud.url + path, data=body, headers=headers, timeout=30)


# -- InvokeFunction (sync) --------------------------------------------------------------------
def test_invoke_returns_the_functions_bytes(cloud):
    payload = bytes(range(256))
    response = cloud.client().invoke_function("fctest", "echo", payload=payload)
    assert response.data == payload
    assert response.headers["x-fc-request-id"]


def test_qualifier_is_accepted_and_shown_to_the_function(cloud):
    response = cloud.client().invoke_function("fctest", "inspect", qualifier="LATEST")
    assert json.loads(response.data)["context"]["service"]["qualifier"] == "LATEST"


def test_unhandled_error_is_200_with_fcs_error_body(cloud):
    error = error_of(lambda: cloud.client().invoke_function("fctest", "fail", payload=b"x1"))
    assert error.status_code == 200
    body = body_of(error)
    assert (body["errorMessage"], body["errorType"]) == ("boom: x1", "ValueError")
    assert any("basic.py" in line for line in body["stackTrace"])
    assert not any("runtime.py" in line for line in body["stackTrace"])


def test_timeout_kills_the_worker(cloud):
    client = cloud.client()
    old_pid = int(client.invoke_function("fctest", "sleepy", payload=b"pid").data)
    error = error_of(lambda: client.invoke_function("fctest", "sleepy", payload=b"sleep"))
    assert body_of(error)["errorMessage"] == "Function timed out after 1 seconds"
    new_pid = int(client.invoke_function("fctest", "sleepy", payload=b"pid").data)
    assert new_pid != old_pid
    with pytest.raises(ProcessLookupError):
        os.kill(old_pid, 0)


def test_tail_log_has_the_invocations_output_and_pipe_survives_fd1_writes(cloud):
    response = cloud.client().invoke_function(
        "fctest", "printer", headers={"x-fc-log-type": "Tail"}
    )
    assert response.data == b"printed"
    tail = base64.b64decode(response.headers["x-fc-log-result"]).decode()
    request_id = response.headers["x-fc-request-id"]
    assert f"FC Invoke Start RequestId: {request_id}" in tail
    assert "line from print" in tail and "line on stderr" in tail
    assert f"{request_id} [INFO] line from logging" in tail
    assert f"FC Invoke End RequestId: {request_id}" in tail


def test_unknown_service_is_service_not_found(cloud):
    error = error_of(lambda: cloud.client().invoke_function("nosuch", "echo"))
    assert (error.status_code, error.err_code) == (404, "ServiceNotFound")


def test_unknown_function_is_function_not_found(cloud):
    error = error_of(lambda: cloud.client().invoke_function("fctest", "nosuch"))
    assert (error.status_code, error.err_code) == (404, "FunctionNotFound")


def test_an_invocation_type_other_than_sync_or_async_is_invalid_argument(cloud):
    error = error_of(
        lambda: cloud.client().invoke_function(
            "fctest", "echo", payload=b"x", headers={"x-fc-invocation-type": "Later"}
        )
    )
    assert (error.status_code, error.err_code) == (400, "InvalidArgument")


def test_sync_payload_over_6_mb_is_entity_too_large(cloud):
    error = error_of(
        lambda: cloud.client().invoke_function(
            "fctest", "echo", payload=b"x" * (6 * 1024 * 1024 + 1)
        )
    )
    assert (error.status_code, error.err_code) == (400, "EntityTooLarge")


# -- InvokeFunction (async) -------------------------------------------------------------------
def test_async_invocation_answers_202_and_runs_in_background(cloud):
    response = signed_post(
        cloud,
        "/2016-08-15/services/fctest/functions/printer/invocations",
        b"",
        {"x-fc-invocation-type": "Async"},
    )
    assert response.status_code == 202
    request_id = response.headers["x-fc-request-id"]
    for _ in range(400):  # the logs prove the function ran; poll, no timing assumption
        if any(r["message"] == "line from print" for r in cloud.sink.records_for(request_id)):
            break
        threading.Event().wait(0.05)
    assert any(r["message"] == "line from print" for r in cloud.sink.records_for(request_id))


def test_async_through_the_sdk_returns_empty_data(cloud):
    response = cloud.client().invoke_function(
        "fctest", "echo", payload=b"later", headers={"x-fc-invocation-type": "Async"}
    )
    assert response.data == b"" and response.headers["x-fc-request-id"]


def test_async_payload_over_128_kb_is_entity_too_large(cloud):
    error = error_of(
        lambda: cloud.client().invoke_function(
            "fctest",
            "echo",
            payload=b"x" * (128 * 1024 + 1),
            headers={"x-fc-invocation-type": "Async"},
        )
    )
    assert (error.status_code, error.err_code) == (400, "EntityTooLarge")
    assert str(128 * 1024) in body_of(error)["ErrorMessage"]


# -- the runtime InvokeFunction drives ----------------------------------------------------------
def test_dict_result_is_json_and_context_is_fcs(cloud):
    response = cloud.client().invoke_function("fctest", "inspect", payload=b"{}")
    data = json.loads(response.data)
    context = data["context"]
    assert context["request_id"] == response.headers["x-fc-request-id"]
    assert (context["region"], context["account_id"]) == (
        cloud.account.region,
        cloud.account.account_id,
    )
    assert context["function"] == {
        "name": "inspect",
        "handler": "basic.inspect",
        "memory": 256,
        "timeout": 10,
        "initializer": "",
    }
    assert context["service"] == {
        "name": "fctest",
        "log_project": "fc-test-logs",
        "log_store": "fc-logs",
        "qualifier": "LATEST",
    }


def test_function_environment_has_template_local_and_fc_variables(cloud):
    env = json.loads(cloud.client().invoke_function("fctest", "inspect").data)["env"]
    assert env["GREETING"] == "hello" and env["TABLE_NAME"] == "items"
    assert env["EXTRA"] == "from-the-local-cloud"
    assert env["OTS_ENDPOINT"] == "http://127.0.0.1:9"  # the local endpoint wins
    assert env["FC_FUNCTION_NAME"] == "inspect" and env["FC_SERVICE_NAME"] == "fctest"
    assert env["FC_REGION"] == cloud.account.region
    assert env["FC_ACCOUNT_ID"] == cloud.account.account_id
    assert env["FC_FUNCTION_HANDLER"] == "basic.inspect"
    assert env["FC_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["FC_FUNC_CODE_PATH"] == str(CODE)


def test_worker_runs_in_its_code_folder(cloud):
    data = json.loads(cloud.client().invoke_function("fctest", "inspect").data)
    assert data["cwd"] == str(CODE)
    assert data["sys_path0"] in ("", str(CODE))


def test_role_credentials_are_sts_credentials_for_the_service_role(cloud):
    data = json.loads(cloud.client().invoke_function("fctest", "inspect").data)
    creds = data["context"]["credentials"]
    principal = cloud.book.resolve(creds["access_key_id"], creds["security_token"])
    assert principal.role_arn == cloud.template.service("fctest").role_arn
    assert principal.access_key_secret == creds["access_key_secret"]
    env = data["env"]
    assert env["ALIBABA_CLOUD_ACCESS_KEY_ID"].startswith("STS.")
    assert (
        cloud.book.resolve(
            env["ALIBABA_CLOUD_ACCESS_KEY_ID"], env["ALIBABA_CLOUD_SECURITY_TOKEN"]
        ).role_arn
        == principal.role_arn
    )


def test_service_without_role_gets_empty_credentials(cloud):
    data = json.loads(cloud.client().invoke_function("norole", "inspect").data)
    assert data["context"]["credentials"] == {
        "access_key_id": "",
        "access_key_secret": "",
        "security_token": "",
    }
    assert data["context"]["service"]["log_project"] == ""


def test_cold_start_runs_initializer_once_then_warm_reuse(cloud):
    client = cloud.client()
    first = client.invoke_function("fctest", "initialized")
    second = client.invoke_function("fctest", "initialized")
    a, b = json.loads(first.data), json.loads(second.data)
    assert a["pid"] == b["pid"]
    assert a["init_calls"] == b["init_calls"] == 1
    assert a["init_request"] == first.headers["x-fc-request-id"]


def test_initializer_failure_is_reported_and_retried_on_next_call(cloud):
    for _ in range(2):
        body = body_of(error_of(lambda: cloud.client().invoke_function("fctest", "badinit")))
        assert (body["errorMessage"], body["errorType"]) == ("cannot initialize", "RuntimeError")


def test_idle_instance_is_reaped_and_next_call_is_cold(cloud):
    client = cloud.client()
    before = client.invoke_function("fctest", "sleepy", payload=b"pid").data
    assert client.invoke_function("fctest", "sleepy", payload=b"pid").data == before
    cloud.clock.advance(IDLE_SECONDS + 1)
    assert client.invoke_function("fctest", "sleepy", payload=b"pid").data != before


def _barrier_calls(cloud, function: str, folder: Path) -> list[dict[str, Any]]:
    event = json.dumps({"dir": str(folder), "n": 2}).encode()
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(cloud.client().invoke_function, "fctest", function, event) for _ in range(2)
        ]
        return [json.loads(f.result().data) for f in futures]


def test_parallel_calls_start_a_second_instance(cloud, tmp_path):
    results = _barrier_calls(cloud, "solo", tmp_path)
    assert [r["saw"] for r in results] == [2, 2]  # both ran at the same time
    assert results[0]["pid"] != results[1]["pid"]


def test_instance_concurrency_lets_one_instance_take_both(cloud, tmp_path):
    warm, together = tmp_path / "warm", tmp_path / "together"
    warm.mkdir()
    together.mkdir()
    cloud.client().invoke_function("fctest", "shared", json.dumps({"dir": str(warm), "n": 1}))
    results = _barrier_calls(cloud, "shared", together)
    assert [r["saw"] for r in results] == [2, 2]
    assert results[0]["pid"] == results[1]["pid"]


def test_logs_are_shipped_to_the_services_logstore(cloud):
    response = cloud.client().invoke_function("fctest", "printer")
    request_id = response.headers["x-fc-request-id"]
    records = cloud.sink.records_for(request_id)
    assert {
        "message": "line from print",
        "serviceName": "fctest",
        "functionName": "printer",
        "qualifier": "LATEST",
        "requestId": request_id,
    } in records
    (write,) = [w for w in cloud.sink.writes if any(r["requestId"] == request_id for r in w[2])]
    assert write[:2] == ("fc-test-logs", "fc-logs")


def test_service_without_log_config_ships_nothing(cloud):
    response = cloud.client().invoke_function("norole", "inspect")
    assert cloud.sink.records_for(response.headers["x-fc-request-id"]) == []


# -- HTTP trigger invocation ------------------------------------------------------------------
def test_anonymous_trigger_gets_wsgi_environ(cloud):
    url = cloud.emulator.http_trigger_url("fctest", "web")
    response = requests.get(url + "a%20b/c?x=1&y=two", headers={"X-Custom": "c1"}, timeout=30)
    assert response.status_code == 200
    data = response.json()
    assert data["method"] == "GET" and data["path"] == "/a b/c"
    assert data["query"] == "x=1&y=two" and data["custom_header"] == "c1"
    assert data["remote_addr"] == "127.0.0.1" and data["function"] == "web"
    assert data["request_uri"] == "/2016-08-15/proxy/fctest/web/a%20b/c?x=1&y=two"
    assert data["request_id"] == response.headers["x-fc-request-id"]


def test_trigger_relays_status_headers_and_body(cloud):
    url = cloud.emulator.http_trigger_url("fctest", "web")
    response = requests.post(
        url, data=b'{"k": 1}', headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 201
    assert response.headers["X-Answer"] == "yes"
    assert response.cookies.get("a") == "1" and response.cookies.get("b") == "2"
    data = response.json()
    assert (data["body"], data["content_type"], data["content_length"]) == (
        '{"k": 1}',
        "application/json",
        "8",
    )
    assert data["path"] == "/"


def test_trigger_accepts_a_qualified_service(cloud):
    response = requests.get(f"{cloud.url}/2016-08-15/proxy/fctest.LATEST/web/q", timeout=30)
    assert response.status_code == 200 and response.json()["path"] == "/q"


def test_trigger_path_without_trailing_slash_reaches_the_function(cloud):
    response = requests.get(f"{cloud.url}/2016-08-15/proxy/fctest/web", timeout=30)
    assert response.status_code == 200 and response.json()["path"] == "/"


def test_trigger_refuses_methods_it_does_not_declare(cloud):
    response = requests.put(cloud.emulator.http_trigger_url("fctest", "web"), timeout=30)
    assert response.status_code == 405
    assert response.json()["ErrorCode"] == "MethodNotAllowed"
    assert response.headers["x-fc-request-id"]


def test_function_auth_trigger_refuses_unsigned_requests(cloud):
    response = requests.post(cloud.emulator.http_trigger_url("fctest", "secureweb"), timeout=30)
    assert response.status_code == 403
    assert set(response.json()) == {"ErrorCode", "ErrorMessage"}


def test_function_auth_trigger_accepts_sdk_signed_requests(cloud):
    response = cloud.client().do_http_request(
        "POST", "fctest", "secureweb", "/p/q", params={"a": "1 2", "b": "x"}, body=b"signed"
    )
    assert response.status_code == 201
    data = response.json()
    assert (data["path"], data["body"]) == ("/p/q", "signed")


def test_function_auth_trigger_checks_signature_and_policy(cloud):
    wrong = cloud.client(secret="nope").do_http_request("POST", "fctest", "secureweb", "/")
    assert (wrong.status_code, wrong.json()["ErrorCode"]) == (403, "SignatureNotMatch")
    denied = cloud.sts_client(policy(allow(cloud.resource("echo"))))
    response = denied.do_http_request("POST", "fctest", "secureweb", "/")
    assert (response.status_code, response.json()["ErrorCode"]) == (403, "AccessDenied")
    allowed = cloud.sts_client(policy(allow(cloud.resource("secureweb"))))
    assert allowed.do_http_request("POST", "fctest", "secureweb", "/").status_code == 201


def test_trigger_function_error_is_502_with_error_body(cloud):
    response = requests.get(cloud.emulator.http_trigger_url("fctest", "webfail"), timeout=30)
    assert response.status_code == 502
    assert response.headers["x-fc-error-type"] == "UnhandledInvocationError"
    assert response.json()["errorType"] == "KeyError"


def test_function_without_http_trigger_is_trigger_not_found(cloud):
    response = requests.get(cloud.emulator.http_trigger_url("fctest", "echo"), timeout=30)
    assert (response.status_code, response.json()["ErrorCode"]) == (404, "TriggerNotFound")


# -- GetFunction ------------------------------------------------------------------------------
def test_get_function_answers_the_functions_configuration(cloud):
    data = cloud.client().get_function("fctest", "inspect").data
    assert (data["functionName"], data["handler"], data["runtime"]) == (
        "inspect",
        "basic.inspect",
        "python3.10",
    )
    assert (data["memorySize"], data["timeout"]) == (256, 10)
    assert data["environmentVariables"]["TABLE_NAME"] == "items"


def test_get_function_needs_fc_get_function(cloud):
    invoker = cloud.sts_client(policy(allow(cloud.resource("inspect"))))
    error = error_of(lambda: invoker.get_function("fctest", "inspect"))
    assert (error.status_code, error.err_code) == (403, "AccessDenied")
    assert "fc:GetFunction" in body_of(error)["ErrorMessage"]
    reader = cloud.sts_client(policy(allow(cloud.resource("inspect"), action="fc:GetFunction")))
    assert reader.get_function("fctest", "inspect").data["functionName"] == "inspect"


# -- timer triggers ---------------------------------------------------------------------------
# Each test deploys its own timers on a cloud of its own: moving the module cloud's clock a day
# would retire every warm instance the other tests rely on.
@pytest.fixture
def fresh(tmp_path) -> Iterator[Cloud]:
    with running_cloud(tmp_path) as running:
        yield running


def with_timers(cloud: Cloud, *timers: TimerDecl) -> None:
    """Deploy the test stack with `timers` on the echo function (which answers its event)."""
    services = []
    for service in cloud.template.services:
        functions = tuple(
            replace(f, timers=timers) if f.name == "echo" else f for f in service.functions
        )
        services.append(replace(service, functions=functions))
    cloud.emulator.deploy(replace(cloud.template, services=tuple(services)))


def fires(cloud: Cloud, trigger: str) -> list[dict[str, str]]:
    return [json.loads(f.body) for f in cloud.emulator.timers.fired if f.trigger == trigger]


def test_timer_trigger_can_be_fired_with_fcs_timer_event(cloud):
    outcome = cloud.emulator.fire_timer("fctest", "echo", "nightly")
    event = json.loads(outcome.body)
    assert (event["triggerName"], event["payload"]) == ("nightly", "nightly-run")
    assert event["triggerTime"].endswith("Z")


def test_every_timer_fires_each_time_its_interval_passes(fresh):
    with_timers(fresh, TimerDecl("tick", "@every 5m", True, "tick-payload"))
    fresh.clock.advance(4 * 60)
    assert fires(fresh, "tick") == []
    fresh.clock.advance(60)
    fresh.clock.advance(5 * 60)
    events = fires(fresh, "tick")
    assert [(e["triggerName"], e["payload"]) for e in events] == [("tick", "tick-payload")] * 2


def test_timer_event_names_the_scheduled_time_in_utc(fresh):
    before = fresh.clock.now()
    with_timers(fresh, TimerDecl("tick", "@every 1h", True, ""))  # armed between the two reads
    after = fresh.clock.now()
    fresh.clock.advance(3600)
    event = fires(fresh, "tick")[0]
    fired_at = (
        datetime.strptime(event["triggerTime"], "%Y-%m-%dT%H:%M:%SZ")
        .replace(tzinfo=timezone.utc)
        .timestamp()
    )
    assert int(before) + 3600 <= fired_at <= after + 3600  # the schedule's time, not the run's
    assert set(event) == {"triggerTime", "triggerName", "payload"}


def test_cron_timer_fires_at_its_second_minute_hour(fresh):
    with_timers(fresh, TimerDecl("daily", "0 30 2 * * *", True, "nightly"))
    fresh.clock.advance(24 * 3600)
    (event,) = fires(fresh, "daily")
    assert event["triggerTime"].endswith("T02:30:00Z")


def test_skipped_fire_times_collapse_into_one_firing(fresh):
    with_timers(fresh, TimerDecl("tick", "@every 1m", True, ""))
    fresh.clock.advance(3600)
    assert len(fires(fresh, "tick")) == 1
    fresh.clock.advance(60)
    assert len(fires(fresh, "tick")) == 2


def test_disabled_timer_never_fires(fresh):
    with_timers(fresh, TimerDecl("off", "@every 1m", False, ""))
    fresh.clock.advance(3600)
    assert fires(fresh, "off") == []


def test_a_deploy_without_the_timer_stops_it(fresh):
    with_timers(fresh, TimerDecl("tick", "@every 1m", True, ""))
    with_timers(fresh)
    fresh.clock.advance(3600)
    assert fires(fresh, "tick") == []


@pytest.mark.parametrize(
    "expression",
    [
        "@every 30s",
        "@every",
        "every 5m",
        "0 0 4 * *",
        "61 0 4 * * *",
        "CRON_TZ=Nowhere/Else 0 0 4 * * *",
    ],
)
def test_expressions_fc_refuses_are_refused(expression):
    with pytest.raises(InvalidSchedule):
        Schedule(expression)


def test_a_wrong_expression_deploys_nothing(fresh):
    with_timers(fresh, TimerDecl("tick", "@every 1m", True, ""))
    with pytest.raises(InvalidSchedule):
        with_timers(fresh, TimerDecl("bad", "not cron", True, ""))
    fresh.clock.advance(60)
    assert len(fires(fresh, "tick")) == 1


def test_cron_tz_reads_the_fields_in_that_zone():
    schedule = Schedule("CRON_TZ=Asia/Shanghai 0 0 8 * * *")
    start = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()
    fired = datetime.fromtimestamp(schedule.next_after(start), timezone.utc)
    assert (fired.hour, fired.minute) == (0, 0)  # 08:00 in Shanghai is midnight UTC


def test_a_firing_is_an_invocation_named_after_its_trigger(fresh):
    with_timers(fresh, TimerDecl("tick", "@every 1m", True, ""))
    fresh.clock.advance(60)
    assert fresh.emulator.invocations.last("echo").op == "timer tick"


# -- the mini program as the caller (client/lib/fcsign.js) --------------------------------------
# The client invokes with its session's STS credentials, issued for the client role (here
# TestClientRole, whose template policy allows `echo`) with an inline policy, as the session
# function issues them.
@pytest.fixture(scope="module")
def node() -> str:
    return node_or_skip()


def client_credentials(
    cloud: Cloud, seconds: int = 3600, role: str = "TestClientRole"
) -> dict[str, str]:
    issued = cloud.issue(policy(allow("*")), role=role, duration=seconds)
    return {
        "AccessKeyId": issued.principal.access_key_id,
        "AccessKeySecret": issued.principal.access_key_secret,
        "SecurityToken": issued.security_token,
    }


def client_invoke(
    cloud: Cloud, node: str, credentials: dict[str, str], function: str = "echo", body: str = "{}"
) -> requests.Response:
    signed = client_signed(
        node,
        endpoint=cloud.url,
        account_id=cloud.account.account_id,
        service="fctest",
        function=function,
        credentials=credentials,
        body=body,
        date_ms=time.time() * 1000,
    )
    return send(signed)


def test_a_request_the_client_signs_runs_the_function(cloud, node):
    body = '{"v":2,"op":"add","text":"买牛奶 🥛"}'
    response = client_invoke(cloud, node, client_credentials(cloud), body=body)
    assert response.status_code == 200
    assert response.content == body.encode("utf-8") and response.headers["x-fc-request-id"]


def test_client_request_with_a_wrong_secret_is_signature_not_match(cloud, node):
    credentials = client_credentials(cloud)
    credentials["AccessKeySecret"] += "x"
    response = client_invoke(cloud, node, credentials)
    assert (response.status_code, response.json()["ErrorCode"]) == (403, "SignatureNotMatch")
    assert response.json()["ErrorMessage"].startswith("The request signature we calculated")


def test_client_request_with_an_expired_token_is_security_token_expired(cloud, node):
    credentials = client_credentials(cloud, seconds=900)
    assert client_invoke(cloud, node, credentials).status_code == 200
    cloud.clock.advance(901)
    response = client_invoke(cloud, node, credentials)
    assert (response.status_code, response.json()["ErrorCode"]) == (403, "SecurityTokenExpired")


def test_client_request_with_a_wrong_token_is_invalid_security_token(cloud, node):
    credentials = {**client_credentials(cloud), "SecurityToken": "CAISwrong"}
    response = client_invoke(cloud, node, credentials)
    assert (response.status_code, response.json()["ErrorCode"]) == (403, "InvalidSecurityToken")


def test_client_request_for_a_function_its_role_may_not_invoke_is_access_denied(cloud, node):
    response = client_invoke(cloud, node, client_credentials(cloud), function="inspect")
    assert (response.status_code, response.json()["ErrorCode"]) == (403, "AccessDenied")
    assert cloud.resource("inspect") in response.json()["ErrorMessage"]


def test_an_unhandled_error_reaches_the_client_as_200_with_x_fc_error_type(cloud, node):
    credentials = client_credentials(cloud, role="someexternalrole")  # no template policy
    response = client_invoke(cloud, node, credentials, function="fail", body="c")
    assert response.status_code == 200
    assert response.headers["x-fc-error-type"] == "UnhandledInvocationError"
    assert response.json()["errorMessage"] == "boom: c"


# -- signatures and RAM (the fc2 SDK) -----------------------------------------------------------
def test_wrong_secret_is_signature_not_match(cloud):
    error = error_of(
        lambda: cloud.client(secret="not-the-secret").invoke_function("fctest", "echo")
    )
    assert (error.status_code, error.err_code) == (403, "SignatureNotMatch")
    assert body_of(error)["RequestId"]


def test_unknown_key_is_invalid_access_key(cloud):
    error = error_of(lambda: cloud.client("LTAInobody", "x").invoke_function("fctest", "echo"))
    assert (error.status_code, error.err_code) == (403, "InvalidAccessKeyID")


def test_inline_policy_allows_only_its_function(cloud):
    client = cloud.sts_client(policy(allow(cloud.resource("echo"))))
    assert client.invoke_function("fctest", "echo", payload=b"yes").data == b"yes"
    error = error_of(lambda: client.invoke_function("fctest", "inspect"))
    assert (error.status_code, error.err_code) == (403, "AccessDenied")


def test_qualified_call_needs_the_qualified_resource(cloud):
    unqualified_only = cloud.sts_client(policy(allow(cloud.resource("echo"))))
    error = error_of(lambda: unqualified_only.invoke_function("fctest", "echo", qualifier="LATEST"))
    assert error.err_code == "AccessDenied"
    qualified = cloud.resource("echo").replace("services/fctest/", "services/fctest.*/")
    qualified_only = cloud.sts_client(policy(allow(qualified)))
    assert qualified_only.invoke_function("fctest", "echo", b"q", qualifier="LATEST").data == b"q"
    assert (
        error_of(lambda: qualified_only.invoke_function("fctest", "echo")).err_code
        == "AccessDenied"
    )


def test_deny_wins_over_allow(cloud):
    client = cloud.sts_client(
        policy(
            {"Effect": "Allow", "Action": "fc:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "fc:invokefunction", "Resource": cloud.resource("echo")},
        )
    )
    assert error_of(lambda: client.invoke_function("fctest", "echo")).err_code == "AccessDenied"
    assert client.invoke_function("fctest", "inspect").headers["x-fc-request-id"]


def test_template_role_policies_intersect_with_the_inline_policy(cloud):
    client = cloud.sts_client(policy(allow("*")), role="TestClientRole")
    assert client.invoke_function("fctest", "echo", payload=b"r").data == b"r"
    assert error_of(lambda: client.invoke_function("fctest", "inspect")).err_code == "AccessDenied"


def test_role_unknown_to_the_template_is_limited_by_the_inline_policy_only(cloud):
    client = cloud.sts_client(None, role="someexternalrole")
    assert client.invoke_function("fctest", "echo", payload=b"e").data == b"e"


def test_policy_wildcards_and_case_rules():
    doc = policy(
        {
            "Effect": "Allow",
            "Action": "fc:Invoke*",
            "Resource": "acs:fc:*:*:services/s?c/functions/*",
        }
    )
    assert is_allowed(doc, "FC:INVOKEFUNCTION", "acs:fc:r:1:services/svc/functions/f")
    assert not is_allowed(doc, "fc:InvokeFunction", "acs:fc:r:1:services/SVC/functions/f")
    assert not is_allowed(doc, "fc:GetFunction", "acs:fc:r:1:services/svc/functions/f")
    assert not is_allowed({"Version": "1", "Statement": []}, "fc:InvokeFunction", "*")
    single = {
        "Version": "1",
        "Statement": {"Effect": "Allow", "NotAction": "fc:Delete*", "Resource": "*"},
    }
    assert is_allowed(single, "fc:InvokeFunction", "x")
    assert not is_allowed(single, "fc:DeleteService", "x")


# -- APIs outside the emulated set ------------------------------------------------------------
def test_other_fc_apis_are_path_not_supported(cloud):
    error = error_of(lambda: cloud.client().list_services())
    assert (error.status_code, error.err_code) == (400, "PathNotSupported")


# -- faults -----------------------------------------------------------------------------------
@pytest.fixture
def faults(cloud):
    yield cloud.faults
    cloud.faults.clear()


def test_fault_kinds_are_documented():
    assert {"busy", "internal_error", "down", "slow", "lost_reply"} <= set(FAULT_KINDS)


def test_throttle_fault_answers_429_resource_throttled(cloud, faults):
    faults.set(Fault("fc", "throttle", api="InvokeFunction"))
    error = error_of(lambda: cloud.client().invoke_function("fctest", "echo"))
    assert (error.status_code, error.err_code) == (429, "ResourceThrottled")


def test_internal_error_fault_answers_500_json(cloud, faults):
    faults.set(Fault("fc", "internal_error"))
    error = error_of(lambda: cloud.client().invoke_function("fctest", "echo"))
    assert (error.status_code, error.err_code) == (500, "InternalServerError")
    response = requests.get(cloud.emulator.http_trigger_url("fctest", "web"), timeout=30)
    assert response.status_code == 500 and response.json()["ErrorCode"] == "InternalServerError"


def test_down_fault_drops_the_connection(cloud, faults):
    faults.set(Fault("fc", "down", api="InvokeFunction"))
    with pytest.raises(requests.exceptions.ConnectionError):
        cloud.client().invoke_function("fctest", "echo")


def test_lost_reply_fault_runs_the_function_then_drops_the_connection(cloud, faults):
    def printed() -> int:
        with cloud.sink.lock:
            return sum(
                1
                for _, _, records, _ in cloud.sink.writes
                for r in records
                if r["message"] == "line from print"
            )

    before = printed()
    faults.set(Fault("fc", "lost_reply", api="InvokeFunction"))
    with pytest.raises(requests.exceptions.ConnectionError):
        cloud.client().invoke_function("fctest", "printer")
    assert printed() == before + 1  # it ran, once


def test_fault_for_http_trigger_leaves_invoke_alone_and_may_set_the_code(cloud, faults):
    faults.set(Fault("fc", "throttle", api="HttpTrigger", code="TooManyRequests"))
    response = requests.get(cloud.emulator.http_trigger_url("fctest", "web"), timeout=30)
    assert (response.status_code, response.json()["ErrorCode"]) == (429, "TooManyRequests")
    assert cloud.client().invoke_function("fctest", "echo", payload=b"fine").data == b"fine"

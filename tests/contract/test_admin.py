"""Contract tests: the local cloud's faults are switched while it runs, with no restart, through
its admin endpoint (`/_localcloud/faults` on the FC port) and through the CLI
(`python -m localcloud fault set|clear|list --fc-port N`), and each switch is seen at once by the
official SDKs talking to the emulators. Unknown services and kinds are refused, saying what
exists. The cloud is the shared one, started in-process on ephemeral ports.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdksts.request.v20150401.GetCallerIdentityRequest import GetCallerIdentityRequest

from localcloud.faults import ALIASES
from tests.metrics import record

# What the local cloud was first asked to be able to do, per service (some by their old names).
ISSUE_KINDS = {
    "alipay": {"down", "slow", "bad_signature", "error_response"},
    "tablestore": {"server_busy", "internal_error", "timeout"},
    "sls": {"unreachable"},
    "sts": {"refuse"},
}
OAUTH = "alipay.system.oauth.token"


@pytest.fixture
def cloud(local_cloud: Any) -> Iterator[Any]:
    local_cloud.faults.clear()
    try:
        yield local_cloud
    finally:
        local_cloud.faults.clear()


def admin(
    cloud: Any, method: str, body: Any = None, query: str = "", raw: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(
        f"{cloud.url('fc')}/_localcloud/faults{query}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def cli(cloud: Any, *args: str, state_first: bool = False) -> subprocess.CompletedProcess[str]:
    """The fault CLI, finding this cloud from the cloud.json in its state folder."""
    state = ["--state-dir", str(cloud.options.state_dir)]
    argv = [*state, *args] if state_first else [*args, *state]
    return subprocess.run(
        [sys.executable, "-m", "localcloud", *argv], capture_output=True, text=True, timeout=60
    )


def injected(cloud: Any) -> int:
    return sum(cloud.faults.injected.values())


# -- the SDK clients that observe the faults ------------------------------------------------------
def ots(cloud: Any) -> Any:
    import tablestore
    from tablestore.retry import NoRetryPolicy

    config = cloud.cloud_config()
    return tablestore.OTSClient(
        config["otsEndpoint"],
        config["accessKeyId"],
        config["accessKeySecret"],
        config["otsInstance"],
        retry_policy=NoRetryPolicy(),
        logger_name="contract-admin",
    )


def ots_get(cloud: Any) -> Any:
    """GetRow of a key that does not exist in the session table: None when Tablestore is well."""
    _, row, _ = ots(cloud).get_row("session", [("id", uuid.uuid4().hex)], max_version=1)
    return row


def ots_range(cloud: Any) -> list[Any]:
    from tablestore import Direction

    key = uuid.uuid4().hex
    _, _, rows, _ = ots(cloud).get_range(
        "session", Direction.FORWARD, [("id", key)], [("id", key + "0")], limit=1
    )
    return rows


def ots_error(cloud: Any) -> tuple[int, str]:
    from tablestore.error import OTSServiceError

    with pytest.raises(OTSServiceError) as info:
        ots_get(cloud)
    return info.value.get_http_status(), info.value.get_error_code()


def sts_identity(cloud: Any) -> dict[str, Any]:
    config = cloud.cloud_config()
    client = AcsClient(
        config["accessKeyId"], config["accessKeySecret"], config["region"], auto_retry=False
    )
    request = GetCallerIdentityRequest()
    request.set_endpoint(urlsplit(config["stsEndpoint"]).netloc)
    request.set_protocol_type("http")
    request.set_accept_format("JSON")
    return json.loads(client.do_action_with_exception(request))


def sts_error(cloud: Any) -> tuple[str, int]:
    with pytest.raises(ServerException) as info:
        sts_identity(cloud)
    return info.value.get_error_code(), info.value.get_http_status()


def alipay_exchange(cloud: Any) -> dict[str, Any]:
    """alipay.system.oauth.token with a fresh sandbox code, through python-alipay-sdk."""
    from alipay import AliPay
    from alipay.utils import AliPayConfig

    config = cloud.cloud_config()
    keys = cloud.alipay.keys
    request = urllib.request.Request(
        config["alipaySandbox"] + "/auth_code",
        data=json.dumps({"user_id": "2088000000000001"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        code = json.loads(resp.read())["authCode"]
    client = AliPay(
        config["alipayAppId"],
        None,
        app_private_key_string=open(keys.app_private_key_file).read(),
        alipay_public_key_string=open(keys.alipay_public_key_file).read(),
        sign_type="RSA2",
        config=AliPayConfig(timeout=5),
    )
    client._gateway = config["alipayGateway"]  # the SDK has no parameter for it
    return client.server_api(OAUTH, grant_type="authorization_code", code=code)


# -- what is offered -------------------------------------------------------------------------------
def test_every_kind_the_issue_names_is_offered_and_described(cloud):
    status, state = admin(cloud, "GET")
    assert status == 200 and state["faults"] == []
    kinds = state["kinds"]
    assert set(kinds) == {"fc", "tablestore", "sls", "sts", "alipay", "kms"}
    for service, wanted in ISSUE_KINDS.items():
        assert {ALIASES.get(kind, kind) for kind in wanted} <= set(kinds[service]), service
    assert all(
        isinstance(text, str) and text for table in kinds.values() for text in table.values()
    )


def test_every_offered_kind_can_be_switched_on_and_off_while_the_cloud_runs(cloud):
    _, state = admin(cloud, "GET")
    for service, kinds in state["kinds"].items():
        for kind in kinds:
            status, after = admin(cloud, "POST", {"service": service, "kind": kind, "api": "X"})
            assert status == 200, after
            assert {
                "service": service,
                "kind": kind,
                "api": "X",
                "share": 1.0,
                "seconds": 0.0,
                "code": None,
            } in after["faults"]
        status, after = admin(cloud, "DELETE", query=f"?service={service}")
        assert status == 200 and after["faults"] == []


# -- the admin endpoint ----------------------------------------------------------------------------
def test_the_admin_endpoint_switches_a_tablestore_fault_on_one_api(cloud):
    assert ots_get(cloud) is None
    start = injected(cloud)
    status, state = admin(
        cloud, "POST", {"service": "tablestore", "kind": "server_busy", "api": "GetRow"}
    )
    assert status == 200
    assert ots_error(cloud) == (503, "OTSServerBusy")
    assert ots_range(cloud) == []  # another API of the same service is untouched
    _, state = admin(cloud, "GET")
    assert state["faults"] == [
        {
            "service": "tablestore",
            "kind": "busy",
            "api": "GetRow",
            "share": 1.0,
            "seconds": 0.0,
            "code": None,
        }
    ]
    assert injected(cloud) - start == 1
    status, state = admin(cloud, "DELETE", query="?service=tablestore")
    assert status == 200 and state["faults"] == []
    assert ots_get(cloud) is None
    record("faults_injected", 1)


def test_the_admin_endpoint_switches_sts_faults_per_api(cloud):
    assert sts_identity(cloud)["AccountId"] == cloud.account.account_id
    admin(cloud, "POST", {"service": "sts", "kind": "refuse", "api": "GetCallerIdentity"})
    assert sts_error(cloud) == ("NoPermission", 403)
    # Refusing AssumeRole only (what the session function needs) leaves GetCallerIdentity alone.
    admin(cloud, "DELETE", query="?service=sts")
    admin(cloud, "POST", {"service": "sts", "kind": "refuse", "api": "AssumeRole"})
    assert sts_identity(cloud)["AccountId"] == cloud.account.account_id
    admin(cloud, "POST", {"service": "sts", "kind": "internal_error"})  # every other API
    assert sts_error(cloud) == ("InternalError", 500)
    admin(cloud, "DELETE")
    assert sts_identity(cloud)["AccountId"] == cloud.account.account_id
    record("faults_injected", 2)


# -- the CLI ---------------------------------------------------------------------------------------
def test_the_cli_switches_faults_of_the_running_cloud(cloud):
    from alipay.exceptions import AliPayException

    start = dict(cloud.faults.injected)
    done = cli(cloud, "fault", "set", "tablestore", "server_busy", "--api", "GetRow")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "fault set: tablestore server_busy --api GetRow\n"
    assert ots_error(cloud) == (503, "OTSServerBusy")

    # The state folder may also come first; --code reaches the wire.
    done = cli(
        cloud,
        "fault",
        "set",
        "alipay",
        "error_response",
        "--api",
        OAUTH,
        "--code",
        "isp.unknow-error",
        state_first=True,
    )
    assert done.returncode == 0, done.stderr
    with pytest.raises(AliPayException) as info:
        alipay_exchange(cloud)
    assert "isp.unknow-error" in str(info.value)

    done = cli(cloud, "fault", "set", "sls", "unreachable", "--share", "0.5")
    assert done.returncode == 0, done.stderr
    listed = cli(cloud, "fault", "list").stdout.splitlines()
    # The board keeps each fault under the vocabulary's name for the old one it was set with.
    assert set(listed[:3]) == {
        "fault on: tablestore busy --api GetRow",
        f"fault on: alipay internal_error --api {OAUTH} --code isp.unknow-error",
        "fault on: sls down --share 0.5",
    }
    assert listed[3].startswith("injected since start: ") and "tablestore:busy" in listed[3]

    done = cli(cloud, "fault", "clear", "tablestore")
    assert done.stdout == "fault cleared: tablestore busy --api GetRow\n"
    assert ots_get(cloud) is None
    with pytest.raises(AliPayException):  # clearing one service leaves the others' faults on
        alipay_exchange(cloud)
    assert cli(cloud, "fault", "clear").stdout.count("fault cleared: ") == 2
    assert cli(cloud, "fault", "list").stdout.startswith("no fault is set\n")
    assert alipay_exchange(cloud)["user_id"] == "2088000000000001"
    now = cloud.faults.injected
    hits = {
        key: now[key] - start.get(key, 0) for key in ("tablestore:busy", "alipay:internal_error")
    }
    assert hits == {"tablestore:busy": 1, "alipay:internal_error": 2}
    record("faults_injected", sum(hits.values()))


# -- refusals --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body, says",
    [
        (
            {"service": "mq", "kind": "down"},
            "unknown service 'mq'; one of fc, tablestore, sls, sts, kms, alipay",
        ),
        ({"service": "sts", "kind": "explode"}, "sts has no fault kind 'explode'; one of "),
        ({"service": "sts", "kind": "refuse", "share": 0}, "share must be in (0, 1]"),
        ({"service": "sts", "kind": "refuse", "share": 1.5}, "share must be in (0, 1]"),
        ({"service": "sts", "kind": "slow", "seconds": -1}, "seconds must not be negative"),
        ({"service": "sts", "kind": "refuse", "when": "now"}, "unknown fault fields: when"),
        ({"kind": "refuse"}, "missing fault fields: service"),
        (
            {"service": "sts", "kind": "refuse", "share": "half"},
            "fault field share must be a number",
        ),
        ({"service": "sts", "kind": ["refuse"]}, "fault field kind must be a string"),
        (["sts", "refuse"], "body must be a JSON object"),
    ],
)
def test_the_admin_endpoint_refuses_what_does_not_exist(cloud, body, says):
    status, answer = admin(cloud, "POST", body)
    assert status == 400
    assert says in answer["error"]
    assert admin(cloud, "GET")[1]["faults"] == []


def test_the_admin_endpoint_refuses_a_body_that_is_not_json_and_an_unknown_service_to_clear(cloud):
    status, answer = admin(cloud, "POST", raw=b"sts refuse")
    assert status == 400 and "not JSON" in answer["error"]
    admin(cloud, "POST", {"service": "sts", "kind": "refuse"})
    status, answer = admin(cloud, "DELETE", query="?service=stss")
    assert status == 400 and "unknown service 'stss'" in answer["error"]
    assert len(admin(cloud, "GET")[1]["faults"]) == 1  # nothing was cleared by the typo


def test_the_cli_refuses_what_does_not_exist_and_says_why(cloud):
    done = cli(cloud, "fault", "set", "mq", "down")
    assert done.returncode == 2 and "invalid choice: 'mq'" in done.stderr
    done = cli(cloud, "fault", "set", "tablestore", "explode")
    assert done.returncode == 1
    assert "tablestore has no fault kind 'explode'" in done.stderr and "server_busy" in done.stderr
    done = cli(cloud, "fault", "clear", "mq")
    assert done.returncode == 2 and "invalid choice: 'mq'" in done.stderr
    done = cli(cloud, "fault", "set", "tablestore")
    assert done.returncode == 2 and "required: KIND" in done.stderr
    assert cloud.faults.active() == []


def test_the_cli_says_when_no_cloud_has_run(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "localcloud", "--state-dir", str(tmp_path), "fault", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "no local cloud has run" in done.stderr
    assert "Traceback" not in done.stderr


def post_admin(cloud: Any, route: str, raw: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{cloud.url('fc')}/_localcloud/{route}",
        data=raw,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize(
    "advance",
    [b"NaN", b"Infinity", b"-Infinity", b"-1", b"1e400", b"400000000", b"true", b'"60"', b"null"],
)
def test_the_clock_refuses_an_advance_that_is_not_a_finite_forward_step(cloud, advance):
    before = cloud.clock.now()
    status, answer = post_admin(cloud, "clock", b'{"advance": ' + advance + b"}")
    assert status == 400 and "advance" in answer["error"]
    assert cloud.clock.now() - before < 60  # not moved (only real time passed)


@pytest.mark.parametrize("body", [b"{}", b'{"advance": 1, "rewind": 1}', b"[1]", b"[" * 100_000])
def test_the_clock_refuses_a_body_of_another_shape(cloud, body):
    status, answer = post_admin(cloud, "clock", body)
    assert status == 400 and answer["error"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("share", b"NaN"),
        ("share", b"Infinity"),
        ("share", b"-Infinity"),
        ("seconds", b"NaN"),
        ("seconds", b"Infinity"),
        ("seconds", b"1e400"),
        ("seconds", b"86400"),
        ("seconds", b"false"),
    ],
)
def test_a_fault_number_that_is_not_finite_and_in_range_is_refused(cloud, field, value):
    raw = b'{"service": "sts", "kind": "slow", "' + field.encode() + b'": ' + value + b"}"
    status, answer = admin(cloud, "POST", raw=raw)
    assert status == 400 and f"fault field {field}" in answer["error"]
    assert cloud.faults.active() == []


@pytest.mark.parametrize("field, value", [("api", "x" * 300), ("code", "bad\ncode"), ("api", 7)])
def test_a_fault_text_that_is_not_short_printable_text_is_refused(cloud, field, value):
    status, answer = admin(cloud, "POST", {"service": "sts", "kind": "refuse", field: value})
    assert status == 400 and f"fault field {field}" in answer["error"]
    assert cloud.faults.active() == []


@pytest.mark.parametrize(
    "body, says",
    [
        ({"mode": "everyone"}, "mode must be one of"),
        ({"mode": ["open_id"]}, "mode must be one of"),
        ({"mode": "open_id", "appId": 9}, "appId"),
        ({"mode": "open_id", "also": 1}, "unknown fields: also"),
    ],
)
def test_the_identity_switch_refuses_an_unknown_mode_or_field(cloud, body, says):
    before = [app.to_dict() for app in cloud.alipay.apps.all()]
    status, answer = post_admin(cloud, "alipay/identity", json.dumps(body).encode())
    assert status == 400 and says in answer["error"]
    assert [app.to_dict() for app in cloud.alipay.apps.all()] == before

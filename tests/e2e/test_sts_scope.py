"""The STS credentials a session hands out can invoke the db function and nothing else: not the
session function, not a made-up function or service, not Tablestore or Log Service directly; and
not at all once they expire. Their inline policy and RoleSessionName are checked in the cloud's
credential book.

Expiry needs the cloud's clock moved past the credentials' 900 s, which would also expire every
other test's credentials, so that test runs in a cloud of its own."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fc2.fc_exceptions import FcError

from localcloud.logclient import log_client
from localcloud.miniprogram import MiniProgram, Session

from ..conftest import warm_up
from .calls import invoke_raw, refreshed

STS_DURATION_SECONDS = 900


@pytest.fixture(scope="module")
def client(config) -> tuple[MiniProgram, Session]:
    app = MiniProgram(config)
    return app, app.login()


def refused(app: MiniProgram, session: Session, **where: Any) -> FcError:
    with pytest.raises(FcError) as info:
        invoke_raw(app, session.sts, json.dumps({"sid": session.session_id, "op": "list"}), **where)
    return info.value


@pytest.mark.parametrize("qualifier", [None, "LATEST"])
def test_they_cannot_invoke_the_session_function(client, qualifier):
    app, session = client
    error = refused(
        app,
        session,
        service=app.config["sessionServiceName"],
        function=app.config["sessionFunctionName"],
        qualifier=qualifier,
    )
    assert (error.status_code, error.err_code) == (403, "AccessDenied")


@pytest.mark.parametrize(
    "where",
    [
        {"function": "admin"},
        {"function": "db2"},
        {"function": "db", "service": "other-service"},
        {"function": "db", "service": "miniapp-todo-admin"},
        {"function": "session", "service": "other-service", "qualifier": "LATEST"},
    ],
    ids=[
        "made-up-function",
        "similar-name",
        "other-service",
        "prefixed-service",
        "other-service-qualified",
    ],
)
def test_they_cannot_invoke_any_other_function_or_service(client, where):
    app, session = client
    error = refused(app, session, **where)
    assert (error.status_code, error.err_code) == (403, "AccessDenied")


@pytest.mark.parametrize("qualifier", [None, "LATEST"])
def test_they_invoke_the_db_function_unqualified_and_qualified(client, qualifier):
    app, session = client
    answer = invoke_raw(
        app,
        session.sts,
        json.dumps({"sid": session.session_id, "op": "list", "v": 2}),
        qualifier=qualifier,
    )
    assert json.loads(answer) == {"data": {"items": [], "cursor": None}}


def test_they_cannot_reach_tablestore_directly(client):
    import tablestore
    from tablestore import INF_MAX, INF_MIN, Direction
    from tablestore.error import OTSServiceError
    from tablestore.retry import NoRetryPolicy

    app, _ = client
    config, sts = app.config, client[1].sts
    ots = tablestore.OTSClient(
        config["otsEndpoint"],
        sts["AccessKeyId"],
        sts["AccessKeySecret"],
        config["otsInstance"],
        sts_token=sts["SecurityToken"],
        retry_policy=NoRetryPolicy(),
        logger_name="e2e-sts-scope",
    )
    for table, key in (
        ("todo_list", ["uid", "id"]),
        ("user_data", ["uid", "id"]),
        ("session", ["id"]),
    ):
        with pytest.raises(OTSServiceError) as info:
            ots.get_range(
                table,
                Direction.FORWARD,
                [(k, INF_MIN) for k in key],
                [(k, INF_MAX) for k in key],
                max_version=1,
            )
        assert (info.value.get_http_status(), info.value.get_error_code()) == (
            403,
            "OTSNoPermissionAccess",
        )


def test_they_cannot_reach_log_service_directly(client):
    from aliyun.log import LogItem, PutLogsRequest
    from aliyun.log.logexception import LogException

    app, session = client
    config, sts = app.config, session.sts
    logs = log_client(
        config["slsEndpoint"], sts["AccessKeyId"], sts["AccessKeySecret"], sts["SecurityToken"]
    )
    item = LogItem(contents=[("kind", "audit"), ("event", "forged")])
    with pytest.raises(LogException) as info:
        logs.put_logs(PutLogsRequest(config["slsProject"], "function-logs", logitems=[item]))
    assert info.value.get_error_code() == "Unauthorized"
    with pytest.raises(LogException) as info:
        logs.get_logs(_get_logs_request(config["slsProject"]))
    assert info.value.get_error_code() == "Unauthorized"


def _get_logs_request(project: str) -> Any:
    from aliyun.log import GetLogsRequest

    now = int(time.time())
    return GetLogsRequest(project, "function-logs", now - 3600, now + 60, query="*")


def test_the_inline_policy_allows_invoking_the_db_function_only(client, local_cloud):
    app, session = client
    principal = local_cloud.credentials.resolve(
        session.sts["AccessKeyId"], session.sts["SecurityToken"]
    )
    prefix = f"acs:fc:{app.config['region']}:{app.config['accountId']}:services/"
    service, db = app.config["serviceName"], app.config["dbFunctionName"]
    assert principal.policy == {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["fc:InvokeFunction"],
                "Resource": [
                    f"{prefix}{service}/functions/{db}",
                    f"{prefix}{service}.*/functions/{db}",
                ],
            }
        ],
    }
    assert principal.role_arn == f"acs:ram::{app.config['accountId']}:role/miniapp-todo-client"


def test_the_role_session_name_never_holds_the_session_id_or_user_id(client, local_cloud):
    app, session = client
    principal = local_cloud.credentials.resolve(
        session.sts["AccessKeyId"], session.sts["SecurityToken"]
    )
    name = principal.session_name
    assert name and name.startswith("u-") and 2 <= len(name) <= 32
    # No 8-character piece of the sessionId, nor the Alipay user id, appears in it.
    sid = session.session_id
    assert not any(sid[i : i + 8] in name for i in range(len(sid) - 7))
    assert app.user_id not in name
    # The name is per user, not per session: a second session of the same user has the same.
    second = app.login()
    again = local_cloud.credentials.resolve(second.sts["AccessKeyId"], second.sts["SecurityToken"])
    assert again.session_name == name


def test_they_last_the_sts_duration(config, local_cloud):
    app = MiniProgram(config)
    before = local_cloud.clock.now()
    session = app.login()
    after = local_cloud.clock.now()
    principal = local_cloud.credentials.resolve(
        session.sts["AccessKeyId"], session.sts["SecurityToken"]
    )
    assert before + STS_DURATION_SECONDS <= principal.expires_at <= after + STS_DURATION_SECONDS


# -- expiry --------------------------------------------------------------------------------------
# The shared cloud's clock moves on past the credentials' life, for good (a clock never goes
# back): nothing on it compares that clock with real time but a phone's, which the client tests
# set to the cloud's. Moving it stops the idle instances, so the functions are warmed after.


@pytest.fixture
def moved_cloud(local_cloud: Any) -> Iterator[Any]:
    yield local_cloud
    warm_up(local_cloud.cloud_config())


def test_expired_credentials_are_refused_and_a_refresh_replaces_them(moved_cloud):
    app = MiniProgram(moved_cloud.cloud_config())
    session = app.login()
    event = json.dumps({"sid": session.session_id, "op": "list", "v": 2})
    assert json.loads(invoke_raw(app, session.sts, event))["data"]["items"] == []

    moved_cloud.clock.advance(STS_DURATION_SECONDS + 1)

    for qualifier in (None, "LATEST"):
        with pytest.raises(FcError) as info:
            invoke_raw(app, session.sts, event, qualifier=qualifier)
        assert (info.value.status_code, info.value.err_code) == (403, "SecurityTokenExpired")
    # The session itself is still live: a refresh gives credentials that work again.
    fresh = refreshed(app, session)
    assert json.loads(invoke_raw(app, fresh.sts, event))["data"]["items"] == []

"""Contract tests: the unmodified `aliyun.log.LogClient` against the local Log Service.

Loopback: LogClient sends to `http://{project}.{host}:{port}`, which does not resolve for
127.0.0.1, and only recognises a bare IP without a port as an IP. Every client here is therefore
made by the project's `localcloud.logclient.log_client`, which applies that rule to IPv4
endpoints with a port: the client connects to the bare endpoint and still names the project in
the Host header.

Sections follow the API reference (PutLogs/GetLogs, GetHistograms/ListTopics, logstores, indexes,
other APIs), then who may call, state and faults. Error codes with a test: ProjectNotExist,
LogStoreNotExist, LogStoreAlreadyExist, LogStoreInfoInvalid, IndexAlreadyExist,
IndexConfigNotExist, IndexInfoInvalid, ParameterInvalid, PostBodyInvalid, InvalidMethod,
Unauthorized, SignatureNotMatch, RequestTimeExpired, InternalServerError.
"""

from __future__ import annotations

import json
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from aliyun.log import (
    GetHistogramsRequest,
    GetLogsRequest,
    IndexConfig,
    IndexKeyConfig,
    IndexLineConfig,
    ListLogstoresRequest,
    ListTopicsRequest,
    LogClient,
    LogException,
    LogItem,
    PutLogsRequest,
)
from aliyun.log import logclient as logclient_module
from aliyun.log.auth import AUTH_VERSION_4, AuthV1

from localcloud.account import Account, load_or_create_account
from localcloud.clock import ShiftableClock
from localcloud.credentials import CredentialBook
from localcloud.faults import Fault, FaultBoard
from localcloud.httpshell import HttpServer
from localcloud.logclient import log_client
from localcloud.sls import LogServiceEmulator

PROJECT = "miniapp-logs"


class Cloud(SimpleNamespace):
    account: Account
    clock: ShiftableClock
    book: CredentialBook
    faults: FaultBoard
    sls: LogServiceEmulator
    server: HttpServer
    state_dir: Path


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    state_dir = tmp_path_factory.mktemp("sls")
    account = load_or_create_account(state_dir)
    clock = ShiftableClock()
    book = CredentialBook(account, state_dir / "credentials.db", clock)
    faults = FaultBoard(seed=1)
    sls = LogServiceEmulator(
        db_path=state_dir / "sls.db", account=account, credentials=book, clock=clock, faults=faults
    )
    sls.ensure_logstore(PROJECT, "requests")
    server = HttpServer(sls.app).start()
    yield Cloud(
        account=account,
        clock=clock,
        book=book,
        faults=faults,
        sls=sls,
        server=server,
        state_dir=state_dir,
    )
    server.stop()


def make_client(
    url: str, access_key_id: str, secret: str, token: str | None = None, **options: object
) -> LogClient:
    client = log_client(url, access_key_id, secret, token, **options)
    client.set_source("10.0.0.7")  # a fixed source the queries below can search for
    return client


@pytest.fixture
def client(cloud: Cloud) -> LogClient:
    return make_client(
        cloud.server.url, cloud.account.access_key_id, cloud.account.access_key_secret
    )


@pytest.fixture
def logstore(cloud: Cloud) -> str:
    """A fresh logstore per test, so tests never see each other's logs."""
    name = f"ls-{uuid.uuid4().hex[:10]}"
    cloud.sls.ensure_logstore(PROJECT, name)
    return name


@pytest.fixture
def faults(cloud: Cloud) -> Iterator[FaultBoard]:
    yield cloud.faults
    cloud.faults.clear()


def put(
    client: LogClient,
    logstore: str,
    *rows: dict[str, str],
    when: int | None = None,
    topic: str = "",
    **request_args: object,
) -> None:
    stamp = int(time.time()) if when is None else when
    items = [LogItem(stamp, list(row.items())) for row in rows]
    client.put_logs(PutLogsRequest(PROJECT, logstore, topic, None, items, **request_args))


def query(client: LogClient, logstore: str, text: str = "*", **kwargs: object) -> list[dict]:
    now = int(time.time())
    args = {"fromTime": now - 600, "toTime": now + 600, "query": text, **kwargs}
    response = client.get_logs(GetLogsRequest(PROJECT, logstore, **args))
    return [log.get_contents() for log in response.get_logs()]


def messages(logs: list[dict]) -> list[str]:
    return [log["msg"] for log in logs]


def error_of(call: Callable[[], object]) -> LogException:
    with pytest.raises(LogException) as info:
        call()
    return info.value


# ---- PutLogs / GetLogs ---------------------------------------------------------------------------


def test_put_logs_lz4_by_default_is_read_back_with_topic_source_and_tags(client, logstore):
    items = [LogItem(int(time.time()), [("msg", "hello"), ("level", "info")])]
    client.put_logs(
        PutLogsRequest(PROJECT, logstore, "api", "fc-instance-1", items, logtags=[("env", "local")])
    )
    [log] = client.get_logs(
        GetLogsRequest(PROJECT, logstore, int(time.time()) - 60, int(time.time()) + 60)
    ).get_logs()
    assert log.get_source() == "fc-instance-1"
    assert log.get_contents() == {
        "msg": "hello",
        "level": "info",
        "__topic__": "api",
        "__tag__:env": "local",
    }


def test_put_logs_uncompressed(client, logstore):
    put(client, logstore, {"msg": "plain"}, compress=False)
    assert messages(query(client, logstore)) == ["plain"]


def test_put_logs_with_a_hash_key_routes_to_a_shard(client, logstore):
    put(client, logstore, {"msg": "routed"}, hashKey="00000000000000000000000000000000")
    assert messages(query(client, logstore)) == ["routed"]


def test_put_logs_deflate_body(client, logstore):
    # The Python SDK only sends lz4 or raw; other SDKs send deflate. Same signing and transport.
    from aliyun.log.proto import LogGroupRaw

    group = LogGroupRaw()
    log = group.Logs.add()
    log.Time = int(time.time())
    content = log.Contents.add()
    content.Key, content.Value = "msg", b"deflated"
    raw = group.SerializeToString()
    client._send(
        "POST",
        PROJECT,
        zlib.compress(raw),
        f"/logstores/{logstore}/shards/lb",
        {},
        {
            "x-log-bodyrawsize": str(len(raw)),
            "x-log-compresstype": "deflate",
            "Content-Type": "application/x-protobuf",
        },
    )
    assert messages(query(client, logstore)) == ["deflated"]


def test_put_logs_with_unknown_compress_type_is_refused(client, logstore):
    err = error_of(
        lambda: client._send(
            "POST",
            PROJECT,
            b"xx",
            f"/logstores/{logstore}/shards/lb",
            {},
            {
                "x-log-bodyrawsize": "2",
                "x-log-compresstype": "snappy",
                "Content-Type": "application/x-protobuf",
            },
        )
    )
    assert (err.get_error_code(), err.resp_status) == ("InvalidCompressType", 400)


def test_put_logs_with_a_body_that_is_not_a_log_group_is_refused(client, logstore):
    err = error_of(
        lambda: client._send(
            "POST",
            PROJECT,
            b"\xff\xfenot protobuf",
            f"/logstores/{logstore}/shards/lb",
            {},
            {"x-log-bodyrawsize": "14", "Content-Type": "application/x-protobuf"},
        )
    )
    assert (err.get_error_code(), err.resp_status) == ("PostBodyInvalid", 400)
    assert query(client, logstore) == []


def test_emulator_write_is_visible_through_get_logs(cloud, client, logstore):
    cloud.sls.write(
        PROJECT,
        logstore,
        [{"msg": "from fc", "requestId": "r-1"}],
        topic="FCLogs:session",
        source="fc",
    )
    [log] = query(client, logstore)
    assert log == {"msg": "from fc", "requestId": "r-1", "__topic__": "FCLogs:session"}


# ---- query forms ---------------------------------------------------------------------------------


@pytest.fixture
def sample(client, logstore) -> str:
    put(
        client,
        logstore,
        {"msg": "login ok", "level": "info", "path": "/api/session"},
        {"msg": "todo saved", "level": "info", "path": "/api/todo"},
        {"msg": "todo failed", "level": "error", "path": "/api/todo"},
        {"msg": "Timeout talking to alipay", "level": "error", "path": "/api/session"},
    )
    return logstore


@pytest.mark.parametrize(
    "text, expected",
    [
        ("*", ["login ok", "todo saved", "todo failed", "Timeout talking to alipay"]),
        ("", ["login ok", "todo saved", "todo failed", "Timeout talking to alipay"]),
        ("todo", ["todo saved", "todo failed"]),
        ("TIMEOUT", ["Timeout talking to alipay"]),
        ("level: error", ["todo failed", "Timeout talking to alipay"]),
        ("level:error and path: /api/todo", ["todo failed"]),
        ("level: error path: /api/todo", ["todo failed"]),
        ("todo or alipay", ["todo saved", "todo failed", "Timeout talking to alipay"]),
        ("todo and not failed", ["todo saved"]),
        ("not level: info", ["todo failed", "Timeout talking to alipay"]),
        ("(saved or failed) and level: error", ["todo failed"]),
        ("fail*", ["todo failed"]),
        ('msg: "login ok"', ["login ok"]),
        ("level: warn", []),
        ("nosuchfield: error", []),
    ],
)
def test_search_query_forms(client, sample, text, expected):
    assert messages(query(client, sample, text)) == expected


def test_query_by_reserved_fields(client, logstore):
    put(client, logstore, {"msg": "a"}, topic="web")
    put(client, logstore, {"msg": "b"}, topic="timer")
    assert messages(query(client, logstore, "__topic__: timer")) == ["b"]
    assert messages(query(client, logstore, "__source__: 10.0.0.7")) == ["a", "b"]


def test_keys_inside_a_json_field_are_searchable_as_a_json_index_allows(client, logstore):
    """FC ships a function's JSON line as `message`; the template's JSON index on it."""
    put(
        client,
        logstore,
        {"msg": "a", "message": '{"kind": "audit", "event": "login", "latencyMs": 7}'},
        {"msg": "b", "message": '{"kind": "invocation", "ctx": {"op": "add"}}'},
        {"msg": "c", "message": "not json: kind audit"},
    )
    assert messages(query(client, logstore, "message.kind: audit")) == ["a"]
    assert messages(query(client, logstore, "message.latencyMs: 7")) == ["a"]
    assert messages(query(client, logstore, "message.ctx.op: add")) == ["b"]
    assert messages(query(client, logstore, "message.ctx: add")) == []  # an object is no leaf
    assert messages(query(client, logstore, "message.kind: audit or msg: c")) == ["a", "c"]


def test_topic_parameter_filters_by_topic(client, logstore):
    put(client, logstore, {"msg": "a"}, topic="web")
    put(client, logstore, {"msg": "b"}, topic="timer")
    assert messages(query(client, logstore, topic="web")) == ["a"]


def test_sql_analytics_is_refused_with_a_clear_message(client, sample):
    err = error_of(lambda: query(client, sample, "level: error | select count(*) as n"))
    assert (err.get_error_code(), err.resp_status) == ("ParameterInvalid", 400)
    assert "not supported" in err.get_error_message()


@pytest.mark.parametrize("text", ["(todo", "level:", "and todo", "latency > 100"])
def test_malformed_or_unsupported_search_is_refused(client, sample, text):
    err = error_of(lambda: query(client, sample, text))
    assert (err.get_error_code(), err.resp_status) == ("ParameterInvalid", 400)


def test_time_range_includes_from_and_excludes_to(client, logstore):
    base = int(time.time()) - 300
    for offset in (0, 10, 20):
        put(client, logstore, {"msg": f"t+{offset}"}, when=base + offset)
    logs = query(client, logstore, fromTime=base + 10, toTime=base + 20)
    assert messages(logs) == ["t+10"]


def test_from_after_to_is_refused(client, logstore):
    now = int(time.time())
    err = error_of(lambda: query(client, logstore, fromTime=now, toTime=now - 10))
    assert (err.get_error_code(), err.resp_status) == ("ParameterInvalid", 400)


def test_reverse_and_paging(client, logstore):
    base = int(time.time()) - 100
    for i in range(5):
        put(client, logstore, {"msg": f"m{i}"}, when=base + i)
    assert messages(query(client, logstore, reverse=True, line=2)) == ["m4", "m3"]
    assert messages(query(client, logstore, offset=1, line=3)) == ["m1", "m2", "m3"]


def test_more_than_one_page_is_fetched_by_the_sdk(client, logstore):
    put(client, logstore, *({"msg": f"n{i}"} for i in range(130)))
    assert len(query(client, logstore, line=200)) == 130


def test_get_logs_in_the_older_get_form(client, sample):
    client._get_logs_v2_enabled = False  # the SDK's switch to GET /logstores/{name}?type=log
    now = int(time.time())
    response = client.get_log(PROJECT, sample, now - 600, now + 600, query="level: error")
    assert [log.get_contents()["msg"] for log in response.get_logs()] == [
        "todo failed",
        "Timeout talking to alipay",
    ]
    assert response.is_completed()


def test_get_logs_in_the_older_get_form_reads_the_query_back_from_its_headers(client, sample):
    client._get_logs_v2_enabled = False
    now = int(time.time())
    response = client.get_log(PROJECT, sample, now - 600, now + 600, query="level: error")
    assert (response.get_where_query(), response.get_agg_query(), response.get_has_sql()) == (
        "level: error",
        "",
        False,
    )


# ---- GetHistograms / ListTopics ------------------------------------------------------------------


def test_get_histograms_counts_the_matching_logs_per_interval(client, logstore):
    now = int(time.time())
    put(client, logstore, {"level": "error"}, {"level": "info"}, when=now - 100)
    put(client, logstore, {"level": "error"}, when=now - 10)
    response = client.get_histograms(
        GetHistogramsRequest(PROJECT, logstore, now - 120, now, query="level: error")
    )
    counts = {h.get_from(): h.get_count() for h in response.get_histograms() if h.get_count()}
    assert (response.get_total_count(), response.is_completed()) == (2, True)
    assert counts == {now - 100: 1, now - 10: 1}


def test_get_histograms_splits_the_range_into_at_most_60_intervals(client, logstore):
    now = int(time.time())
    response = client.get_histograms(GetHistogramsRequest(PROJECT, logstore, now - 3600, now))
    histograms = response.get_histograms()
    assert len(histograms) == 60 and histograms[0].get_from() == now - 3600
    assert histograms[-1].get_to() == now


def test_list_topics_names_each_topic_once_in_order(client, logstore):
    for topic in ("beta", "alpha", "beta"):
        put(client, logstore, {"msg": "x"}, topic=topic)
    response = client.list_topics(ListTopicsRequest(PROJECT, logstore))
    assert (response.get_topics(), response.get_count()) == (["alpha", "beta"], "2")


def test_list_topics_pages_with_the_next_token(client, logstore):
    for topic in ("a", "b", "c"):
        put(client, logstore, {"msg": "x"}, topic=topic)
    first = client.list_topics(ListTopicsRequest(PROJECT, logstore, line=2))
    rest = client.list_topics(ListTopicsRequest(PROJECT, logstore, token=first.get_next_token()))
    assert (first.get_topics(), rest.get_topics()) == (["a", "b"], ["c"])


# ---- logstores -----------------------------------------------------------------------------------


def test_list_logstores_names_every_logstore_of_the_project(cloud, client, logstore):
    names = client.list_logstores(ListLogstoresRequest(PROJECT)).get_logstores()
    assert "requests" in names and logstore in names


def test_list_logstore_filters_by_name_and_pages(cloud, client):
    for name in ("audit-a", "audit-b", "audit-c"):
        cloud.sls.ensure_logstore(PROJECT, name)
    response = client.list_logstore(PROJECT, "audit-", offset=1, size=1)
    assert (response.get_logstores(), response.get_total()) == (["audit-b"], 3)


def test_get_logstore_reports_its_ttl(cloud, client):
    cloud.sls.ensure_logstore(PROJECT, "short-lived", ttl_days=7)
    assert client.get_logstore(PROJECT, "short-lived").get_ttl() == 7


def test_unknown_project_is_project_not_exist(client):
    err = error_of(lambda: client.list_logstores(ListLogstoresRequest("no-such-project")))
    assert (err.get_error_code(), err.resp_status) == ("ProjectNotExist", 404)


@pytest.mark.parametrize("call", ["put", "get", "describe"])
def test_unknown_logstore_is_logstore_not_exist(client, call):
    actions = {
        "put": lambda: put(client, "no-such-store", {"msg": "x"}),
        "get": lambda: query(client, "no-such-store"),
        "describe": lambda: client.get_logstore(PROJECT, "no-such-store"),
    }
    err = error_of(actions[call])
    assert (err.get_error_code(), err.resp_status) == ("LogStoreNotExist", 404)


def test_create_logstore_then_get_logstore_reports_it(client):
    name = f"made-{uuid.uuid4().hex[:8]}"
    client.create_logstore(PROJECT, name, ttl=14, shard_count=4)
    made = client.get_logstore(PROJECT, name)
    assert (made.get_ttl(), made.get_shard_count()) == (14, 4)


def test_create_existing_logstore_is_logstore_already_exist(client, logstore):
    err = error_of(lambda: client.create_logstore(PROJECT, logstore))
    assert (err.get_error_code(), err.resp_status) == ("LogStoreAlreadyExist", 400)


def test_create_logstore_with_an_invalid_name_is_logstore_info_invalid(client):
    err = error_of(lambda: client.create_logstore(PROJECT, "Bad_Name!"))
    assert (err.get_error_code(), err.resp_status) == ("LogStoreInfoInvalid", 400)


def test_create_logstore_in_an_unknown_project_is_project_not_exist(client):
    err = error_of(lambda: client.create_logstore("no-such-project", "anything"))
    assert (err.get_error_code(), err.resp_status) == ("ProjectNotExist", 404)


def test_delete_logstore_removes_it_and_its_logs(client):
    name = f"gone-{uuid.uuid4().hex[:8]}"
    client.create_logstore(PROJECT, name)
    put(client, name, {"msg": "x"})
    client.delete_logstore(PROJECT, name)
    err = error_of(lambda: client.get_logstore(PROJECT, name))
    assert (err.get_error_code(), err.resp_status) == ("LogStoreNotExist", 404)


def test_delete_unknown_logstore_is_logstore_not_exist(client):
    err = error_of(lambda: client.delete_logstore(PROJECT, "no-such-store"))
    assert (err.get_error_code(), err.resp_status) == ("LogStoreNotExist", 404)


# ---- indexes -------------------------------------------------------------------------------------


def key_index(*names: str) -> IndexConfig:
    return IndexConfig(
        line_config=IndexLineConfig([",", " "]),
        key_config_list={n: IndexKeyConfig([",", " "]) for n in names},
    )


def test_create_index_then_get_index_config_reads_it_back(client, logstore):
    client.create_index(PROJECT, logstore, key_index("level"))
    config = client.get_index_config(PROJECT, logstore).get_index_config()
    assert list(config.key_config_list) == ["level"]
    assert config.line_config.token_list == [",", " "]


def test_update_index_replaces_the_index(client, logstore):
    client.create_index(PROJECT, logstore, key_index("level"))
    client.update_index(PROJECT, logstore, key_index("level", "userHash"))
    config = client.get_index_config(PROJECT, logstore).get_index_config()
    assert sorted(config.key_config_list) == ["level", "userHash"]


def test_create_index_twice_is_index_already_exist(client, logstore):
    client.create_index(PROJECT, logstore, key_index("level"))
    err = error_of(lambda: client.create_index(PROJECT, logstore, key_index("level")))
    assert (err.get_error_code(), err.resp_status, err.get_error_message()) == (
        "IndexAlreadyExist",
        400,
        "Logstore index is already created.",
    )


@pytest.mark.parametrize("call", ["get", "update", "delete"])
def test_index_of_a_logstore_without_one_is_index_config_not_exist(client, logstore, call):
    actions = {
        "get": lambda: client.get_index_config(PROJECT, logstore),
        "update": lambda: client.update_index(PROJECT, logstore, key_index("a")),
        "delete": lambda: client.delete_index(PROJECT, logstore),
    }
    err = error_of(actions[call])
    assert (err.get_error_code(), err.resp_status) == ("IndexConfigNotExist", 400)


def test_index_without_tokens_is_index_info_invalid(client, logstore):
    config = IndexConfig(key_config_list={"level": IndexKeyConfig([])})
    err = error_of(lambda: client.create_index(PROJECT, logstore, config))
    assert (err.get_error_code(), err.resp_status) == ("IndexInfoInvalid", 400)


def test_a_declared_index_is_readable_through_the_sdk(cloud, client):
    cloud.sls.ensure_logstore(
        PROJECT,
        "declared",
        declared_index={
            "FullTextIndex": {"Enable": True},
            "KeyIndices": [
                {
                    "Name": "message",
                    "Type": "json",
                    "JsonKeyIndices": [{"Name": "latencyMs", "Type": "long"}],
                }
            ],
        },
    )
    config = client.get_index_config(PROJECT, "declared").get_index_config()
    message = config.key_config_list["message"]
    assert config.line_config is not None and message.index_type == "json"
    assert message.json_key_config.json_keys == {"latencyMs": {"type": "long", "doc_value": True}}


# ---- everything else -----------------------------------------------------------------------------


def test_an_api_outside_the_emulated_set_is_invalid_method(client, logstore):
    err = error_of(lambda: client.update_logstore(PROJECT, logstore, ttl=7))
    assert (err.get_error_code(), err.resp_status) == ("InvalidMethod", 405)
    assert err.get_error_message() == f"invalid request method : /logstores/{logstore}"


# ---- who may call --------------------------------------------------------------------------------


def test_wrong_secret_is_signature_not_match(cloud):
    bad = make_client(cloud.server.url, cloud.account.access_key_id, "not-the-secret")
    err = error_of(lambda: bad.list_logstores(ListLogstoresRequest(PROJECT)))
    assert (err.get_error_code(), err.resp_status) == ("SignatureNotMatch", 401)


def test_unknown_access_key_is_unauthorized(cloud):
    stranger = make_client(cloud.server.url, "LTAI" + "x" * 20, "whatever")
    err = error_of(lambda: stranger.list_logstores(ListLogstoresRequest(PROJECT)))
    assert (err.get_error_code(), err.resp_status) == ("Unauthorized", 401)
    assert "AccessKeyId not found" in err.get_error_message()


def test_unsigned_request_is_unauthorized(cloud):
    anonymous = make_client(cloud.server.url, cloud.account.access_key_id, "")  # SDK skips signing
    err = error_of(lambda: anonymous.list_logstores(ListLogstoresRequest(PROJECT)))
    assert (err.get_error_code(), err.resp_status) == ("Unauthorized", 401)


def test_signature_v4_is_refused_with_a_clear_message(cloud):
    v4 = make_client(
        cloud.server.url,
        cloud.account.access_key_id,
        cloud.account.access_key_secret,
        auth_version=AUTH_VERSION_4,
        region="cn-hangzhou",
    )
    err = error_of(lambda: v4.list_logstores(ListLogstoresRequest(PROJECT)))
    assert (err.get_error_code(), err.resp_status) == ("Unauthorized", 401)
    assert "version 4" in err.get_error_message()


def test_request_dated_outside_15_minutes_is_refused(cloud, client, monkeypatch):
    stale = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() - 3600))
    monkeypatch.setattr(AuthV1, "_getGMT", staticmethod(lambda: stale))
    err = error_of(lambda: client.list_logstores(ListLogstoresRequest(PROJECT)))
    assert (err.get_error_code(), err.resp_status) == ("RequestTimeExpired", 400)


def test_sts_credentials_can_put_and_get(cloud, logstore):
    issued = cloud.book.issue(
        f"acs:ram::{cloud.account.account_id}:role/fc-service", "fc", None, 3600
    )
    sts = make_client(
        cloud.server.url,
        issued.principal.access_key_id,
        issued.principal.access_key_secret,
        issued.security_token,
    )
    put(sts, logstore, {"msg": "as a role"})
    assert messages(query(sts, logstore)) == ["as a role"]


def test_sts_key_with_a_wrong_token_is_unauthorized(cloud):
    issued = cloud.book.issue(
        f"acs:ram::{cloud.account.account_id}:role/fc-service", "fc", None, 3600
    )
    sts = make_client(
        cloud.server.url,
        issued.principal.access_key_id,
        issued.principal.access_key_secret,
        "CAISforged",
    )
    err = error_of(lambda: sts.list_logstores(ListLogstoresRequest(PROJECT)))
    assert (err.get_error_code(), err.resp_status) == ("Unauthorized", 401)
    assert "security token you provided is invalid" in err.get_error_message()


def test_expired_sts_token_is_unauthorized(cloud):
    issued = cloud.book.issue(
        f"acs:ram::{cloud.account.account_id}:role/fc-service", "fc", None, 900
    )
    sts = make_client(
        cloud.server.url,
        issued.principal.access_key_id,
        issued.principal.access_key_secret,
        issued.security_token,
    )
    cloud.clock.advance(901)
    err = error_of(lambda: sts.list_logstores(ListLogstoresRequest(PROJECT)))
    assert (err.get_error_code(), err.resp_status) == ("Unauthorized", 401)
    assert "security token you provided has expired" in err.get_error_message()


def test_inline_policy_limits_sts_credentials_to_what_it_allows(cloud, logstore):
    policy = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["log:PostLogStoreLogs"],
                "Resource": [f"acs:log:*:*:project/{PROJECT}/logstore/{logstore}"],
            }
        ],
    }
    issued = cloud.book.issue(
        f"acs:ram::{cloud.account.account_id}:role/fc-service", "fc", policy, 3600
    )
    sts = make_client(
        cloud.server.url,
        issued.principal.access_key_id,
        issued.principal.access_key_secret,
        issued.security_token,
    )
    put(sts, logstore, {"msg": "allowed"})
    for denied in (
        lambda: put(sts, "requests", {"msg": "other store"}),
        lambda: query(sts, logstore),
    ):
        err = error_of(denied)
        assert (err.get_error_code(), err.resp_status) == ("Unauthorized", 401)
        assert "denied by sts or ram" in err.get_error_message()


# ---- state ---------------------------------------------------------------------------------------


def test_logs_survive_a_restart(cloud, client, logstore):
    put(client, logstore, {"msg": "durable"})
    again = LogServiceEmulator(
        db_path=cloud.state_dir / "sls.db",
        account=cloud.account,
        credentials=cloud.book,
        clock=cloud.clock,
        faults=FaultBoard(),
    )
    server = HttpServer(again.app).start()
    try:
        fresh = make_client(
            server.url, cloud.account.access_key_id, cloud.account.access_key_secret
        )
        assert messages(query(fresh, logstore)) == ["durable"]
    finally:
        server.stop()


def test_logs_older_than_the_ttl_are_dropped(tmp_path, cloud):
    clock = ShiftableClock()
    sls = LogServiceEmulator(
        db_path=tmp_path / "sls.db",
        account=cloud.account,
        credentials=cloud.book,
        clock=clock,
        faults=FaultBoard(),
    )
    sls.ensure_logstore(PROJECT, "brief", ttl_days=1)
    sls.write(PROJECT, "brief", [{"msg": "old"}])
    server = HttpServer(sls.app).start()
    try:
        client = make_client(
            server.url, cloud.account.access_key_id, cloud.account.access_key_secret
        )
        assert messages(query(client, "brief")) == ["old"]
        clock.advance(86400 + 1)
        assert query(client, "brief") == []
    finally:
        server.stop()


# ---- faults --------------------------------------------------------------------------------------


def test_unreachable_fault_drops_the_connection(client, faults):
    faults.set(Fault(service="sls", kind="unreachable", api="PutLogs"))
    before = faults.injected["sls:down"]  # counted under the vocabulary's name
    err = error_of(lambda: put(client, "requests", {"msg": "lost"}))
    assert err.get_error_code() == "LogRequestError"
    # A dropped connection is not among the SDK's retried errors: it surfaces at once.
    assert faults.injected["sls:down"] - before == 1
    assert client.list_logstores(ListLogstoresRequest(PROJECT)).get_count() >= 1  # other APIs


def test_internal_error_fault_is_retried_by_the_sdk_then_raised(client, faults, monkeypatch):
    # The SDK retries >= 500 ten times, 1 s apart: skip its sleeps, keep its behaviour.
    monkeypatch.setattr(
        logclient_module, "time", SimpleNamespace(sleep=lambda s: None, time=time.time)
    )
    faults.set(Fault(service="sls", kind="internal_error", api="GetLogs"))
    before = faults.injected["sls:internal_error"]
    err = error_of(lambda: query(client, "requests"))
    assert (err.get_error_code(), err.resp_status) == ("InternalServerError", 500)
    assert faults.injected["sls:internal_error"] - before == 10


def test_slow_fault_delays_but_answers(client, faults):
    faults.set(Fault(service="sls", kind="slow", api="ListLogStores", seconds=0.05))
    before = faults.injected["sls:slow"]
    assert "requests" in client.list_logstores(ListLogstoresRequest(PROJECT)).get_logstores()
    assert faults.injected["sls:slow"] - before == 1


def test_error_bodies_are_sls_json_with_a_request_id(client):
    err = error_of(lambda: client.get_logstore(PROJECT, "no-such-store"))
    assert err.get_request_id()
    assert set(json.loads(err.get_resp_body())) == {"errorCode", "errorMessage"}

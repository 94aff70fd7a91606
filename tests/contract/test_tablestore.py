"""Contract tests: the unmodified `tablestore.OTSClient` against the local Tablestore.

Every call goes through the SDK: its request signing, its response signature and MD5 checks,
its protobuf and PlainBuffer codecs. Clients use `NoRetryPolicy`, so a 5xx or a dropped
connection is reported at once. Each test makes its own tables; the clock only moves forward.

Sections follow the API reference (tables, single rows, GetRange, batches, search indexes and
other APIs), then who may call and faults. The documented error codes the template's code paths
can meet each have a test: OTSConditionCheckFail, OTSObjectNotExist, OTSObjectAlreadyExist,
OTSInvalidPK, OTSParameterInvalid, OTSRequestBodyTooLarge, OTSAuthFailed, OTSNoPermissionAccess,
OTSUnsupportOperation, OTSServerBusy, OTSInternalServerError.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import urllib3
from tablestore import (
    INF_MAX,
    INF_MIN,
    PK_AUTO_INCR,
    BatchGetRowRequest,
    BatchWriteRowRequest,
    CapacityUnit,
    ComparatorType,
    CompositeColumnCondition,
    Condition,
    DeleteRowItem,
    FieldSchema,
    FieldType,
    LogicalOperator,
    OTSClient,
    OTSServiceError,
    PutRowItem,
    ReservedThroughput,
    ReturnType,
    Row,
    SearchIndexMeta,
    SingleColumnCondition,
    TableInBatchGetRowItem,
    TableInBatchWriteRowItem,
    TableMeta,
    TableOptions,
    UpdateRowItem,
)
from tablestore.retry import NoRetryPolicy

from localcloud.account import load_or_create_account
from localcloud.clock import ShiftableClock
from localcloud.credentials import CredentialBook
from localcloud.faults import Fault, FaultBoard
from localcloud.httpshell import HttpServer
from localcloud.tablestore import FAULT_KINDS, TableSpec, TablestoreEmulator

INSTANCE = "localinst"
DAY = 86400
NO_RESERVATION = ReservedThroughput(CapacityUnit(0, 0))


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    state_dir = tmp_path_factory.mktemp("tablestore")
    account = load_or_create_account(state_dir)
    clock = ShiftableClock()
    credentials = CredentialBook(account, state_dir / "credentials.db", clock)
    faults = FaultBoard(seed=7)
    db_path = state_dir / "tablestore.db"
    emulator = TablestoreEmulator(
        db_path=db_path,
        account=account,
        credentials=credentials,
        clock=clock,
        faults=faults,
        instance_name=INSTANCE,
    )
    server = HttpServer(emulator.app).start()
    yield SimpleNamespace(
        account=account,
        clock=clock,
        credentials=credentials,
        faults=faults,
        emulator=emulator,
        server=server,
        db_path=db_path,
    )
    server.stop()


def make_client(
    cloud: SimpleNamespace, key_id: str | None = None, secret: str | None = None, **kwargs: Any
) -> OTSClient:
    return OTSClient(
        cloud.server.url,
        key_id or cloud.account.access_key_id,
        secret or cloud.account.access_key_secret,
        kwargs.pop("instance", INSTANCE),
        retry_policy=NoRetryPolicy(),
        **kwargs,
    )


@pytest.fixture(scope="module")
def client(cloud: SimpleNamespace) -> OTSClient:
    return make_client(cloud)


@pytest.fixture
def faults(cloud: SimpleNamespace) -> Iterator[FaultBoard]:
    yield cloud.faults
    cloud.faults.clear()


_names = itertools.count()


@pytest.fixture
def new_table(client: OTSClient) -> Iterator[Callable[..., str]]:
    """Makes tables for one test and deletes them after it (an instance holds at most 64)."""
    made: list[str] = []

    def create(*schema: tuple[str, str], ttl: int = -1, max_versions: int = 1) -> str:
        name = f"t{next(_names)}"
        meta = TableMeta(name, list(schema or [("pk", "STRING")]))
        client.create_table(meta, TableOptions(ttl, max_versions), NO_RESERVATION)
        made.append(name)
        return name

    yield create
    for name in made:
        if name in client.list_table():
            client.delete_table(name)


def error_of(call: Callable[[], Any]) -> OTSServiceError:
    with pytest.raises(OTSServiceError) as info:
        call()
    return info.value


def columns(row: Row | None) -> dict[str, Any]:
    """Latest value of each attribute column."""
    assert row is not None
    out: dict[str, Any] = {}
    for name, value, *_ in row.attribute_columns:
        out.setdefault(name, value)
    return out


def put(client: OTSClient, table: str, key: str, **values: Any) -> None:
    client.put_row(table, Row([("pk", key)], list(values.items())))


def update(
    client: OTSClient,
    table: str,
    key: str,
    changes: dict[str, list[Any]],
    condition: Condition | None = None,
) -> Any:
    return client.update_row(table, Row([("pk", key)], changes), condition or Condition("IGNORE"))


def get(client: OTSClient, table: str, key: str, **kwargs: Any) -> Row | None:
    return client.get_row(table, [("pk", key)], **kwargs)[1]


def scan(client: OTSClient, table: str, direction: str = "FORWARD", **kwargs: Any) -> list[Any]:
    start, end = (INF_MIN, INF_MAX) if direction == "FORWARD" else (INF_MAX, INF_MIN)
    _, _, rows, _ = client.get_range(table, direction, [("pk", start)], [("pk", end)], **kwargs)
    return [r.primary_key[0][1] for r in rows]


# -- tables ------------------------------------------------------------------------------------
def test_create_table_then_describe_returns_schema_and_options(client, new_table):
    name = new_table(
        ("uid", "STRING"), ("n", "INTEGER"), ("b", "BINARY"), ttl=2 * DAY, max_versions=3
    )
    described = client.describe_table(name)
    assert described.table_meta.schema_of_primary_key == [
        ("uid", "STRING"),
        ("n", "INTEGER"),
        ("b", "BINARY"),
    ]
    assert described.table_options.time_to_live == 2 * DAY
    assert described.table_options.max_version == 3


def test_list_table_names_every_table(client, new_table):
    first, second = new_table(), new_table()
    assert {first, second} <= set(client.list_table())


def test_delete_table_makes_it_not_exist(client, new_table):
    name = new_table()
    client.delete_table(name)
    error = error_of(lambda: client.describe_table(name))
    assert (error.get_http_status(), error.get_error_code()) == (404, "OTSObjectNotExist")
    assert name not in client.list_table()


def test_create_existing_table_is_object_already_exist(client, new_table):
    name = new_table()
    error = error_of(
        lambda: client.create_table(
            TableMeta(name, [("pk", "STRING")]), TableOptions(), NO_RESERVATION
        )
    )
    assert (error.get_http_status(), error.get_error_code()) == (409, "OTSObjectAlreadyExist")


def test_ttl_below_one_day_is_parameter_invalid(client):
    error = error_of(
        lambda: client.create_table(
            TableMeta("short_ttl", [("pk", "STRING")]), TableOptions(3600), NO_RESERVATION
        )
    )
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")


def test_ensure_table_is_idempotent_and_keeps_rows(cloud, client):
    spec = TableSpec("ensured", (("pk", "STRING"),))
    cloud.emulator.ensure_table(spec)
    put(client, "ensured", "k", v=1)
    cloud.emulator.ensure_table(spec)
    assert columns(get(client, "ensured", "k")) == {"v": 1}


# -- single rows -------------------------------------------------------------------------------
def test_put_then_get_row_returns_every_column_type(client, new_table):
    table = new_table()
    put(client, table, "k", s="héllo", i=-7, f=2.5, t=True, b=bytearray(b"\x00\xff"))
    row = get(client, table, "k")
    assert row.primary_key == [("pk", "k")]
    assert columns(row) == {"s": "héllo", "i": -7, "f": 2.5, "t": True, "b": bytearray(b"\x00\xff")}


def test_get_missing_row_returns_no_row(client, new_table):
    assert get(client, new_table(), "nobody") is None


def test_get_row_columns_to_get_returns_only_those(client, new_table):
    table = new_table()
    put(client, table, "k", a=1, b=2, c=3)
    assert columns(get(client, table, "k", columns_to_get=["a", "c"])) == {"a": 1, "c": 3}


def test_get_row_without_any_requested_column_returns_no_row(client, new_table):
    table = new_table()
    put(client, table, "k", a=1)
    assert get(client, table, "k", columns_to_get=["zzz"]) is None


def test_put_row_replaces_every_column_of_an_existing_row(client, new_table):
    table = new_table()
    put(client, table, "k", a=1, b=2)
    put(client, table, "k", c=3)
    assert columns(get(client, table, "k")) == {"c": 3}


def test_update_row_puts_and_deletes_all_versions(client, new_table):
    table = new_table()
    put(client, table, "k", a=1, b=2)
    client.update_row(
        table, Row([("pk", "k")], {"put": [("c", 3)], "delete_all": ["a"]}), Condition("IGNORE")
    )
    assert columns(get(client, table, "k")) == {"b": 2, "c": 3}


def test_update_row_increment_adds_to_integer_and_starts_missing_at_zero(client, new_table):
    table = new_table()
    put(client, table, "k", n=10)
    client.update_row(
        table, Row([("pk", "k")], {"increment": [("n", 5), ("m", 2)]}), Condition("EXPECT_EXIST")
    )
    assert columns(get(client, table, "k")) == {"n": 15, "m": 2}


def test_increment_of_a_string_column_is_parameter_invalid(client, new_table):
    table = new_table()
    put(client, table, "k", s="text")
    error = error_of(
        lambda: client.update_row(
            table, Row([("pk", "k")], {"increment": [("s", 1)]}), Condition("IGNORE")
        )
    )
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")


def test_max_versions_keeps_the_newest_versions(cloud, client, new_table):
    table = new_table(max_versions=2)
    now = int(cloud.clock.now() * 1000)
    for i in range(3):
        update(client, table, "k", {"put": [("v", i, now + i)]})
    row = client.get_row(table, [("pk", "k")], max_version=5)[1]
    assert row.attribute_columns == [("v", 2, now + 2), ("v", 1, now + 1)]


def test_update_row_delete_removes_one_version(cloud, client, new_table):
    table = new_table(max_versions=3)
    now = int(cloud.clock.now() * 1000)
    update(client, table, "k", {"put": [("v", "old", now), ("v", "new", now + 1)]})
    update(client, table, "k", {"delete": [("v", None, now + 1)]})
    row = client.get_row(table, [("pk", "k")], max_version=3)[1]
    assert row.attribute_columns == [("v", "old", now)]


def test_update_of_only_deletions_does_not_create_a_row(client, new_table):
    table = new_table()
    client.update_row(table, Row([("pk", "k")], {"delete_all": ["a"]}), Condition("IGNORE"))
    assert get(client, table, "k") is None


def test_delete_row_removes_the_row(client, new_table):
    table = new_table()
    put(client, table, "k", a=1)
    client.delete_row(table, Row([("pk", "k")]), Condition("IGNORE"))
    assert get(client, table, "k") is None


def test_request_body_over_5_mb_is_request_body_too_large(client, new_table):
    table = new_table()
    cells = [(f"c{n}", "x" * (2 * 1024 * 1024)) for n in range(3)]
    error = error_of(lambda: client.put_row(table, Row([("pk", "big")], cells)))
    assert (error.get_http_status(), error.get_error_code()) == (413, "OTSRequestBodyTooLarge")
    assert get(client, table, "big") is None


def test_row_operation_on_missing_table_is_object_not_exist(client):
    error = error_of(lambda: put(client, "no_such_table", "k", a=1))
    assert (error.get_http_status(), error.get_error_code()) == (404, "OTSObjectNotExist")


# -- primary key schema ------------------------------------------------------------------------
# The SDK's own row tests (tests/row_op_test.py) expect OTSInvalidPK, 400, with these words.
WRONG_KEYS = {
    "name": ([("other", "k")], "Validate PK name fail. Input: other, Meta: pk."),
    "type": ([("pk", 1)], "Validate PK type fail. Input: VT_INTEGER, Meta: VT_STRING."),
    "size": ([("pk", "k"), ("extra", "x")], "Validate PK size fail. Input: 2, Meta: 1."),
}
SINGLE_ROW_CALLS = {
    "get_row": lambda c, t, key: c.get_row(t, key, max_version=1),
    "put_row": lambda c, t, key: c.put_row(t, Row(key, [("a", 1)])),
    "update_row": lambda c, t, key: c.update_row(
        t, Row(key, {"put": [("a", 1)]}), Condition("IGNORE")
    ),
    "delete_row": lambda c, t, key: c.delete_row(t, Row(key), Condition("IGNORE")),
}


@pytest.mark.parametrize("call", SINGLE_ROW_CALLS.values(), ids=SINGLE_ROW_CALLS.keys())
@pytest.mark.parametrize("wrong", WRONG_KEYS.values(), ids=WRONG_KEYS.keys())
def test_primary_key_of_the_wrong_name_type_or_size_is_invalid_pk(client, new_table, call, wrong):
    table = new_table()
    key, message = wrong
    error = error_of(lambda: call(client, table, key))
    assert (error.get_http_status(), error.get_error_code(), error.get_error_message()) == (
        400,
        "OTSInvalidPK",
        message,
    )


def test_batch_write_row_answers_invalid_pk_for_the_row(client, new_table):
    table = new_table()
    key, message = WRONG_KEYS["name"]
    request = BatchWriteRowRequest()
    request.add(
        TableInBatchWriteRowItem(
            table, [UpdateRowItem(Row(key, {"put": [("a", 1)]}), Condition("IGNORE"))]
        )
    )
    [failed] = client.batch_write_row(request).get_update_by_table(table)
    assert (failed.is_ok, failed.error_code, failed.error_message) == (
        False,
        "OTSInvalidPK",
        message,
    )


def test_batch_get_row_answers_invalid_pk_for_the_row(client, new_table):
    table = new_table()
    key, message = WRONG_KEYS["size"]
    request = BatchGetRowRequest()
    request.add(TableInBatchGetRowItem(table, [key], max_version=1))
    [failed] = client.batch_get_row(request).get_result_by_table(table)
    assert (failed.is_ok, failed.error_code, failed.error_message) == (
        False,
        "OTSInvalidPK",
        message,
    )


def test_string_key_over_1_kb_is_parameter_invalid(client, new_table):
    table = new_table()
    error = error_of(lambda: client.put_row(table, Row([("pk", "x" * 1025)], [("a", 1)])))
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")


def test_primary_key_columns_in_wrong_order_are_invalid_pk(client, new_table):
    table = new_table(("a", "STRING"), ("b", "INTEGER"))
    error = error_of(lambda: client.put_row(table, Row([("b", 1), ("a", "x")], [("v", 1)])))
    assert error.get_error_code() == "OTSInvalidPK"


def test_auto_increment_key_is_assigned_and_returned_with_rt_pk(client):
    client.create_table(
        TableMeta("auto_inc", [("p", "STRING"), ("seq", "INTEGER", PK_AUTO_INCR)]),
        TableOptions(),
        NO_RESERVATION,
    )
    rows = [
        client.put_row(
            "auto_inc",
            Row([("p", "x"), ("seq", PK_AUTO_INCR)], [("v", i)]),
            return_type=ReturnType.RT_PK,
        )[1]
        for i in range(2)
    ]
    first, second = (r.primary_key[1][1] for r in rows)
    assert first < second
    assert columns(client.get_row("auto_inc", [("p", "x"), ("seq", second)])[1]) == {"v": 1}


def test_return_type_rt_pk_returns_the_primary_key(client, new_table):
    table = new_table()
    _, row = client.put_row(table, Row([("pk", "k")], [("a", 1)]), return_type=ReturnType.RT_PK)
    assert row.primary_key == [("pk", "k")]


def test_return_type_rt_after_modify_returns_incremented_value(client, new_table):
    # The Python SDK only encodes RT_PK; other SDKs send RT_AFTER_MODIFY, so set it on the
    # SDK's own request message and let the SDK sign, send and decode as usual.
    import tablestore.protobuf.table_store_pb2 as pb

    table = new_table()
    encoder = client.protocol.encoder
    original = encoder.api_encode_map["UpdateRow"]

    def after_modify(*args: Any) -> Any:
        message = original(*args)
        message.return_content.return_type = pb.RT_AFTER_MODIFY
        message.return_content.return_column_names.append("n")
        return message

    encoder.api_encode_map["UpdateRow"] = after_modify
    try:
        client.update_row(table, Row([("pk", "k")], {"increment": [("n", 3)]}), Condition("IGNORE"))
        _, row = client.update_row(
            table, Row([("pk", "k")], {"increment": [("n", 4)]}), Condition("IGNORE")
        )
    finally:
        encoder.api_encode_map["UpdateRow"] = original
    assert columns(row) == {"n": 7}


# -- conditions --------------------------------------------------------------------------------
def test_expect_not_exist_on_existing_row_is_condition_check_fail(client, new_table):
    table = new_table()
    put(client, table, "k", a=1)
    error = error_of(
        lambda: client.put_row(table, Row([("pk", "k")], [("a", 2)]), Condition("EXPECT_NOT_EXIST"))
    )
    assert (error.get_http_status(), error.get_error_code()) == (403, "OTSConditionCheckFail")
    assert columns(get(client, table, "k")) == {"a": 1}


def test_expect_exist_on_missing_row_is_condition_check_fail(client, new_table):
    table = new_table()
    error = error_of(
        lambda: client.update_row(
            table, Row([("pk", "k")], {"put": [("a", 1)]}), Condition("EXPECT_EXIST")
        )
    )
    assert error.get_error_code() == "OTSConditionCheckFail"
    assert get(client, table, "k") is None


@pytest.mark.parametrize(
    "comparator, value, passes",
    [
        (ComparatorType.EQUAL, 5, True),
        (ComparatorType.EQUAL, 6, False),
        (ComparatorType.NOT_EQUAL, 6, True),
        (ComparatorType.NOT_EQUAL, 5, False),
        (ComparatorType.GREATER_THAN, 4, True),
        (ComparatorType.GREATER_THAN, 5, False),
        (ComparatorType.GREATER_EQUAL, 5, True),
        (ComparatorType.GREATER_EQUAL, 6, False),
        (ComparatorType.LESS_THAN, 6, True),
        (ComparatorType.LESS_THAN, 5, False),
        (ComparatorType.LESS_EQUAL, 5, True),
        (ComparatorType.LESS_EQUAL, 4, False),
    ],
)
def test_single_column_condition_compares_the_column_with_the_value(
    client, new_table, comparator, value, passes
):
    table = new_table()
    put(client, table, "k", n=5)
    condition = Condition("EXPECT_EXIST", SingleColumnCondition("n", value, comparator))

    def write() -> Any:
        return update(client, table, "k", {"put": [("done", True)]}, condition)

    if passes:
        write()
        assert columns(get(client, table, "k"))["done"] is True
    else:
        assert error_of(write).get_error_code() == "OTSConditionCheckFail"
        assert "done" not in columns(get(client, table, "k"))


@pytest.mark.parametrize("pass_if_missing", [True, False])
def test_pass_if_missing_decides_a_condition_on_a_missing_column(
    client, new_table, pass_if_missing
):
    table = new_table()
    put(client, table, "k", a=1)
    condition = Condition(
        "IGNORE",
        SingleColumnCondition("missing", 1, ComparatorType.EQUAL, pass_if_missing=pass_if_missing),
    )

    def write() -> Any:
        return client.put_row(table, Row([("pk", "k")], [("a", 2)]), condition)

    if pass_if_missing:
        write()
        assert columns(get(client, table, "k")) == {"a": 2}
    else:
        assert error_of(write).get_error_code() == "OTSConditionCheckFail"


@pytest.mark.parametrize("latest_only", [True, False])
def test_latest_version_only_off_lets_an_older_version_satisfy_the_condition(
    cloud, client, new_table, latest_only
):
    table = new_table(max_versions=2)
    now = int(cloud.clock.now() * 1000)
    update(client, table, "k", {"put": [("v", "old", now), ("v", "new", now + 1)]})
    condition = Condition(
        "IGNORE",
        SingleColumnCondition("v", "old", ComparatorType.EQUAL, latest_version_only=latest_only),
    )

    def write() -> Any:
        return client.delete_row(table, Row([("pk", "k")]), condition)

    if latest_only:
        assert error_of(write).get_error_code() == "OTSConditionCheckFail"
    else:
        write()
        assert get(client, table, "k") is None


@pytest.mark.parametrize(
    "operator, passes",
    [(LogicalOperator.AND, False), (LogicalOperator.OR, True), (LogicalOperator.NOT, True)],
)
def test_composite_condition_combines_sub_conditions(client, new_table, operator, passes):
    table = new_table()
    put(client, table, "k", a=1, b=2)
    composite = CompositeColumnCondition(operator)
    composite.add_sub_condition(SingleColumnCondition("a", 1, ComparatorType.EQUAL))
    if operator == LogicalOperator.NOT:
        composite.clear_sub_condition()
        composite.add_sub_condition(SingleColumnCondition("b", 3, ComparatorType.EQUAL))
    else:
        composite.add_sub_condition(SingleColumnCondition("b", 3, ComparatorType.EQUAL))

    def write() -> Any:
        return client.put_row(table, Row([("pk", "k")], [("c", 3)]), Condition("IGNORE", composite))

    if passes:
        write()
        assert columns(get(client, table, "k")) == {"c": 3}
    else:
        assert error_of(write).get_error_code() == "OTSConditionCheckFail"
        assert columns(get(client, table, "k")) == {"a": 1, "b": 2}


def test_get_row_filter_hides_a_row_that_does_not_match(client, new_table):
    table = new_table()
    put(client, table, "k", a=1)
    assert (
        client.get_row(
            table, [("pk", "k")], column_filter=SingleColumnCondition("a", 2, ComparatorType.EQUAL)
        )[1]
        is None
    )


# -- ranges ------------------------------------------------------------------------------------
def test_get_range_forward_orders_integer_keys_numerically(client, new_table):
    table = new_table(("pk", "INTEGER"))
    for n in (10, -3, 0, 2, -20, 1 << 40):
        client.put_row(table, Row([("pk", n)], [("v", n)]))
    assert scan(client, table) == [-20, -3, 0, 2, 10, 1 << 40]


def test_get_range_backward_returns_rows_in_reverse_order(client, new_table):
    table = new_table(("pk", "INTEGER"))
    for n in range(5):
        client.put_row(table, Row([("pk", n)], [("v", n)]))
    assert scan(client, table, "BACKWARD") == [4, 3, 2, 1, 0]


def test_get_range_orders_string_keys_by_utf8_bytes(client, new_table):
    table = new_table()
    for key in ("b", "ab", "a", "Z", "é", "a\x00"):
        put(client, table, key, v=1)
    assert scan(client, table) == ["Z", "a", "a\x00", "ab", "b", "é"]


def test_get_range_orders_binary_keys_by_bytes(client, new_table):
    table = new_table(("pk", "BINARY"))
    for key in (b"\xff", b"\x00\x01", b"\x00", b"\x7f\xff"):
        client.put_row(table, Row([("pk", bytearray(key))], [("v", 1)]))
    assert scan(client, table) == [
        bytearray(b"\x00"),
        bytearray(b"\x00\x01"),
        bytearray(b"\x7f\xff"),
        bytearray(b"\xff"),
    ]


def test_get_range_inf_bounds_select_one_key_prefix(client, new_table):
    table = new_table(("uid", "STRING"), ("id", "INTEGER"))
    for uid, n in (("u1", 1), ("u2", 5), ("u2", -1), ("u3", 0)):
        client.put_row(table, Row([("uid", uid), ("id", n)], [("v", 1)]))
    _, _, rows, _ = client.get_range(
        table, "FORWARD", [("uid", "u2"), ("id", INF_MIN)], [("uid", "u2"), ("id", INF_MAX)]
    )
    assert [r.primary_key for r in rows] == [
        [("uid", "u2"), ("id", -1)],
        [("uid", "u2"), ("id", 5)],
    ]


def test_get_range_limit_returns_next_start_primary_key(client, new_table):
    table = new_table(("pk", "INTEGER"))
    for n in range(7):
        client.put_row(table, Row([("pk", n)], [("v", n)]))
    _, next_start, rows, _ = client.get_range(
        table, "FORWARD", [("pk", INF_MIN)], [("pk", INF_MAX)], limit=3
    )
    assert [r.primary_key[0][1] for r in rows] == [0, 1, 2]
    assert next_start == [("pk", 3)]
    _, next_start, rows, _ = client.get_range(
        table, "FORWARD", next_start, [("pk", INF_MAX)], limit=10
    )
    assert ([r.primary_key[0][1] for r in rows], next_start) == ([3, 4, 5, 6], None)


def test_get_range_columns_to_get_skips_rows_without_them(client, new_table):
    table = new_table()
    put(client, table, "a", x=1, y=2)
    put(client, table, "b", y=3)
    _, _, rows, _ = client.get_range(
        table, "FORWARD", [("pk", INF_MIN)], [("pk", INF_MAX)], columns_to_get=["x"]
    )
    assert [(r.primary_key[0][1], columns(r)) for r in rows] == [("a", {"x": 1})]


def test_get_range_answers_each_rows_current_content_and_versions(cloud, client, new_table):
    # Full-row range reads are answered from encodings cached by content (encoded.py): a row
    # changed since, or read with other versions, must still come back as it is now.
    table = new_table(max_versions=2)
    now = int(cloud.clock.now() * 1000)
    update(
        client,
        table,
        "a",
        {
            "put": [
                ("s", "é\x00x", now),
                ("i", -(1 << 62), now),
                ("f", 1.5, now),
                ("b", False, now),
                ("x", bytearray(b"\x00\xff"), now),
            ]
        },
    )
    update(client, table, "b", {"put": [("v", 1, now)]})
    assert [r.attribute_columns for r in rows_of(client, table, max_version=1)] == [
        [
            ("b", False, now),
            ("f", 1.5, now),
            ("i", -(1 << 62), now),
            ("s", "é\x00x", now),
            ("x", bytearray(b"\x00\xff"), now),
        ],
        [("v", 1, now)],
    ]
    update(client, table, "b", {"put": [("v", 2, now + 1)]})
    assert [r.attribute_columns for r in rows_of(client, table, max_version=1)][1] == [
        ("v", 2, now + 1)
    ]
    assert [r.attribute_columns for r in rows_of(client, table, max_version=2)][1] == [
        ("v", 2, now + 1),
        ("v", 1, now),
    ]
    update(client, table, "b", {"delete": [("v", None, now + 1)]})  # back to an earlier content
    assert [r.attribute_columns for r in rows_of(client, table, max_version=2)][1] == [
        ("v", 1, now)
    ]


def test_an_unchanged_range_is_answered_again_and_any_change_is_seen(cloud, client, new_table):
    # Full-row range answers are kept while the database's content stamp holds
    # (encoded.RangeAnswers): a write through the service, a write by another connection to the
    # same file (another process), a restored snapshot and a TTL must each show at once.
    import sqlite3

    table = new_table()
    put(client, table, "a", v=1)
    first = [columns(r) for r in rows_of(client, table)]
    assert [columns(r) for r in rows_of(client, table)] == first == [{"v": 1}]
    snapshot = cloud.db_path.with_name("range-answers-snapshot.db")
    database = cloud.emulator.core.database
    database.copy_to(snapshot)
    put(client, table, "b", v=2)
    assert [columns(r) for r in rows_of(client, table)] == [{"v": 1}, {"v": 2}]
    other = sqlite3.connect(str(cloud.db_path), isolation_level=None)
    try:
        table_id = cloud.emulator.core.catalog.get(table).id
        other.execute("DELETE FROM ots_rows WHERE table_id = ?", (table_id,))
    finally:
        other.close()
    assert rows_of(client, table) == []
    put(client, table, "c", v=3)
    assert len(rows_of(client, table)) == 1
    database.replace_with(snapshot)
    assert [columns(r) for r in rows_of(client, table)] == [{"v": 1}]
    snapshot.unlink()
    aging = new_table(ttl=DAY)
    put(client, aging, "old", a=1)
    assert len(rows_of(client, aging)) == 1
    cloud.clock.advance(DAY + 1)
    assert rows_of(client, aging) == []


def test_with_no_range_answers_kept_every_range_is_read_anew(cloud, client, new_table):
    """`make bench --no-range-answers`: the emulator reads each range from its database, as
    the list figures without its memory are measured."""
    from localcloud.tablestore.encoded import RangeAnswers

    core = cloud.emulator.core
    kept, core.range_answers = core.range_answers, RangeAnswers(keep=0)
    try:
        table = new_table()
        put(client, table, "a", v=1)
        assert [columns(r) for r in rows_of(client, table)] == [{"v": 1}]
        assert [columns(r) for r in rows_of(client, table)] == [{"v": 1}]
        assert len(core.range_answers._answers) == 0  # nothing kept to answer from
    finally:
        core.range_answers = kept


def rows_of(client: OTSClient, table: str, **kwargs: Any) -> list[Row]:
    _, _, rows, _ = client.get_range(
        table, "FORWARD", [("pk", INF_MIN)], [("pk", INF_MAX)], **kwargs
    )
    return rows


def test_get_range_with_start_after_end_is_parameter_invalid(client, new_table):
    table = new_table()
    error = error_of(lambda: client.get_range(table, "FORWARD", [("pk", "z")], [("pk", "a")]))
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")


@pytest.mark.parametrize("limit", [0, -1])
def test_get_range_limit_below_one_is_parameter_invalid(client, new_table, limit):
    table = new_table()
    error = error_of(
        lambda: client.get_range(
            table, "FORWARD", [("pk", INF_MIN)], [("pk", INF_MAX)], limit=limit
        )
    )
    assert (error.get_http_status(), error.get_error_code(), error.get_error_message()) == (
        400,
        "OTSParameterInvalid",
        "The limit must be greater than 0.",
    )


def test_get_range_pages_10k_rows_of_one_partition_5000_at_a_time(client, new_table):
    table = new_table(("uid", "STRING"), ("id", "INTEGER"))
    for start in range(0, 10_000, 200):
        request = BatchWriteRowRequest()
        request.add(
            TableInBatchWriteRowItem(
                table,
                [
                    PutRowItem(Row([("uid", "u"), ("id", n)], [("v", n)]), Condition("IGNORE"))
                    for n in range(start, start + 200)
                ],
            )
        )
        assert client.batch_write_row(request).is_all_succeed()
    start_key, end_key = [("uid", "u"), ("id", INF_MIN)], [("uid", "u"), ("id", INF_MAX)]
    _, next_start, rows, _ = client.get_range(table, "FORWARD", start_key, end_key)
    assert len(rows) == 5000 and next_start == [("uid", "u"), ("id", 5000)]
    everything = list(client.xget_range(table, "FORWARD", start_key, end_key, CapacityUnit(0, 0)))
    assert [r.primary_key[1][1] for r in everything] == list(range(10_000))


# -- batches -----------------------------------------------------------------------------------
def test_batch_get_row_returns_found_and_missing_rows_and_per_row_errors(client, new_table):
    table = new_table()
    put(client, table, "k", a=1)
    request = BatchGetRowRequest()
    request.add(TableInBatchGetRowItem(table, [[("pk", "k")], [("pk", "missing")]], ["a"]))
    request.add(TableInBatchGetRowItem("no_such_table", [[("pk", "k")]]))
    response = client.batch_get_row(request)
    found, missing = response.get_result_by_table(table)
    assert found.is_ok and columns(found.row) == {"a": 1}
    assert missing.is_ok and missing.row is None
    [failed] = response.get_result_by_table("no_such_table")
    assert (failed.is_ok, failed.error_code) == (False, "OTSObjectNotExist")


def test_batch_write_row_applies_put_update_and_delete(client, new_table):
    table = new_table()
    put(client, table, "upd", a=1)
    put(client, table, "del", a=1)
    request = BatchWriteRowRequest()
    request.add(
        TableInBatchWriteRowItem(
            table,
            [
                PutRowItem(Row([("pk", "new")], [("a", 2)]), Condition("EXPECT_NOT_EXIST")),
                UpdateRowItem(
                    Row([("pk", "upd")], {"increment": [("a", 9)]}), Condition("EXPECT_EXIST")
                ),
                DeleteRowItem(Row([("pk", "del")]), Condition("EXPECT_EXIST")),
            ],
        )
    )
    assert client.batch_write_row(request).is_all_succeed()
    assert columns(get(client, table, "new")) == {"a": 2}
    assert columns(get(client, table, "upd")) == {"a": 10}
    assert get(client, table, "del") is None


def test_batch_write_row_reports_a_failed_row_and_keeps_the_others(client, new_table):
    table = new_table()
    put(client, table, "taken", a=1)
    request = BatchWriteRowRequest()
    request.add(
        TableInBatchWriteRowItem(
            table,
            [
                PutRowItem(Row([("pk", "taken")], [("a", 2)]), Condition("EXPECT_NOT_EXIST")),
                PutRowItem(Row([("pk", "free")], [("a", 3)]), Condition("EXPECT_NOT_EXIST")),
            ],
        )
    )
    failed, succeeded = client.batch_write_row(request).get_put_by_table(table)
    assert (failed.is_ok, failed.error_code) == (False, "OTSConditionCheckFail")
    assert succeeded.is_ok
    assert columns(get(client, table, "taken")) == {"a": 1}
    assert columns(get(client, table, "free")) == {"a": 3}


def test_batch_write_row_over_200_rows_is_parameter_invalid(client, new_table):
    table = new_table()
    request = BatchWriteRowRequest()
    request.add(
        TableInBatchWriteRowItem(
            table,
            [
                PutRowItem(Row([("pk", str(n))], [("a", n)]), Condition("IGNORE"))
                for n in range(201)
            ],
        )
    )
    error = error_of(lambda: client.batch_write_row(request))
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")
    assert scan(client, table) == []


@pytest.mark.parametrize("second", ["update", "delete"])
def test_batch_write_row_naming_a_row_twice_applies_both_in_order(client, new_table, second):
    table = new_table()
    key = [("pk", "twice")]
    then = (
        UpdateRowItem(Row(key, {"put": [("b", 2)]}), Condition("IGNORE"))
        if second == "update"
        else DeleteRowItem(Row(key), Condition("IGNORE"))
    )
    request = BatchWriteRowRequest()
    request.add(
        TableInBatchWriteRowItem(
            table, [PutRowItem(Row(key, [("a", 1)]), Condition("IGNORE")), then]
        )
    )
    assert client.batch_write_row(request).is_all_succeed()
    row = get(client, table, "twice")
    assert (columns(row) if row else None) == ({"a": 1, "b": 2} if second == "update" else None)


def test_batch_write_row_with_a_table_of_no_rows_is_parameter_invalid(client, new_table):
    table = new_table()
    request = BatchWriteRowRequest()
    request.add(TableInBatchWriteRowItem(table, []))
    error = error_of(lambda: client.batch_write_row(request))
    assert (error.get_http_status(), error.get_error_code(), error.get_error_message()) == (
        400,
        "OTSParameterInvalid",
        f"No operation is specified for table: '{table}'.",
    )


def test_empty_batch_write_row_is_parameter_invalid(client):
    error = error_of(lambda: client.batch_write_row(BatchWriteRowRequest()))
    assert (error.get_http_status(), error.get_error_code(), error.get_error_message()) == (
        400,
        "OTSParameterInvalid",
        "No row is specified in BatchWriteRow.",
    )


def test_empty_batch_get_row_is_parameter_invalid(client):
    error = error_of(lambda: client.batch_get_row(BatchGetRowRequest()))
    assert (error.get_http_status(), error.get_error_code(), error.get_error_message()) == (
        400,
        "OTSParameterInvalid",
        "No row specified in the request of BatchGetRow.",
    )


def test_batch_get_row_naming_a_row_twice_answers_it_twice(client, new_table):
    table = new_table()
    put(client, table, "k", a=1)
    request = BatchGetRowRequest()
    request.add(TableInBatchGetRowItem(table, [[("pk", "k")], [("pk", "k")]], max_version=1))
    rows = client.batch_get_row(request).get_result_by_table(table)
    assert [columns(r.row) for r in rows] == [{"a": 1}, {"a": 1}]


def test_batch_get_row_over_100_rows_is_parameter_invalid(client, new_table):
    table = new_table()
    request = BatchGetRowRequest()
    request.add(TableInBatchGetRowItem(table, [[("pk", str(n))] for n in range(101)]))
    error = error_of(lambda: client.batch_get_row(request))
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")


# -- TTL ---------------------------------------------------------------------------------------
def test_rows_past_the_ttl_are_invisible(cloud, client, new_table):
    table = new_table(ttl=DAY)
    put(client, table, "old", a=1)
    cloud.clock.advance(DAY + 1)
    put(client, table, "fresh", a=2)
    assert get(client, table, "old") is None
    assert scan(client, table) == ["fresh"]


def test_a_row_past_the_ttl_does_not_fail_expect_not_exist(cloud, client, new_table):
    table = new_table(ttl=DAY)
    put(client, table, "k", a=1)
    cloud.clock.advance(DAY + 1)
    client.put_row(table, Row([("pk", "k")], [("a", 2)]), Condition("EXPECT_NOT_EXIST"))
    assert columns(get(client, table, "k")) == {"a": 2}


# -- credentials -------------------------------------------------------------------------------
def test_wrong_secret_is_auth_failed(cloud, new_table):
    table = new_table()
    wrong = make_client(cloud, secret="not-the-secret")
    error = error_of(lambda: get(wrong, table, "k"))
    assert (error.get_http_status(), error.get_error_code(), error.get_error_message()) == (
        403,
        "OTSAuthFailed",
        "Signature mismatch.",
    )


def test_unknown_access_key_is_auth_failed(cloud):
    error = error_of(lambda: make_client(cloud, key_id="LTAIunknown").list_table())
    assert (error.get_http_status(), error.get_error_code()) == (403, "OTSAuthFailed")


def test_other_instance_name_is_auth_failed(cloud):
    error = error_of(lambda: make_client(cloud, instance="otherinst").list_table())
    assert (error.get_http_status(), error.get_error_code()) == (403, "OTSAuthFailed")


def test_valid_sts_token_reads_and_writes(cloud, client, new_table):
    table = new_table()
    issued = cloud.credentials.issue("acs:ram::1:role/svc", "fc", None, 3600)
    sts_client = make_client(
        cloud,
        issued.principal.access_key_id,
        issued.principal.access_key_secret,
        sts_token=issued.security_token,
    )
    put(sts_client, table, "k", a=1)
    assert columns(get(sts_client, table, "k")) == {"a": 1}


def test_expired_sts_token_is_auth_failed(cloud, new_table):
    table = new_table()
    issued = cloud.credentials.issue("acs:ram::1:role/svc", "fc", None, 900)
    sts_client = make_client(
        cloud,
        issued.principal.access_key_id,
        issued.principal.access_key_secret,
        sts_token=issued.security_token,
    )
    cloud.clock.advance(901)
    error = error_of(lambda: get(sts_client, table, "k"))
    assert (error.get_http_status(), error.get_error_code()) == (403, "OTSAuthFailed")


def test_sts_key_with_a_wrong_token_is_auth_failed(cloud, new_table):
    table = new_table()
    issued = cloud.credentials.issue("acs:ram::1:role/svc", "fc", None, 3600)
    sts_client = make_client(
        cloud,
        issued.principal.access_key_id,
        issued.principal.access_key_secret,
        sts_token="CAISforged",
    )
    assert error_of(lambda: get(sts_client, table, "k")).get_error_code() == "OTSAuthFailed"


def test_sts_policy_without_the_table_is_no_permission(cloud, new_table):
    allowed, other = new_table(), new_table()
    a = cloud.account
    policy = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ots:GetRow", "ots:PutRow"],
                "Resource": [f"acs:ots:*:{a.account_id}:instance/{INSTANCE}/table/{allowed}"],
            }
        ],
    }
    issued = cloud.credentials.issue("acs:ram::1:role/svc", "fc", policy, 3600)
    sts_client = make_client(
        cloud,
        issued.principal.access_key_id,
        issued.principal.access_key_secret,
        sts_token=issued.security_token,
    )
    put(sts_client, allowed, "k", a=1)
    error = error_of(lambda: put(sts_client, other, "k", a=1))
    assert (error.get_http_status(), error.get_error_code()) == (403, "OTSNoPermissionAccess")


def test_v4_signed_requests_are_accepted(cloud, client, new_table):
    table = new_table()
    put(client, table, "k", a=1)
    v4_client = make_client(cloud, region=cloud.account.region)
    assert columns(get(v4_client, table, "k")) == {"a": 1}


# -- search indexes and everything else not emulated -------------------------------------------
def test_list_search_index_answers_no_index(client, new_table):
    assert client.list_search_index(new_table()) == []


KEYWORD_INDEX = SearchIndexMeta([FieldSchema("a", FieldType.KEYWORD)])


@pytest.mark.parametrize(
    "call, api",
    [
        (lambda c, t: c.create_search_index(t, "idx", KEYWORD_INDEX), "CreateSearchIndex"),
        (lambda c, t: c.describe_search_index(t, "idx"), "DescribeSearchIndex"),
        (lambda c, t: c.start_local_transaction(t, [("pk", "k")]), "StartLocalTransaction"),
    ],
    ids=["CreateSearchIndex", "DescribeSearchIndex", "StartLocalTransaction"],
)
def test_api_outside_the_emulated_set_is_unsupport_operation(client, new_table, call, api):
    table = new_table()
    error = error_of(lambda: call(client, table))
    assert (error.get_http_status(), error.get_error_code(), error.get_error_message()) == (
        400,
        "OTSUnsupportOperation",
        f"Unsupported operation: '{api}'.",
    )


# -- faults ------------------------------------------------------------------------------------
def test_fault_kinds_are_the_common_four_and_busy_and_internal_error():
    assert set(FAULT_KINDS) == {"down", "slow", "timeout", "lost_reply", "busy", "internal_error"}


def test_server_busy_fault_answers_503_and_writes_nothing(client, new_table, faults):
    table = new_table()
    faults.set(Fault("tablestore", "server_busy", api="PutRow"))
    error = error_of(lambda: put(client, table, "k", a=1))
    assert (error.get_http_status(), error.get_error_code()) == (503, "OTSServerBusy")
    faults.clear()
    assert get(client, table, "k") is None


def test_internal_error_fault_answers_500(client, new_table, faults):
    table = new_table()
    faults.set(Fault("tablestore", "internal_error", api="GetRow"))
    error = error_of(lambda: get(client, table, "k"))
    assert (error.get_http_status(), error.get_error_code()) == (500, "OTSInternalServerError")


def test_timeout_fault_hangs_up_after_the_delay_and_writes_nothing(client, new_table, faults):
    table = new_table()
    faults.set(Fault("tablestore", "timeout", api="PutRow", seconds=0.2))
    with pytest.raises(urllib3.exceptions.HTTPError):
        put(client, table, "k", a=1)
    faults.clear()
    assert get(client, table, "k") is None


def test_lost_reply_fault_applies_the_write_then_hangs_up(client, new_table, faults):
    table = new_table()
    faults.set(Fault("tablestore", "lost_reply", api="PutRow"))
    with pytest.raises(urllib3.exceptions.HTTPError):
        put(client, table, "k", a=1)
    faults.clear()
    assert columns(get(client, table, "k")) == {"a": 1}


def test_down_fault_hangs_up_at_once(client, faults):
    faults.set(Fault("tablestore", "down"))
    with pytest.raises(urllib3.exceptions.HTTPError):
        client.list_table()


def test_fault_on_one_api_leaves_the_others_alone(client, new_table, faults):
    table = new_table()
    faults.set(Fault("tablestore", "server_busy", api="DeleteRow"))
    put(client, table, "k", a=1)
    assert columns(get(client, table, "k")) == {"a": 1}


# -- persistence -------------------------------------------------------------------------------
def test_rows_survive_an_emulator_restart(cloud, client, new_table):
    table = new_table()
    put(client, table, "k", a="kept")
    restarted = TablestoreEmulator(
        db_path=cloud.db_path,
        account=cloud.account,
        credentials=cloud.credentials,
        clock=cloud.clock,
        faults=FaultBoard(),
        instance_name=INSTANCE,
    )
    server = HttpServer(restarted.app).start()
    try:
        fresh = OTSClient(
            server.url,
            cloud.account.access_key_id,
            cloud.account.access_key_secret,
            INSTANCE,
            retry_policy=NoRetryPolicy(),
        )
        assert columns(get(fresh, table, "k")) == {"a": "kept"}
        assert table in fresh.list_table()
    finally:
        server.stop()

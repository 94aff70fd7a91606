"""Contract tests of the adapters (`miniapp.adapters`): each port implemented with its real SDK,
driven against the local cloud's emulators on ephemeral ports.

What they pin down: the happy path of every method, the translation of every vendor failure into
`miniapp.errors`, the bounded and idempotency-aware Tablestore retries, and the atomic guards
(the 2020 rows' count, idempotency claims, rate limits) under concurrency. Keys, account and app
id are made up at run time.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from localcloud.account import Account
from localcloud.alipay import AlipayEmulator
from localcloud.clock import ShiftableClock
from localcloud.credentials import CredentialBook
from localcloud.faults import Fault, FaultBoard
from localcloud.httpshell import HttpServer
from localcloud.sls import LogServiceEmulator
from localcloud.sts import RoleSpec, StsEmulator
from localcloud.tablestore import TableSpec, TablestoreEmulator
from miniapp.adapters.alipay import AlipayIdentityProvider
from miniapp.adapters.clock import SystemClock
from miniapp.adapters.sts import StsCredentialIssuer
from miniapp.adapters.tablestore import (
    BoundedRetryPolicy,
    TablestoreIdempotency,
    TablestoreItems,
    TablestoreRateLimiter,
    TablestoreSessionItems,
    TablestoreSessions,
    TablestoreUserData,
    TallyRows,
    counted_rows,
    guard_key,
    make_client,
)
from miniapp.domain.compat import row_to_compat
from miniapp.domain.records import (
    COMPAT_SCOPE,
    FirstRead,
    Paired,
    ReadAhead,
    Row,
    SessionRecord,
    Tally,
)
from miniapp.errors import (
    Conflict,
    Internal,
    InvalidAuthCode,
    NotFound,
    QuotaExceeded,
    RateLimited,
    SessionNotFound,
    UpstreamUnavailable,
)

MAX_RETRY_SECONDS = 1.5


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


def _alipay_user() -> str:
    return "2088" + _digits(12)


class LocalCloud:
    """The emulators this file needs, each on its own HttpServer, sharing one account."""

    def __init__(self, tmp: Path) -> None:
        alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        self.account = Account(
            account_id="1" + _digits(15),
            region="cn-hangzhou",
            access_key_id="LTAI" + "".join(secrets.choice(alnum) for _ in range(20)),
            access_key_secret="".join(secrets.choice(alnum) for _ in range(30)),
        )
        self.clock = ShiftableClock()
        self.faults = FaultBoard(seed=20240521)  # seeded: "half the requests" is reproducible
        self.credentials = CredentialBook(self.account, tmp / "credentials.db", self.clock)
        self.app_id = "9" + _digits(15)
        self.alipay = AlipayEmulator(
            db_path=tmp / "alipay.db",
            keys_dir=tmp / "keys",
            clock=self.clock,
            faults=self.faults,
            app_id=self.app_id,
        )
        self.function_role = f"acs:ram::{self.account.account_id}:role/miniapp-fc"
        self.client_role = f"acs:ram::{self.account.account_id}:role/miniapp-client"
        self.sts = StsEmulator(
            account=self.account,
            credentials=self.credentials,
            clock=self.clock,
            faults=self.faults,
            roles={
                "miniapp-fc": RoleSpec("miniapp-fc", self.function_role),
                "miniapp-client": RoleSpec("miniapp-client", self.client_role),
            },
        )
        self.tablestore = TablestoreEmulator(
            db_path=tmp / "ots.db",
            account=self.account,
            credentials=self.credentials,
            clock=self.clock,
            faults=self.faults,
            instance_name="miniapp",
        )
        for spec in (
            TableSpec("session", (("id", "STRING"),), ttl_seconds=8 * 86400),
            TableSpec("todo", (("uid", "STRING"), ("id", "STRING"))),
            TableSpec("guard", (("key", "STRING"),), ttl_seconds=86400),
            TableSpec("usage", (("key", "STRING"),)),
            TableSpec("user_data", (("uid", "STRING"), ("id", "STRING"))),
        ):
            self.tablestore.ensure_table(spec)
        self.sls = LogServiceEmulator(
            db_path=tmp / "sls.db",
            account=self.account,
            credentials=self.credentials,
            clock=self.clock,
            faults=self.faults,
        )
        self.sls.ensure_logstore("miniapp-logs", "requests")
        self.servers = {
            name: HttpServer(app).start()
            for name, app in (
                ("alipay", self.alipay.app),
                ("sts", self.sts.app),
                ("tablestore", self.tablestore.app),
                ("sls", self.sls.app),
            )
        }

    def url(self, service: str) -> str:
        return self.servers[service].url

    def function_credentials(self) -> tuple[str, str, str]:
        """What FC hands a function: STS credentials of its service role."""
        issued = self.sts.assume_role(self.function_role, "fc-session", None, 3600)
        return (
            issued.principal.access_key_id,
            issued.principal.access_key_secret,
            issued.security_token,
        )

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    local = LocalCloud(tmp_path_factory.mktemp("adapters"))
    yield local
    local.stop()


@pytest.fixture(autouse=True)
def no_faults_left(cloud: LocalCloud) -> Iterator[None]:
    yield
    cloud.faults.clear()


# -- Alipay --------------------------------------------------------------------------------------


def _identity(
    cloud: LocalCloud,
    *,
    private_key: str | None = None,
    public_key: str | None = None,
    timeout: float = 3.0,
) -> AlipayIdentityProvider:
    keys = cloud.alipay.keys
    return AlipayIdentityProvider(
        cloud.app_id,
        private_key or keys.app_private_key_file.read_text(),
        public_key or keys.alipay_public_key_file.read_text(),
        cloud.url("alipay") + "/gateway.do",
        timeout,
    )


def _auth_code(cloud: LocalCloud, user_id: str) -> str:
    request = urllib.request.Request(
        cloud.url("alipay") + "/sandbox/auth_code",
        data=json.dumps({"user_id": user_id}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(json.loads(response.read())["authCode"])


def _bare_base64(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def test_alipay_exchange_returns_the_users_grant(cloud: LocalCloud) -> None:
    user = _alipay_user()
    grant = _identity(cloud).exchange_auth_code(_auth_code(cloud, user))
    assert grant.user_id == user
    assert grant.access_token and grant.refresh_token and grant.access_token != grant.refresh_token
    assert grant.expires_in > 0 and grant.re_expires_in > 0


def test_alipay_replayed_code_is_invalid_auth_code(cloud: LocalCloud) -> None:
    identity = _identity(cloud)
    code = _auth_code(cloud, _alipay_user())
    identity.exchange_auth_code(code)
    with pytest.raises(InvalidAuthCode):
        identity.exchange_auth_code(code)


def test_alipay_unknown_code_is_invalid_auth_code(cloud: LocalCloud) -> None:
    with pytest.raises(InvalidAuthCode):
        _identity(cloud).exchange_auth_code(secrets.token_hex(16))


def test_alipay_keys_as_bare_base64_work(cloud: LocalCloud) -> None:
    keys = cloud.alipay.keys
    identity = _identity(
        cloud,
        private_key=_bare_base64(keys.app_private_key_file.read_text()),
        public_key=_bare_base64(keys.alipay_public_key_file.read_text()),
    )
    user = _alipay_user()
    assert identity.exchange_auth_code(_auth_code(cloud, user)).user_id == user


def test_alipay_key_that_is_no_key_is_a_configuration_error(cloud: LocalCloud) -> None:
    with pytest.raises(Internal) as raised:
        _identity(cloud, private_key="bm90IGEga2V5")
    assert "bm90IGEga2V5" not in raised.value.message


def test_alipay_bad_signature_is_upstream_unavailable(cloud: LocalCloud) -> None:
    code = _auth_code(cloud, _alipay_user())
    cloud.faults.set(Fault("alipay", "bad_signature"))
    with pytest.raises(UpstreamUnavailable):
        _identity(cloud).exchange_auth_code(code)


def test_alipay_reply_signed_by_another_key_is_upstream_unavailable(cloud: LocalCloud) -> None:
    # The app's own public key stands in for a wrong Alipay public key.
    identity = _identity(cloud, public_key=cloud.alipay.keys.app_public_key_file.read_text())
    with pytest.raises(UpstreamUnavailable):
        identity.exchange_auth_code(_auth_code(cloud, _alipay_user()))


def test_alipay_system_error_is_upstream_unavailable(cloud: LocalCloud) -> None:
    cloud.faults.set(Fault("alipay", "error_response"))
    with pytest.raises(UpstreamUnavailable) as raised:
        _identity(cloud).exchange_auth_code(_auth_code(cloud, _alipay_user()))
    assert "isp.unknow-error" in raised.value.message


def test_alipay_gateway_down_is_upstream_unavailable(cloud: LocalCloud) -> None:
    cloud.faults.set(Fault("alipay", "down"))
    with pytest.raises(UpstreamUnavailable):
        _identity(cloud).exchange_auth_code(_auth_code(cloud, _alipay_user()))


def test_alipay_slower_than_the_timeout_is_upstream_unavailable(cloud: LocalCloud) -> None:
    cloud.faults.set(Fault("alipay", "slow", seconds=1.5))
    with pytest.raises(UpstreamUnavailable):
        _identity(cloud, timeout=0.3).exchange_auth_code(_auth_code(cloud, _alipay_user()))


# -- STS -----------------------------------------------------------------------------------------

POLICY = {
    "Version": "1",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["fc:InvokeFunction"],
            "Resource": ["acs:fc:*:*:services/s/functions/db"],
        }
    ],
}


def _issuer(
    cloud: LocalCloud,
    *,
    role_arn: str | None = None,
    credentials: tuple[str, str, str] | None = None,
) -> StsCredentialIssuer:
    key_id, secret, token = credentials or cloud.function_credentials()
    return StsCredentialIssuer(
        cloud.url("sts"),
        cloud.account.region,
        key_id,
        secret,
        token,
        role_arn or cloud.client_role,
        3.0,
    )


def test_sts_issue_returns_credentials_bound_to_the_policy(cloud: LocalCloud) -> None:
    creds = _issuer(cloud).issue("miniapp-user-1", POLICY, 900)
    assert creds.expiration.endswith("Z")
    principal = cloud.credentials.resolve(creds.access_key_id, creds.security_token)
    assert principal.role_arn == cloud.client_role
    assert principal.session_name == "miniapp-user-1"
    assert principal.policy == POLICY


def test_sts_refusal_is_upstream_unavailable_with_the_code(cloud: LocalCloud) -> None:
    cloud.faults.set(Fault("sts", "refuse"))
    with pytest.raises(UpstreamUnavailable) as raised:
        _issuer(cloud).issue("miniapp-user-1", POLICY, 900)
    assert "NoPermission" in raised.value.message


def test_sts_unknown_role_is_upstream_unavailable(cloud: LocalCloud) -> None:
    arn = f"acs:ram::{cloud.account.account_id}:role/nobody"
    with pytest.raises(UpstreamUnavailable) as raised:
        _issuer(cloud, role_arn=arn).issue("miniapp-user-1", POLICY, 900)
    assert "EntityNotExist.Role" in raised.value.message


def test_sts_wrong_secret_is_upstream_unavailable_without_the_secret(cloud: LocalCloud) -> None:
    key_id, _, token = cloud.function_credentials()
    wrong = secrets.token_urlsafe(30)
    with pytest.raises(UpstreamUnavailable) as raised:
        _issuer(cloud, credentials=(key_id, wrong, token)).issue("miniapp-user-1", POLICY, 900)
    assert wrong not in raised.value.message and token not in raised.value.message


def test_sts_unreachable_is_upstream_unavailable(cloud: LocalCloud) -> None:
    cloud.faults.set(Fault("sts", "unreachable"))
    with pytest.raises(UpstreamUnavailable):
        _issuer(cloud).issue("miniapp-user-1", POLICY, 900)


# -- Tablestore: client and retries --------------------------------------------------------------


class RecordingPolicy(BoundedRetryPolicy):
    """The real policy, remembering the sleeps it asked the SDK for."""

    def __init__(self, max_retry_seconds: float) -> None:
        super().__init__(max_retry_seconds)
        self.delays: list[float] = []

    def get_retry_delay(self, retry_times: int, exception: Any, api_name: str) -> float:
        delay = super().get_retry_delay(retry_times, exception, api_name)
        self.delays.append(delay)
        return delay


def _ots(cloud: LocalCloud, policy: BoundedRetryPolicy | None = None) -> Any:
    client = make_client(
        cloud.url("tablestore"),
        "miniapp",
        cloud.account.access_key_id,
        cloud.account.access_key_secret,
        None,
        max_retry_seconds=MAX_RETRY_SECONDS,
        socket_timeout_seconds=2.0,
    )
    if policy is not None:
        client.retry_policy = policy
    return client


@pytest.fixture(scope="module")
def ots(cloud: LocalCloud) -> Any:
    return _ots(cloud)


def _user() -> str:
    return "2088" + _digits(12)


def test_tablestore_works_with_the_functions_sts_credentials(cloud: LocalCloud) -> None:
    key_id, secret, token = cloud.function_credentials()
    client = make_client(
        cloud.url("tablestore"),
        "miniapp",
        key_id,
        secret,
        token,
        max_retry_seconds=MAX_RETRY_SECONDS,
    )
    items = TablestoreItems(client, "todo")
    user = _user()
    items.put(Row(user, "a", {"text": "hello"}))
    assert items.get(user, "a") == Row(user, "a", {"text": "hello"})


def test_throttling_on_half_the_requests_is_retried_to_success(cloud: LocalCloud) -> None:
    # Short sleeps and many retries, so that no operation here runs out of them (0.5 ** 21).
    policy = BoundedRetryPolicy(10.0, base_delay=0.005, max_delay=0.05, max_retries=20)
    items = TablestoreItems(_ots(cloud, policy), "todo")
    user = _user()
    before = cloud.faults.injected["tablestore:busy"]
    cloud.faults.set(Fault("tablestore", "server_busy", share=0.5))
    for n in range(8):
        items.put(Row(user, f"item-{n}", {"n": n}), must_not_exist=True)
    assert [row.item_id for row in items.page(user, None, 100).rows] == [
        f"item-{n}" for n in range(8)
    ]
    assert cloud.faults.injected["tablestore:busy"] > before


def test_throttling_that_persists_is_upstream_unavailable_within_the_bound(
    cloud: LocalCloud,
) -> None:
    policy = RecordingPolicy(MAX_RETRY_SECONDS)
    items = TablestoreItems(_ots(cloud, policy), "todo")
    cloud.faults.set(Fault("tablestore", "server_busy"))
    with pytest.raises(UpstreamUnavailable) as raised:
        items.put(Row(_user(), "x", {"n": 1}))
    assert "OTSServerBusy" in raised.value.message
    assert len(policy.delays) >= 2  # it did retry
    assert sum(policy.delays) <= MAX_RETRY_SECONDS  # and slept no longer than the bound


def test_unknown_outcome_resends_an_idempotent_write(cloud: LocalCloud, ots: Any) -> None:
    before = cloud.faults.injected["tablestore:internal_error"]
    cloud.faults.set(Fault("tablestore", "internal_error", api="PutRow"))
    with pytest.raises(UpstreamUnavailable):
        TablestoreItems(ots, "todo").put(Row(_user(), "x", {"n": 1}))
    assert cloud.faults.injected["tablestore:internal_error"] - before >= 2


def test_unknown_outcome_never_resends_an_increment(cloud: LocalCloud, ots: Any) -> None:
    before = cloud.faults.injected["tablestore:internal_error"]
    cloud.faults.set(Fault("tablestore", "internal_error", api="UpdateRow"))
    with pytest.raises(UpstreamUnavailable):
        _counted(ots).reserve(_user(), COMPAT_SCOPE, 10, "m1", 1)
    assert cloud.faults.injected["tablestore:internal_error"] - before == 1


def test_tablestore_down_is_upstream_unavailable(cloud: LocalCloud, ots: Any) -> None:
    cloud.faults.set(Fault("tablestore", "down"))
    with pytest.raises(UpstreamUnavailable):
        TablestoreItems(ots, "todo").get(_user(), "x")


def test_missing_table_is_internal(ots: Any) -> None:
    with pytest.raises(Internal):
        TablestoreItems(ots, "no_such_table").get(_user(), "x")


# -- Tablestore: sessions ------------------------------------------------------------------------


def _session(key: str | None = None) -> SessionRecord:
    return SessionRecord(
        key=key or secrets.token_hex(32),
        user_id=_user(),
        created_at_ms=1_700_000_000_000,
        last_seen_ms=1_700_000_000_000,
        expires_at_ms=1_700_604_800_000,
        access_token_enc=secrets.token_bytes(40) + b"\x00\xff",
        refresh_token_enc=secrets.token_bytes(40),
    )


def test_session_created_reads_back_byte_for_byte(ots: Any) -> None:
    sessions = TablestoreSessions(ots, "session")
    record = _session()
    sessions.create(record)
    assert sessions.get(record.key) == record


def test_session_create_never_overwrites(ots: Any) -> None:
    sessions = TablestoreSessions(ots, "session")
    record = _session()
    sessions.create(record)
    with pytest.raises(Conflict):
        sessions.create(_session(record.key))
    assert sessions.get(record.key) == record


def test_session_touch_records_activity(ots: Any) -> None:
    sessions = TablestoreSessions(ots, "session")
    record = _session()
    sessions.create(record)
    sessions.touch(record.key, record.last_seen_ms + 60_000)
    stored = sessions.get(record.key)
    assert stored is not None and stored.last_seen_ms == record.last_seen_ms + 60_000


def test_session_touch_of_a_missing_session_is_session_not_found(ots: Any) -> None:
    with pytest.raises(SessionNotFound):
        TablestoreSessions(ots, "session").touch(secrets.token_hex(32), 1)


def test_session_delete_answers_whether_it_existed(ots: Any) -> None:
    sessions = TablestoreSessions(ots, "session")
    record = _session()
    sessions.create(record)
    assert sessions.delete(record.key) is True
    assert sessions.get(record.key) is None
    assert sessions.delete(record.key) is False


# -- Tablestore: items ---------------------------------------------------------------------------


def test_item_columns_keep_their_types(ots: Any) -> None:
    items = TablestoreItems(ots, "todo")
    row = Row(_user(), "t1", {"text": "买牛奶 🥛", "done": False, "count": 3, "score": 2.5})
    items.put(row)
    stored = items.get(row.user_id, "t1")
    assert stored == row
    assert type(stored.columns["done"]) is bool and type(stored.columns["count"]) is int


def test_item_put_replaces_the_whole_row(ots: Any) -> None:
    items = TablestoreItems(ots, "todo")
    user = _user()
    items.put(Row(user, "t1", {"a": "1", "b": "2"}))
    items.put(Row(user, "t1", {"a": "3"}))
    assert items.get(user, "t1") == Row(user, "t1", {"a": "3"})


def test_item_put_must_not_exist_is_conflict_on_an_existing_id(ots: Any) -> None:
    items = TablestoreItems(ots, "todo")
    user = _user()
    items.put(Row(user, "t1", {"text": "first"}), must_not_exist=True)
    with pytest.raises(Conflict):
        items.put(Row(user, "t1", {"text": "second"}), must_not_exist=True)
    assert items.get(user, "t1") == Row(user, "t1", {"text": "first"})


def test_item_replace_if_version_applies_on_the_expected_version(ots: Any) -> None:
    items = TablestoreItems(ots, "todo")
    user = _user()
    items.put(Row(user, "t1", {"text": "a", "version": 1}))
    items.replace_if_version(Row(user, "t1", {"text": "b", "version": 2}), 1)
    assert items.get(user, "t1") == Row(user, "t1", {"text": "b", "version": 2})


def test_item_replace_if_version_is_conflict_on_a_stale_version(ots: Any) -> None:
    items = TablestoreItems(ots, "todo")
    user = _user()
    items.put(Row(user, "t1", {"text": "a", "version": 2}))
    with pytest.raises(Conflict):
        items.replace_if_version(Row(user, "t1", {"text": "b", "version": 2}), 1)
    assert items.get(user, "t1") == Row(user, "t1", {"text": "a", "version": 2})


def test_item_replace_if_version_is_not_found_without_a_row(ots: Any) -> None:
    with pytest.raises(NotFound):
        TablestoreItems(ots, "todo").replace_if_version(Row(_user(), "t1", {"version": 2}), 1)


def test_concurrent_replaces_of_one_version_have_one_winner(ots: Any) -> None:
    items = TablestoreItems(ots, "todo")
    user = _user()
    items.put(Row(user, "t1", {"text": "start", "version": 1}))

    def replace(n: int) -> str:
        try:
            items.replace_if_version(Row(user, "t1", {"text": f"writer {n}", "version": 2}), 1)
            return f"writer {n}"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(replace, range(20)))
    winners = [o for o in outcomes if o != "conflict"]
    assert len(winners) == 1
    assert items.get(user, "t1") == Row(user, "t1", {"text": winners[0], "version": 2})


def test_item_delete_answers_whether_it_existed(ots: Any) -> None:
    items = TablestoreItems(ots, "todo")
    user = _user()
    items.put(Row(user, "t1", {"text": "a"}))
    assert items.delete(user, "t1") is True
    assert items.get(user, "t1") is None
    assert items.delete(user, "t1") is False


def test_pages_cover_all_rows_in_order_once(ots: Any) -> None:
    items = TablestoreItems(ots, "todo")
    user = _user()
    ids = [f"{n:03d}" for n in range(25)]
    for item_id in reversed(ids):
        items.put(Row(user, item_id, {"n": int(item_id)}))
    seen: list[str] = []
    start: str | None = None
    pages = 0
    while True:
        page = items.page(user, start, 10)
        pages += 1
        assert len(page.rows) <= 10
        seen.extend(row.item_id for row in page.rows)
        if page.next_start is None:
            break
        start = page.next_start
    assert seen == ids
    assert pages == 3


def test_pages_never_leave_the_users_partition(ots: Any) -> None:
    items = TablestoreItems(ots, "todo")
    user = _user()
    # Neighbours on both sides of the partition in key order, and a prefix-sharing user id.
    for other in (user[:-1], user + "0", user + "#", user[:-1] + "9"):
        items.put(Row(other, "m", {"text": "not yours"}))
    items.put(Row(user, "m", {"text": "mine"}))
    page = items.page(user, None, 100)
    assert [(row.user_id, row.item_id) for row in page.rows] == [(user, "m")]
    assert page.next_start is None
    assert items.page(user, "m", 100).rows == ()


class _CountedRanges:
    """The SDK client, counting its GetRange requests."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.ranges = 0

    def get_range(self, *args: Any, **kwargs: Any) -> Any:
        self.ranges += 1
        return self._client.get_range(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_all_pages_are_the_services_own_pages_of_the_users_rows(ots: Any) -> None:
    from tablestore import BatchWriteRowRequest, PutRowItem, TableInBatchWriteRowItem
    from tablestore import Condition as SdkCondition
    from tablestore import Row as SdkRow

    counted = _CountedRanges(ots)
    items = TablestoreItems(counted, "todo")
    user = _user()
    for other in (user[:-1], user + "0"):
        items.put(Row(other, "m", {"text": "not yours"}))
    ids = [f"r{n:05d}" for n in range(5001)]
    for at in range(0, len(ids), 200):
        request = BatchWriteRowRequest()
        request.add(
            TableInBatchWriteRowItem(
                "todo",
                [
                    PutRowItem(
                        SdkRow([("uid", user), ("id", i)], [("n", n)]), SdkCondition("IGNORE")
                    )
                    for n, i in enumerate(ids[at : at + 200], start=at)
                ],
            )
        )
        assert ots.batch_write_row(request).is_all_succeed()
    # A BINARY value (no 2020 client writes one) reads as text.
    ots.put_row(
        "todo",
        SdkRow([("uid", user), ("id", ids[-1])], [("b", bytearray(b"bin"))]),
        SdkCondition("IGNORE"),
    )
    pages = list(items.pages(user))
    assert [len(page) for page in pages] == [5000, 1] and counted.ranges == 2
    rows = [row for page in pages for row in page]
    assert [row.item_id for row in rows] == ids and {row.user_id for row in rows} == {user}
    assert rows[0].columns == {"n": 0} and rows[-1].columns == {"b": "bin"}
    assert list(TablestoreItems(ots, "todo").pages(_user())) == [()]  # one request, no rows
    # The 2020 answer's objects, built without the Rows: the same pages, requests and objects.
    counted.ranges = 0
    objects = list(items.compat_pages(user))
    assert counted.ranges == 2
    assert objects == [[row_to_compat(row) for row in page] for page in pages]
    assert objects[0][0] == {"id": ids[0], "n": 0} and objects[-1] == [{"id": ids[-1], "b": "bin"}]
    assert list(TablestoreItems(ots, "todo").compat_pages(_user())) == [[]]


@pytest.mark.parametrize(
    "key",
    [
        [("uid", "2088000000000002"), ("id", "a")],  # another user's row
        [("uid", "2088000000000001"), ("name", "a")],  # another table's key
        [("uid", "2088000000000001"), ("id", 7)],
        [("uid", "2088000000000001")],
    ],
)
def test_a_row_outside_the_users_partition_is_never_handed_out(key: list[Any]) -> None:
    from tablestore import Row as SdkRow

    from miniapp.adapters.tablestore.items import compat_objects_from_sdk, row_from_sdk

    mine = SdkRow([("uid", "2088000000000001"), ("id", "a")], [("n", 1, 1)])
    stray = SdkRow(key, [("n", 1, 1)])
    assert compat_objects_from_sdk("2088000000000001", [mine]) == [{"id": "a", "n": 1}]
    with pytest.raises(Internal):
        row_from_sdk("2088000000000001", stray)
    with pytest.raises(Internal):
        compat_objects_from_sdk("2088000000000001", [mine, stray])


# -- Tablestore: usage, idempotency, rate limits -------------------------------------------------

SCOPES = ("todos", COMPAT_SCOPE)  # a collection's tally, and the 2020 rows'


def _counted(ots: Any, user: str | None = None, scope: str = COMPAT_SCOPE) -> TallyRows:
    counted = counted_rows(ots, "user_data", "usage", "todo")
    if user is not None:
        counted.create_tally(user, scope, 0)
    return counted


@pytest.mark.parametrize("scope", SCOPES)
def test_count_reserve_stops_at_the_limit_and_settle_gives_back(ots: Any, scope: str) -> None:
    user = _user()
    counted = _counted(ots, user, scope)
    for n in range(3):
        counted.reserve(user, scope, 3, f"m{n}", 1000 + n)
    with pytest.raises(QuotaExceeded):
        counted.reserve(user, scope, 3, "m3", 1003)
    tally = counted.tally(user, scope)
    assert tally is not None and (tally.count, dict(tally.markers)) == (
        3,
        {"m0": 1000, "m1": 1001, "m2": 1002},
    )
    counted.settle(user, scope, "m0", -1)
    counted.settle(user, scope, "m1", 0)
    counted.reserve(user, scope, 3, "m4", 1004)
    tally = counted.tally(user, scope)
    assert tally is not None and (tally.count, sorted(tally.markers)) == (3, ["m2", "m4"])


@pytest.mark.parametrize("scope", SCOPES)
def test_count_without_a_tally_is_not_found(ots: Any, scope: str) -> None:
    counted = _counted(ots)
    with pytest.raises(NotFound):
        counted.reserve(_user(), scope, 3, "m", 1)
    with pytest.raises(NotFound):
        counted.mark(_user(), scope, "m", 1)


def test_count_counts_the_users_2020_rows_only(ots: Any) -> None:
    items, user = TablestoreItems(ots, "todo"), _user()
    for n in range(3):
        items.put(Row(user, f"r{n}", {"n": n}))
    items.put(Row(_user(), "r0", {"n": 0}))
    assert _counted(ots).count(user, COMPAT_SCOPE) == 3


def test_count_counts_the_users_items_of_the_collection_only(ots: Any) -> None:
    rows, user = TablestoreUserData(ots, "user_data"), _user()
    for n in range(3):
        rows.put_new(Row(user, f"i{n}", {"text": "a"}), "todos")
    rows.put_new(Row(user, "i0", {"text": "a"}), "notes")
    rows.put_new(Row(_user(), "i0", {"text": "a"}), "todos")
    counted = _counted(ots, user, "todos")  # the tally row is not counted
    assert counted.count(user, "todos") == 3


@pytest.mark.parametrize("scope", SCOPES)
def test_count_reset_applies_on_the_revision_it_read_only(ots: Any, scope: str) -> None:
    user = _user()
    counted = _counted(ots, user, scope)
    counted.reserve(user, scope, 10, "lost", 5)
    seen = counted.tally(user, scope)
    assert seen is not None
    counted.mark(user, scope, "other", 6)  # a write in between: the reset must give up
    assert counted.reset(seen, 0) is False
    seen = counted.tally(user, scope)
    assert seen is not None and counted.reset(seen, 0) is True
    after = counted.tally(user, scope)
    assert after is not None and (after.count, dict(after.markers)) == (0, {})


def test_a_counter_from_before_tallies_reads_untrusted_and_is_reset(ots: Any) -> None:
    from tablestore import Condition, RowExistenceExpectation
    from tablestore import Row as SdkRow

    user = _user()
    ots.put_row(
        "usage",
        SdkRow([("key", guard_key("usage", user))], [("count", 7)]),
        Condition(RowExistenceExpectation.IGNORE),
    )
    counted = _counted(ots)
    seen = counted.tally(user, COMPAT_SCOPE)
    assert seen is not None and (seen.count, seen.revision) == (-1, 0)
    assert counted.reset(seen, 2) is True
    after = counted.tally(user, COMPAT_SCOPE)
    assert after is not None and (after.count, after.revision) == (2, 1)


@pytest.mark.parametrize("scope", SCOPES)
def test_count_under_twenty_threads_never_passes_the_limit(ots: Any, scope: str) -> None:
    user = _user()
    counted = _counted(ots, user, scope)

    def reserve(n: int) -> bool:
        try:
            counted.reserve(user, scope, 5, f"m{n}", n)
            return True
        except QuotaExceeded:
            return False

    with ThreadPoolExecutor(max_workers=20) as pool:
        granted = sum(pool.map(reserve, range(40)))
    assert granted == 5


# -- a write and its tally in one BatchWriteRow; the session and the tally in one BatchGetRow ----
LOST_ONCE_SEED = 1  # with share 0.5: the first request is hit, the re-send is not


def _lose_first_reply(cloud: LocalCloud, api: str) -> int:
    cloud.faults.reseed(LOST_ONCE_SEED)
    cloud.faults.set(Fault("tablestore", "lost_reply", api=api, share=0.5))
    return cloud.faults.injected["tablestore:lost_reply"]


def test_an_item_put_and_its_settle_go_in_one_request(cloud: LocalCloud, ots: Any) -> None:
    rows, user = TablestoreUserData(ots, "user_data"), _user()
    counted = _counted(ots, user, "todos")
    counted.reserve(user, "todos", 5, "m1", 1)
    assert counted.put_new_settling(Row(user, "i1", {"text": "a"}), "todos", "m1") == Paired(
        True, True
    )
    assert counted.tally(user, "todos") == Tally(user, "todos", 1, 1, {})
    # The first answer is lost and the batch re-sent: the put finds its own row, written.
    counted.reserve(user, "todos", 5, "m2", 2)
    before = _lose_first_reply(cloud, "BatchWriteRow")
    assert counted.put_new_settling(Row(user, "i2", {"text": "b"}), "todos", "m2") == Paired(
        True, True
    )
    assert cloud.faults.injected["tablestore:lost_reply"] == before + 1
    cloud.faults.clear()
    # Another row at that id: the put's row fails alone.
    done = counted.put_new_settling(Row(user, "i2", {"text": "c"}), "todos", "m3")
    assert isinstance(done.item, Conflict) and done.tally
    assert rows.get(user, "todos", "i2") == Row(user, "i2", {"text": "b"})
    assert counted.tally(user, "todos") == Tally(user, "todos", 2, 2, {})


def test_a_mark_and_a_delete_go_in_one_request(cloud: LocalCloud, ots: Any) -> None:
    rows, user = TablestoreUserData(ots, "user_data"), _user()
    counted = _counted(ots)
    counted.create_tally(user, "todos", 2)
    for item_id in ("i1", "i2"):
        rows.put_new(Row(user, item_id, {"text": item_id}), "todos")
    assert counted.delete_marking(user, "todos", "i1", "m1", 10) == Paired(True, True)
    assert counted.tally(user, "todos") == Tally(user, "todos", 2, 1, {"m1": 10})
    assert counted.delete_marking(user, "todos", "i1", "m2", 11) == Paired(False, True)
    _lose_first_reply(cloud, "BatchWriteRow")
    # Re-sent after a lost answer: the row is gone, maybe by the first send.
    assert counted.delete_marking(user, "todos", "i2", "m3", 12) == Paired(None, True)
    assert rows.get(user, "todos", "i2") is None
    cloud.faults.clear()
    # Without a tally the mark fails alone and the delete is still applied.
    other = _user()
    rows.put_new(Row(other, "i3", {"text": "i3"}), "todos")
    assert counted.delete_marking(other, "todos", "i3", "m4", 13) == Paired(True, False)
    assert rows.get(other, "todos", "i3") is None


def test_a_2020_row_delete_and_its_mark_go_in_one_request(ots: Any) -> None:
    user = _user()
    counted, items = _counted(ots, user), TablestoreItems(ots, "todo")
    items.put(Row(user, "r1", {"n": 1}))
    assert counted.delete_marking(user, COMPAT_SCOPE, "r1", "m1", 10) == Paired(True, True)
    assert items.get(user, "r1") is None
    tally = counted.tally(user, COMPAT_SCOPE)
    assert tally is not None and dict(tally.markers) == {"m1": 10}


def test_the_session_is_read_with_the_first_reads_in_one_request(ots: Any) -> None:
    reader = TablestoreSessionItems(ots, "session", "user_data", "usage", "todo")
    record = _session()
    TablestoreSessions(ots, "session").create(record)
    user = record.user_id
    todo_tally, todo, row = (
        FirstRead("todos"),
        FirstRead("todos", "i1"),
        FirstRead(COMPAT_SCOPE, "r1"),
    )
    assert reader.session_and(record.key, user, (todo_tally, todo)) == (
        record,
        ReadAhead({"todos": None}, {("todos", "i1"): None}),
    )
    _counted(ots).create_tally(user, "todos", 1)
    TablestoreUserData(ots, "user_data").put_new(Row(user, "i1", {"text": "a"}), "todos")
    _counted(ots, user)
    TablestoreItems(ots, "todo").put(Row(user, "r1", {"n": 1}))
    # Three tables, the user_data one with two keys, and a read named twice: one request.
    assert reader.session_and(
        record.key, user, (todo_tally, todo, FirstRead(COMPAT_SCOPE), row, todo)
    ) == (
        record,
        ReadAhead(
            {"todos": Tally(user, "todos", 1, 0, {}), COMPAT_SCOPE: Tally(user, "2020", 0, 0, {})},
            {
                ("todos", "i1"): Row(user, "i1", {"text": "a"}),
                (COMPAT_SCOPE, "r1"): Row(user, "r1", {"n": 1}),
            },
        ),
    )
    assert reader.session_and("0" * 64, user, (FirstRead(COMPAT_SCOPE, "r2"),)) == (
        None,
        ReadAhead({}, {(COMPAT_SCOPE, "r2"): None}),
    )


def test_idempotency_claim_returns_the_first_id(ots: Any) -> None:
    claims = TablestoreIdempotency(ots, "guard")
    user = _user()
    assert claims.claim(user, "key-1", "item-a") == "item-a"
    assert claims.claim(user, "key-1", "item-b") == "item-a"
    assert claims.claim(user, "key-2", "item-c") == "item-c"


def test_idempotency_keys_are_per_user(ots: Any) -> None:
    claims = TablestoreIdempotency(ots, "guard")
    assert claims.claim(_user(), "same-key", "item-a") == "item-a"
    assert claims.claim(_user(), "same-key", "item-b") == "item-b"


def test_concurrent_claims_of_one_key_agree(ots: Any) -> None:
    claims = TablestoreIdempotency(ots, "guard")
    user = _user()
    with ThreadPoolExecutor(max_workers=10) as pool:
        bound = set(pool.map(lambda n: claims.claim(user, "k", f"item-{n}"), range(10)))
    assert len(bound) == 1


def test_guard_keys_cannot_be_forged_across_users() -> None:
    assert guard_key("idem", "a#1", "x") != guard_key("idem", "a", "1#x")
    assert guard_key("idem", "a", "1:x") != guard_key("idem", "a:1", "x")
    assert len(guard_key("idem", "u", "k" * 2000).encode()) <= 1024


class FixedClock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms_value = now_ms

    def now_ms(self) -> int:
        return self.now_ms_value


def test_rate_limiter_answers_rate_limited_with_the_rest_of_the_window(ots: Any) -> None:
    # 25 s into a 60 s window.
    clock = FixedClock((SystemClock().now_ms() // 60_000) * 60_000 + 25_000)
    limiter = TablestoreRateLimiter(ots, "guard", clock=clock)
    bucket = "ip:" + secrets.token_hex(4)
    for _ in range(3):
        limiter.hit(bucket, 3, 60)
    with pytest.raises(RateLimited) as raised:
        limiter.hit(bucket, 3, 60)
    assert raised.value.retry_after == 35
    limiter.hit("ip:" + secrets.token_hex(4), 3, 60)  # other buckets are not affected
    clock.now_ms_value += 35_000  # the next window starts afresh
    limiter.hit(bucket, 3, 60)


def test_rate_limiter_under_a_burst_lets_capacity_through(ots: Any) -> None:
    limiter = TablestoreRateLimiter(ots, "guard", clock=FixedClock(SystemClock().now_ms()))
    bucket = "user:" + secrets.token_hex(4)

    def hit(_: int) -> bool:
        try:
            limiter.hit(bucket, 4, 3600)
            return True
        except RateLimited:
            return False

    with ThreadPoolExecutor(max_workers=20) as pool:
        assert sum(pool.map(hit, range(30))) == 4


def test_system_clock_is_epoch_milliseconds() -> None:
    assert SystemClock().now_ms() > 1_600_000_000_000

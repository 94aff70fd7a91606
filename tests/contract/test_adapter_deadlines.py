"""The adapters against the emulators, inside an invocation's deadline (`miniapp.deadline`): each
call's timeout is cut to what is left, a call with nothing left is not sent, and Tablestore's
retries stop at the deadline however long their own budget is. Each slow fault here is one the
adapter waits out without a deadline (its own limit is longer), so only the deadline can have
cut it short."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_adapters import (
    POLICY,
    LocalCloud,
    _alipay_user,
    _auth_code,
    _identity,
    _issuer,
    _ots,
    _user,
)

from localcloud.faults import Fault
from miniapp import deadline
from miniapp.adapters.tablestore import BoundedRetryPolicy, TablestoreItems
from miniapp.domain.records import Row
from miniapp.errors import UpstreamUnavailable


@pytest.fixture(scope="module")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    local = LocalCloud(tmp_path_factory.mktemp("deadlines"))
    yield local
    local.stop()


@pytest.fixture
def cloud(emulators: LocalCloud) -> Iterator[LocalCloud]:
    yield emulators
    emulators.faults.clear()


# An invocation of this length leaves `LEFT` seconds once the default reserve is taken.
LEFT = 1.0
TIMEOUT = deadline.RESERVE_SECONDS + LEFT


def injected(cloud: LocalCloud) -> int:
    return sum(cloud.faults.injected.values())


def test_a_slow_alipay_is_waited_for_without_a_deadline(cloud: LocalCloud) -> None:
    cloud.faults.set(Fault("alipay", "slow", seconds=LEFT + 0.5))
    user = _alipay_user()
    assert _identity(cloud, timeout=5.0).exchange_auth_code(_auth_code(cloud, user)).user_id == user


def test_alipay_gets_only_what_is_left(cloud: LocalCloud) -> None:
    code = _auth_code(cloud, _alipay_user())
    cloud.faults.set(Fault("alipay", "slow", seconds=LEFT + 0.5))
    with deadline.invocation(TIMEOUT), pytest.raises(UpstreamUnavailable):
        _identity(cloud, timeout=5.0).exchange_auth_code(code)


def test_sts_gets_only_what_is_left(cloud: LocalCloud) -> None:
    cloud.faults.set(Fault("sts", "slow", seconds=LEFT + 0.5))
    issuer = _issuer(cloud)  # its own limit: 3 s
    issuer.issue("miniapp-user-1", POLICY, 900)  # waited out without a deadline
    with deadline.invocation(TIMEOUT), pytest.raises(UpstreamUnavailable):
        issuer.issue("miniapp-user-1", POLICY, 900)


def test_a_tablestore_call_gets_only_what_is_left(cloud: LocalCloud) -> None:
    # The emulator holds PutRow longer than what is left but less than the socket timeout (2 s).
    cloud.faults.set(Fault("tablestore", "timeout", api="PutRow", seconds=LEFT + 0.5))
    items = TablestoreItems(_ots(cloud), "todo")
    with deadline.invocation(TIMEOUT), pytest.raises(UpstreamUnavailable):
        items.put(Row(_user(), "a", {"n": 1}))


def test_tablestore_retries_stop_at_the_deadline_whatever_their_budget(cloud: LocalCloud) -> None:
    cloud.faults.set(Fault("tablestore", "server_busy", api="GetRow"))
    max_retries = 2000  # ~50 s of this back-off: what it would do without the deadline
    client = _ots(
        cloud, BoundedRetryPolicy(600.0, base_delay=0.05, max_delay=0.05, max_retries=max_retries)
    )
    before = injected(cloud)
    left = 3.0
    with deadline.invocation(deadline.RESERVE_SECONDS + left), pytest.raises(UpstreamUnavailable):
        TablestoreItems(client, "todo").get(_user(), "a")
    tries = injected(cloud) - before
    # Retried (more than one try), and stopped by the deadline, not by its own limits.
    assert 1 < tries < max_retries


def test_no_call_is_sent_with_no_time_left(cloud: LocalCloud) -> None:
    cloud.faults.set(Fault("tablestore", "internal_error"))  # counts every request it sees
    before = injected(cloud)
    with deadline.invocation(deadline.RESERVE_SECONDS), pytest.raises(UpstreamUnavailable):
        TablestoreItems(_ots(cloud), "todo").get(_user(), "a")
    assert injected(cloud) == before

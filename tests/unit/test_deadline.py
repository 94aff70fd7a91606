"""One deadline per invocation: every upstream call gets what is left of the function's timeout,
a call with too little left is not started, a cleanup still gets its time, and a session row
written after the deadline is deleted again."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from miniapp import deadline
from miniapp.adapters.tablestore.client import BoundedRetryPolicy
from miniapp.config import FcContext
from miniapp.errors import UpstreamUnavailable

from .conftest import ALICE, IP, World
from .fakes import InMemorySessions


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Monotonic:
    return Monotonic()


def test_without_an_invocation_every_call_keeps_its_own_limit() -> None:
    assert deadline.remaining() is None
    assert deadline.budget("Alipay", 5.0) == 5.0


def test_a_call_gets_what_is_left_of_the_timeout_less_the_reserve(clock) -> None:
    with deadline.invocation(10.0, reserve=2.5, clock=clock):
        assert deadline.budget("STS", 5.0) == 5.0
        clock.now += 4.5
        assert deadline.budget("STS", 5.0) == pytest.approx(3.0)


def test_a_call_with_too_little_left_is_not_started(clock) -> None:
    with deadline.invocation(10.0, reserve=2.5, clock=clock):
        clock.now += 7.5 - deadline.MIN_CALL_SECONDS / 2
        with pytest.raises(UpstreamUnavailable, match="Tablestore PutRow: no time left"):
            deadline.require("Tablestore PutRow")


def test_an_unknown_timeout_sets_no_deadline(clock) -> None:
    with deadline.invocation(0.0, clock=clock):
        assert deadline.remaining() is None


def test_the_deadline_ends_with_the_invocation(clock) -> None:
    with deadline.invocation(10.0, clock=clock):
        pass
    assert deadline.current() is None


def test_keeping_back_leaves_time_after_a_step(clock) -> None:
    with deadline.invocation(10.0, reserve=2.0, clock=clock):
        with deadline.keeping_back(0.5):
            assert deadline.remaining() == pytest.approx(7.5)
        assert deadline.remaining() == pytest.approx(8.0)


def test_a_cleanup_gets_its_time_even_past_the_deadline(clock) -> None:
    with deadline.invocation(10.0, reserve=2.0, clock=clock):
        clock.now += 9.0
        assert deadline.expired()
        with deadline.cleanup():
            assert deadline.budget("Tablestore DeleteRow", 3.0) == deadline.CLEANUP_SECONDS
        assert deadline.expired()


def test_tablestore_retries_stop_when_the_deadline_is_near(clock) -> None:
    class Busy:
        code, http_status = "OTSServerBusy", 503

    policy = BoundedRetryPolicy(60.0, base_delay=0.0, max_delay=0.0, monotonic=clock)
    with deadline.invocation(10.0, reserve=2.0, clock=clock):
        assert policy.should_retry(0, Busy(), "PutRow")
        clock.now += 8.0 - deadline.MIN_CALL_SECONDS / 2
        assert not policy.should_retry(1, Busy(), "PutRow")


def test_the_timeout_comes_from_fcs_context() -> None:
    context = SimpleNamespace(request_id="r", function=SimpleNamespace(name="session", timeout=10))
    assert FcContext.from_fc(context).timeout_seconds == 10.0
    assert FcContext.from_fc(SimpleNamespace()).timeout_seconds == 0.0


def test_a_session_row_written_after_the_deadline_is_deleted_and_503(clock) -> None:
    class LateStore(InMemorySessions):
        def create(self, record):
            super().create(record)
            clock.now += 5.0  # the write landed, but its answer came after the deadline

    store = LateStore()
    world = World(sessions=store)
    with deadline.invocation(10.0, reserve=2.5, clock=clock):
        clock.now += 4.0
        with pytest.raises(UpstreamUnavailable):
            world.login_service.open_session(world.identity.mint(ALICE), IP)
    assert store.rows == {}

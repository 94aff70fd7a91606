"""One fault vocabulary for every emulator, the old names kept as aliases, and the one applier that
does the kinds every service shares."""

from __future__ import annotations

import pytest

from localcloud.faults import (
    ALIASES,
    ANSWERS,
    COMMON_KINDS,
    KINDS,
    SERVICES,
    DropConnection,
    Fault,
    FaultApplier,
    FaultBoard,
    kinds_of,
)
from localcloud.httpshell import HttpResponse

SERVED = HttpResponse(200, b"served")
REFUSED = HttpResponse(503, b"refused")


# -- the vocabulary --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "service, old, name",
    [
        ("sls", "unreachable", "down"),
        ("sts", "unreachable", "down"),
        ("fc", "throttle", "busy"),
        ("tablestore", "server_busy", "busy"),
        ("alipay", "error_response", "internal_error"),
    ],
)
def test_an_old_name_sets_the_kind_it_now_has(service, old, name):
    assert Fault(service, old).kind == name


def test_every_old_name_stands_for_a_kind_of_the_vocabulary_and_is_not_one_itself():
    assert set(ALIASES.values()) <= set(KINDS)
    assert not set(ALIASES) & set(KINDS)


def test_every_service_offers_the_common_kinds_and_only_kinds_of_the_vocabulary():
    for service in SERVICES:
        assert set(COMMON_KINDS) <= set(kinds_of(service)) <= set(KINDS), service
        assert all(kinds_of(service).values()), service  # each one described


def test_a_kind_the_service_does_not_answer_is_refused_with_what_it_offers():
    with pytest.raises(
        ValueError,
        match="sls has no fault kind 'refuse'; one of down, "
        "internal_error, lost_reply, slow, timeout",
    ):
        Fault("sls", "refuse")


def test_an_old_name_of_a_kind_the_service_lacks_is_refused():
    assert "busy" not in ANSWERS["sts"]
    with pytest.raises(ValueError, match="sts has no fault kind 'throttle'"):
        Fault("sts", "throttle")


def test_the_board_counts_a_fault_set_by_its_old_name_under_its_one_name():
    board = FaultBoard(seed=1)
    board.set(Fault("tablestore", "server_busy", api="PutRow"))
    assert board.pick("tablestore", "PutRow") == Fault("tablestore", "busy", api="PutRow")
    assert board.injected == {"tablestore:busy": 1}


def test_fc_and_tablestore_answer_exactly_the_kinds_the_vocabulary_gives_them():
    from localcloud.fc import emulator as fc
    from localcloud.tablestore import emulator as tablestore

    assert set(fc.FAULT_ERRORS) == set(ANSWERS["fc"])
    assert set(tablestore.FAULT_ERRORS) == set(ANSWERS["tablestore"])


def test_a_fault_from_json_takes_old_names_too():
    assert Fault.from_dict({"service": "sls", "kind": "unreachable"}).to_dict()["kind"] == "down"


# -- the applier -----------------------------------------------------------------------------------
class Service:
    """A service's side of a request: how often it served, what it was asked to refuse."""

    def __init__(self, fault: Fault | None = None) -> None:
        self.board = FaultBoard(seed=1)
        if fault is not None:
            self.board.set(fault)
        self.slept: list[float] = []
        self.served = 0
        self.refused: list[Fault] = []

    def request(self, api: str | None = "PutRow") -> HttpResponse:
        applier = FaultApplier(self.board, "tablestore", sleep=self.slept.append)
        return applier.around(api, self._serve, self._refuse)

    def _serve(self) -> HttpResponse:
        self.served += 1
        return SERVED

    def _refuse(self, fault: Fault) -> HttpResponse:
        self.refused.append(fault)
        return REFUSED


def test_without_a_fault_the_request_is_served():
    service = Service()
    assert service.request() is SERVED and service.served == 1


def test_down_hangs_up_before_anything_is_served():
    service = Service(Fault("tablestore", "down"))
    with pytest.raises(DropConnection):
        service.request()
    assert service.served == 0 and service.slept == []


def test_slow_waits_its_seconds_then_serves():
    service = Service(Fault("tablestore", "slow", seconds=2.5))
    assert service.request() is SERVED
    assert service.slept == [2.5] and service.served == 1


def test_timeout_waits_its_seconds_then_hangs_up_unserved():
    service = Service(Fault("tablestore", "timeout", seconds=4.0))
    with pytest.raises(DropConnection):
        service.request()
    assert service.slept == [4.0] and service.served == 0


def test_lost_reply_serves_then_hangs_up():
    service = Service(Fault("tablestore", "lost_reply"))
    with pytest.raises(DropConnection):
        service.request()
    assert service.served == 1


def test_a_kind_of_the_services_own_is_answered_by_the_service_unserved():
    fault = Fault("tablestore", "busy", code="OTSQuotaExhausted")
    service = Service(fault)
    assert service.request() is REFUSED
    assert service.refused == [fault] and service.served == 0


def test_a_fault_on_one_api_leaves_the_others_alone():
    service = Service(Fault("tablestore", "down", api="PutRow"))
    assert service.request("GetRow") is SERVED
    assert service.board.injected == {}

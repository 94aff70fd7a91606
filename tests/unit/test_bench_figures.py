"""`make bench`'s memory and cost figures (scripts/bench_memory.py, scripts/bench_cost.py): the
FC size chosen for a peak, and the arithmetic of the cost of a million requests."""

from __future__ import annotations

import os

import pytest

from scripts.bench_cost import MIX, PRICES, million_requests, provisioned_month
from scripts.bench_memory import HEADROOM, fc_size_mb, peak_kb
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("peak", "size"), [(10, 128), (128 / HEADROOM, 128), (86, 192), (200, 320), (1000, 1536)]
)
def test_the_fc_size_is_the_smallest_64_mb_step_from_128_holding_the_headroom(peak, size) -> None:
    assert fc_size_mb(peak) == size
    assert size >= peak * HEADROOM and (size == 128 or size - 64 < peak * HEADROOM)


def test_the_peak_of_a_running_process_is_read_and_of_a_gone_one_is_zero() -> None:
    assert peak_kb(os.getpid()) > 1000
    assert peak_kb(2**22 + 1) == 0  # above Linux's largest pid


def test_a_million_requests_cost_the_invocations_the_durations_and_the_rows() -> None:
    ms = {op: 0.0101 for op in MIX}  # billed as 11 ms
    rows = {op: 2 for op in MIX}
    cost = million_requests(ms, rows, {"session": 128, "db": 256})
    assert cost.fc_invocations == pytest.approx(1_000_000 * PRICES["fc_invocation"].cny)
    session_share = MIX["login"] + MIX["refresh"]
    gb_seconds = 1_000_000 * 0.011 * (session_share * 0.125 + (1 - session_share) * 0.25)
    assert cost.fc_duration == pytest.approx(gb_seconds * PRICES["fc_gb_second"].cny)
    assert cost.tablestore == pytest.approx(2_000_000 * PRICES["ots_read_cu"].cny)
    assert cost.total == pytest.approx(
        cost.fc_invocations + cost.fc_duration + cost.tablestore + cost.sls
    )


def test_the_mix_is_whole_and_a_provisioned_month_is_memory_times_a_month() -> None:
    assert sum(MIX.values()) == pytest.approx(1.0)
    month = 30 * 24 * 3600 * PRICES["fc_provisioned_gb_second"].cny
    assert provisioned_month(1024) == pytest.approx(month)


def test_every_price_says_where_it_comes_from_and_the_docs_show_the_same_table() -> None:
    speed = (ROOT / "docs" / "speed.md").read_text(encoding="utf-8")
    for name, price in PRICES.items():
        assert price.source and price.cny > 0
        assert f"`{name}`" in speed and price.source.split(" ")[0] in speed, name

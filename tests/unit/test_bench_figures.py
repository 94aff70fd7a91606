"""`make bench`'s memory and cost figures (scripts/bench_memory.py, scripts/bench_cost.py): the
FC size chosen for a peak, and the arithmetic of the cost of a million requests."""

from __future__ import annotations

import os
import re

import pytest
import yaml

from scripts.bench_cost import (
    FC_CU_CNY,
    MIX,
    PRICES,
    SIZES,
    million_requests,
    print_cost,
    provisioned_month,
)
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
    seconds = 1_000_000 * 0.011
    gb_seconds = seconds * (session_share * 0.125 + (1 - session_share) * 0.25)
    per_gb_second = (
        PRICES["fc_memory_gb_second"].cny
        + SIZES["vcpu_per_gb"].value * PRICES["fc_vcpu_second"].cny
    )
    disk = seconds * SIZES["disk_gb"].value * PRICES["fc_disk_gb_second"].cny
    assert cost.fc_duration == pytest.approx(gb_seconds * per_gb_second + disk)
    assert cost.tablestore == pytest.approx(2_000_000 * PRICES["ots_read_cu"].cny)
    assert cost.total == pytest.approx(
        cost.fc_invocations + cost.fc_duration + cost.tablestore + cost.sls
    )


def test_fc_prices_are_the_cu_price_times_fc_2_0s_published_factors() -> None:
    # 75 CU per 10,000 invocations, 1 CU per active vCPU-second, 0.15 per GB-second of memory,
    # 0.05 per GB-second of disk: a million invocations are 7,500 CU.
    assert 1_000_000 * PRICES["fc_invocation"].cny == pytest.approx(7_500 * FC_CU_CNY)
    assert PRICES["fc_vcpu_second"].cny == pytest.approx(FC_CU_CNY)
    assert PRICES["fc_memory_gb_second"].cny == pytest.approx(0.15 * FC_CU_CNY)
    assert PRICES["fc_disk_gb_second"].cny == pytest.approx(0.05 * FC_CU_CNY)


def test_the_mix_is_whole_and_a_provisioned_month_bills_vcpu_memory_and_disk() -> None:
    assert sum(MIX.values()) == pytest.approx(1.0)
    # FC's default alwaysAllocateCPU: an idle provisioned instance's vCPU is billed as active
    per_second = (
        SIZES["vcpu_per_gb"].value * PRICES["fc_vcpu_second"].cny
        + PRICES["fc_memory_gb_second"].cny
        + SIZES["disk_gb"].value * PRICES["fc_disk_gb_second"].cny
    )
    assert provisioned_month(1024) == pytest.approx(30 * 24 * 3600 * per_second)


def _speed_row(speed: str, name: str) -> str:
    rows = [line for line in speed.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, name
    return rows[0]


def test_every_price_says_where_it_comes_from_and_the_docs_show_the_same_table() -> None:
    speed = (ROOT / "docs" / "speed.md").read_text(encoding="utf-8")
    for name, price in PRICES.items():
        assert price.source and price.cny > 0
        row = _speed_row(speed, name)
        assert price.source.split(" ")[0] in row, name
        assert ("*assumed*" in row) == bool(price.assumed), name
    for name, size in SIZES.items():
        assert size.assumed and "*assumed*" in _speed_row(speed, name), name


def test_the_cost_line_names_every_figure_not_found_published(capsys) -> None:
    ms = {op: 0.01 for op in MIX}
    print_cost(million_requests(ms, {}, {"session": 128, "db": 128}), {"session": 128, "db": 128})
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("FC "))
    named = line.split("not found published: ")[1].split(";")[0].split(", ")
    assert set(named) == {"ots_write_cu", "sls_write_gb", "sls_index_gb", "vcpu_per_gb", "disk_gb"}


def test_each_function_declares_the_fc_size_docs_speed_md_measured_for_it() -> None:
    """The Memory section's table (what `make bench` printed) against template.yml: every
    function is in it, its FC size is the one its peak needs, and the template declares it."""
    speed = (ROOT / "docs" / "speed.md").read_text(encoding="utf-8")
    section = speed[speed.index("## Memory\n") : speed.index("## Cost\n")]
    rows = re.findall(r"^\| (\w+) +\| +([\d.]+) MB \| +(\d+) MB \| +(\d+) MB \|$", section, re.M)
    resources = yaml.safe_load((ROOT / "template.yml").read_text(encoding="utf-8"))["Resources"]
    declared = {
        r["Properties"]["FunctionName"]: r["Properties"]["MemorySize"]
        for r in resources.values()
        if r["Type"] == "ALIYUN::FC::Function"
    }
    assert sorted(declared) == ["db", "notify", "orders", "session"]
    assert sorted(name for name, *_ in rows) == sorted(declared)
    for name, peak, size, template in rows:
        assert fc_size_mb(float(peak)) == int(size) == int(template) == declared[name], name

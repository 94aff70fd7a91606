"""`make bench`'s cost line: what one million requests of a typical mix cost in `cn-hangzhou`, from
the warm durations and upstream requests the bench measured and the unit prices below.

The prices are one table, with where each comes from and when it was read, so a user can update
them (docs/speed.md, "Cost", shows the same table). A price whose `assumed` is not empty was not
found on a published page when the table was written: the field says why, and the figure is the
one we believe current. The same holds for the two instance sizes FC bills that the template does
not declare (`SIZES`).

Function Compute bills the template's FC 2.0 functions in compute units (CU) since 2024-08-27:
each resource's use times a published conversion factor is a number of CU, and the month's CU
are billed at one tiered price. The FC prices below are that CU price times each factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """One unit price in CNY."""

    cny: float
    unit: str
    source: str  # the page it was read on, or where to check it when assumed
    assumed: str = ""  # why it is not a published figure; empty when it is


READ_ON = "2026-12-07"
# FC's CU price, tier 1 (the first 200 million CU of a month); the 20% discount the same page
# announced (0.000088 CNY) ran until 2026-08-27, before READ_ON.
FC_CU_CNY = 0.00011
_FC_CU_PAGE = "help.aliyun.com/zh/functioncompute/fc/product-overview/billing-overview-of-fc"
_FC_FACTORS_PAGE = (
    "alibabacloud.com/help/zh/functioncompute/fc-2-0/product-overview/pay-as-you-go-billing-method"
)
_FC_FACTORS = f"{_FC_FACTORS_PAGE} (FC 2.0's CU factors, page of 2024-08-27) and {_FC_CU_PAGE}"
PRICES = {
    "fc_cu": Price(
        FC_CU_CNY,
        "CU, tier 1 (up to 200 million CU a month), billed since 2024-08-27",
        _FC_CU_PAGE,
    ),
    "fc_invocation": Price(FC_CU_CNY * 75 / 10_000, "invocation (75 CU per 10,000)", _FC_FACTORS),
    "fc_vcpu_second": Price(
        FC_CU_CNY * 1, "vCPU-second of an active instance (1 CU; idle: 0)", _FC_FACTORS
    ),
    "fc_memory_gb_second": Price(
        FC_CU_CNY * 0.15, "GB-second of memory, active or idle (0.15 CU)", _FC_FACTORS
    ),
    "fc_disk_gb_second": Price(
        FC_CU_CNY * 0.05, "GB-second of an instance's disk (0.05 CU)", _FC_FACTORS
    ),
    # Tablestore: ALIYUN::OTS::Instance without ClusterType is high-performance (SSD, ROS's
    # default: help.aliyun.com/zh/ros/developer-reference/aliyun-ots-instance), billed in CU
    # mode, and the template's tables reserve no throughput: every CU is billed on demand.
    "ots_read_cu": Price(
        0.01 / 10_000,
        "read CU on demand, high-performance instance",
        "help.aliyun.com/zh/tablestore/product-overview/billing-examples (a Hangzhou user, "
        "0.01 CNY per 10,000 read CU)",
    ),
    "ots_write_cu": Price(
        0.01 / 10_000,
        "write CU on demand, high-performance instance",
        "help.aliyun.com/document_detail/213349.html (CU mode's billable items)",
        assumed="taken as the read price: the CU-mode pages found name the item and refer to "
        "the price page for the figure",
    ),
    # Log Service, pay-by-feature: the template sets no metering mode, and the API's default is
    # ChargeByFunction (alibabacloud.com/help/en/sls/developer-reference/
    # api-sls-2020-12-30-updatelogstoremeteringmode).
    "sls_write_gb": Price(
        0.18,
        "GB written (compressed)",
        "alibabacloud.com/help/en/log-service/latest/billable-items",
        assumed="the billable-items pages found give the items and formulas and refer to the "
        "price page for the figures",
    ),
    "sls_index_gb": Price(
        0.35,
        "GB indexed (raw)",
        "alibabacloud.com/help/en/log-service/latest/billable-items",
        assumed="as sls_write_gb",
    ),
}


@dataclass(frozen=True)
class Size:
    """How much of a resource FC bills per instance, where the template declares none."""

    value: float
    unit: str
    assumed: str


SIZES = {
    # FC's rule for a function that declares its vCPU is 1:1 to 1:4 (vCPU : GB of memory); the
    # template declares only MemorySize, and what FC bills for such an FC 2.0 function was not
    # found published. 1 vCPU per GB is the most the rule allows: the figures are upper bounds.
    "vcpu_per_gb": Size(
        1.0,
        "vCPU billed per GB of MemorySize",
        "not published for a function declaring only MemorySize; the most FC's 1:1-1:4 rule "
        "allows (help.aliyun.com/zh/ros/developer-reference/aliyun-fc3-function), an upper bound",
    ),
    "disk_gb": Size(
        0.5,
        "GB of disk billed per instance (FC 2.0's elastic instance disk, 512 MB)",
        "whether FC bills the default 512 MB disk was not found; counted, an upper bound",
    ),
}

# The mix: share of each operation in a million requests (a user who opens the app logs in or
# refreshes, lists, then adds, ticks off and removes a few todos). Which function serves each.
MIX = {
    "login": 0.05,
    "refresh": 0.10,
    "v2 list": 0.40,
    "v2 add": 0.20,
    "v2 update": 0.15,
    "v2 remove": 0.10,
}
FUNCTION_OF = {"login": "session", "refresh": "session"}  # the others: db
# One invocation's log line as the logstore receives it (our JSON record and FC's request
# line), raw and compressed (SLS stores 10-20% of the raw size).
LOG_BYTES, LOG_COMPRESSED_BYTES = 1_000, 200
GB = 1024**3
MONTH_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Cost:
    """What one million requests of the mix cost, in CNY, by service."""

    fc_invocations: float
    fc_duration: float
    tablestore: float
    sls: float

    @property
    def total(self) -> float:
        return self.fc_invocations + self.fc_duration + self.tablestore + self.sls


def instance_second_cny(memory_mb: int, *, active: bool) -> float:
    """What one second of an instance of a `memory_mb` function costs: its memory, its disk and,
    while active, its vCPU (an idle instance's vCPU is 0 CU, but only in FC's idle mode)."""
    gb = memory_mb / 1024
    cny = gb * PRICES["fc_memory_gb_second"].cny
    cny += SIZES["disk_gb"].value * PRICES["fc_disk_gb_second"].cny
    if active:
        cny += gb * SIZES["vcpu_per_gb"].value * PRICES["fc_vcpu_second"].cny
    return cny


def million_requests(
    median_seconds: dict[str, float],
    tablestore_requests: dict[str, int],
    memory_mb: dict[str, int],
) -> Cost:
    """From each operation's warm median duration and Tablestore requests (each taken as 1 CU:
    a row under 4 KB; a batch of n rows costs n, so this is a lower bound) and each function's
    MemorySize. Durations are the client's, so they bill a little more than FC would."""
    n = 1_000_000
    invocations = duration = tablestore = 0.0
    for op, share in MIX.items():
        calls = n * share
        per_second = instance_second_cny(memory_mb[FUNCTION_OF.get(op, "db")], active=True)
        billed = math.ceil(median_seconds[op] * 1000) / 1000  # FC bills by the millisecond
        invocations += calls * PRICES["fc_invocation"].cny
        duration += calls * billed * per_second
        # reads and writes are not told apart: the write price is taken as the read price
        tablestore += calls * tablestore_requests.get(op, 0) * PRICES["ots_read_cu"].cny
    sls = n * (
        LOG_COMPRESSED_BYTES / GB * PRICES["sls_write_gb"].cny
        + LOG_BYTES / GB * PRICES["sls_index_gb"].cny
    )
    return Cost(invocations, duration, tablestore, sls)


def provisioned_month(memory_mb: int) -> float:
    """One provisioned instance of a function of `memory_mb`, idle for a 30-day month. The
    template's ProvisionConfig leaves alwaysAllocateCPU at FC's default, true (FC 3.0's API
    reference: help.aliyun.com/zh/functioncompute/api-fc-2023-03-30-struct-putprovisionconfiginput):
    no idle mode, so FC bills an idle provisioned instance's vCPU as an active one's."""
    return MONTH_SECONDS * instance_second_cny(memory_mb, active=True)


def assumed_names() -> list[str]:
    """Every figure the cost rests on that was not found published."""
    return [name for name, price in PRICES.items() if price.assumed] + list(SIZES)


def print_cost(cost: Cost, memory_mb: dict[str, int]) -> None:
    mix = ", ".join(f"{op} {share:.0%}" for op, share in MIX.items())
    print()
    print(f"Cost of 1,000,000 requests in cn-hangzhou ({mix}), warm, prices of {READ_ON}")
    print(
        f"FC {cost.fc_invocations + cost.fc_duration:.2f} CNY (invocations "
        f"{cost.fc_invocations:.2f}, duration {cost.fc_duration:.2f}), Tablestore "
        f"{cost.tablestore:.2f} CNY, Log Service {cost.sls:.2f} CNY: {cost.total:.2f} CNY "
        f"(assumed, not found published: {', '.join(assumed_names())}; "
        "scripts/bench_cost.py, docs/speed.md)"
    )
    each = ", ".join(f"{f} {provisioned_month(mb):.2f} CNY" for f, mb in memory_mb.items())
    print(f"ProvisionedInstances: each instance kept idle for 30 days costs at most {each}")

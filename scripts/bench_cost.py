"""`make bench`'s cost line: what one million requests of a typical mix cost in `cn-hangzhou`, from
the warm durations and upstream requests the bench measured and the unit prices below.

The prices are one table, with where each comes from and when it was read, so a user can update
them (docs/speed.md, "Cost", shows the same table). Those marked ASSUMED were not found in a
published page when the table was written: the figure is the one we believe current, and the
`check` column says where to confirm it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """One unit price in CNY."""

    cny: float
    unit: str
    source: str  # where it was read, or where to check it when ASSUMED
    assumed: bool = False


READ_ON = "2026-12-07"
PRICES = {
    # Function Compute 2.0, pay-as-you-go, elastic CPU instances.
    "fc_invocation": Price(
        0.0133 / 10_000,
        "invocation",
        "help.aliyun.com/zh/functioncompute/fc-2-0/product-overview/billing-overview "
        "(1.33 CNY per million, also quoted in FC's own billing FAQ)",
        assumed=True,
    ),
    "fc_gb_second": Price(
        0.000110592,
        "GB-second of an elastic instance, billed per ms of execution",
        "help.aliyun.com/zh/functioncompute/fc-2-0/product-overview/billing-overview",
        assumed=True,
    ),
    "fc_provisioned_gb_second": Price(
        0.0000221184,
        "GB-second of a provisioned instance while idle (busy: the elastic price)",
        "help.aliyun.com/zh/functioncompute/fc-2-0/product-overview/billing-overview",
        assumed=True,
    ),
    # Tablestore, high-performance instance, CU (pay-as-you-go) mode, Hangzhou.
    "ots_read_cu": Price(
        0.01 / 10_000,
        "read CU (pay-as-you-go)",
        "help.aliyun.com/zh/tablestore/product-overview/billing-examples (a Hangzhou user, "
        "0.01 CNY per 10,000 read CU)",
    ),
    "ots_write_cu": Price(
        0.01 / 10_000,
        "write CU (pay-as-you-go)",
        "help.aliyun.com/zh/tablestore/product-overview/billing-overview (taken as the read price)",
        assumed=True,
    ),
    # Log Service, pay-by-feature.
    "sls_write_gb": Price(
        0.18,
        "GB written (compressed)",
        "help.aliyun.com/zh/sls/product-overview/billable-items",
        assumed=True,
    ),
    "sls_index_gb": Price(
        0.35,
        "GB indexed (raw)",
        "help.aliyun.com/zh/sls/product-overview/billable-items",
        assumed=True,
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
        gb = memory_mb[FUNCTION_OF.get(op, "db")] / 1024
        billed = math.ceil(median_seconds[op] * 1000) / 1000  # FC bills by the millisecond
        invocations += calls * PRICES["fc_invocation"].cny
        duration += calls * billed * gb * PRICES["fc_gb_second"].cny
        tablestore += calls * tablestore_requests.get(op, 0) * PRICES["ots_read_cu"].cny
    sls = n * (
        LOG_COMPRESSED_BYTES / GB * PRICES["sls_write_gb"].cny
        + LOG_BYTES / GB * PRICES["sls_index_gb"].cny
    )
    return Cost(invocations, duration, tablestore, sls)


def provisioned_month(memory_mb: int) -> float:
    """One provisioned instance of a function of `memory_mb`, idle for a 30-day month."""
    return memory_mb / 1024 * MONTH_SECONDS * PRICES["fc_provisioned_gb_second"].cny


def print_cost(cost: Cost, memory_mb: dict[str, int]) -> None:
    mix = ", ".join(f"{op} {share:.0%}" for op, share in MIX.items())
    print()
    print(f"Cost of 1,000,000 requests in cn-hangzhou ({mix}), warm, prices of {READ_ON}")
    print(
        f"FC {cost.fc_invocations + cost.fc_duration:.2f} CNY (invocations "
        f"{cost.fc_invocations:.2f}, duration {cost.fc_duration:.2f}), Tablestore "
        f"{cost.tablestore:.2f} CNY, Log Service {cost.sls:.2f} CNY: {cost.total:.2f} CNY "
        "(prices marked assumed in scripts/bench_cost.py: check them, docs/speed.md)"
    )
    each = ", ".join(f"{f} {provisioned_month(mb):.2f} CNY" for f, mb in memory_mb.items())
    print(f"ProvisionedInstances: each instance kept idle for 30 days costs {each}")

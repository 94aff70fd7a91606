"""A short payments soak (tests/e2e/paysoak.py) on a cloud of its own (it moves the clock by a
day): buyers pay with every outcome under random notify and gateway faults, then every paid
order is PAID exactly once with its grant, no grant lacks a paid order, and every unpaid order is
closed. `make soak SOAK_PAYMENTS=1` runs it for longer; the seed is printed (SOAK_SEED replays)."""

from __future__ import annotations

import os
import random

from tests.conftest import running_local_cloud

from .paysoak import run_pay_soak


def test_a_short_payments_soak_breaks_no_invariant(tmp_path):
    seed = int(os.environ.get("SOAK_SEED") or random.randrange(2**31))
    with running_local_cloud(tmp_path) as cloud:
        result = run_pay_soak(
            cloud,
            seconds=float(os.environ.get("SOAK_TEST_SECONDS") or 15),
            buyers=3,
            seed=seed,
            log=lambda line: None,
        )
    print(result.table())
    assert result.violations == [], f"SOAK_SEED={seed}\n" + "\n".join(result.violations)
    assert result.orders > 0 and result.payments > 0 and result.faults > 0

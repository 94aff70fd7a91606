"""A short soak (tests/e2e/soak.py) in every `make test`: a few users, every op of both
protocols, faults of every kind switched at random for `SOAK_TEST_SECONDS` (default 15), then
every invariant, the quota counters exactly included. `make soak` runs the same for minutes.
The seed is random and printed; set SOAK_SEED to replay one."""

from __future__ import annotations

import os
import random

from .soak import run_soak


def test_a_short_soak_under_random_faults_breaks_no_invariant(local_cloud, faults):
    seed = int(os.environ.get("SOAK_SEED") or random.randrange(2**31))
    result = run_soak(
        local_cloud, seconds=float(os.environ.get("SOAK_TEST_SECONDS") or 15), users=4, seed=seed
    )
    print(result.table())
    assert result.violations == [], f"SOAK_SEED={seed}\n{result.table()}"
    assert sum(result.tally.operations.values()) > 0 and result.tally.faults_switched > 0
    assert result.tally.invariants > 0

"""`make soak`: many simulated users against a fresh local cloud while faults of every kind are
switched on and off at random, then every invariant checked against a model of what was
acknowledged (tests/e2e/soak.py says which). Prints the seed and a table; exits non-zero on any
violation.

    .venv/bin/python scripts/soak.py [--seconds 180] [--users 8] [--seed N] [--payments]

SOAK_SECONDS, SOAK_USERS and SOAK_SEED set the same from the environment (as `make soak
SOAK_SECONDS=600` does). `--payments` (SOAK_PAYMENTS=1) runs the payments soak instead: buyers
pay with every my.tradePay outcome under notify and gateway faults, then every paid order must
be PAID exactly once with its grant, and no grant lack a paid order (tests/e2e/paysoak.py).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The soak logs in all the time from one address: lift the login and refresh rate
# limits, as the tests do.
PARAMETERS = {
    "SessionRateLimitPerIp": "1000000",
    "SessionRateLimitPerUser": "1000000",
    "RefreshRateLimitPerSession": "1000000",
    "RefreshRateLimitPerUser": "1000000",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    env = os.environ
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(env.get("SOAK_SECONDS") or 180),
        help="how long the users run (default: SOAK_SECONDS or 180)",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=int(env.get("SOAK_USERS") or 8),
        help="simulated users at once (default: SOAK_USERS or 8)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=int(os.environ.get("SOAK_SEED") or random.randrange(2**31)),
        help="seed of every random choice, to repeat a run (default: SOAK_SEED "
        "or a random one, printed)",
    )
    parser.add_argument(
        "--payments",
        action="store_true",
        default=env.get("SOAK_PAYMENTS", "") not in ("", "0"),
        help="soak the payments instead (default: SOAK_PAYMENTS set and not 0)",
    )
    args = parser.parse_args()
    if args.payments:
        return _payments(args)

    from tests.conftest import running_local_cloud
    from tests.e2e.soak import run_soak

    print(
        f"soak seed {args.seed} ({args.seconds:.0f} s, {args.users} users); replay with "
        f"SOAK_SEED={args.seed}",
        flush=True,
    )
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="soak-") as state,
        running_local_cloud(Path(state), PARAMETERS) as cloud,
    ):
        result = run_soak(
            cloud,
            seconds=args.seconds,
            users=args.users,
            seed=args.seed,
            log=lambda line: print(line, flush=True),
        )
    print()
    print(result.table())
    print(f"wall time {time.monotonic() - started:.0f} s; seed {args.seed}")
    return 1 if result.violations else 0


def _payments(args: argparse.Namespace) -> int:
    from tests.conftest import running_local_cloud
    from tests.e2e.paysoak import run_pay_soak

    print(f"payments soak seed {args.seed} ({args.seconds:.0f} s, {args.users} buyers)", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="paysoak-") as state,
        running_local_cloud(Path(state), PARAMETERS) as cloud,
    ):
        result = run_pay_soak(
            cloud, seconds=args.seconds, buyers=args.users, seed=args.seed, log=print
        )
    print(result.table())
    for violation in result.violations:
        print(f"  ! {violation}")
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())

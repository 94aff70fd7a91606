"""`make bench`: the speed figures, measured side by side in one run, printed as one table.

On its own local cloud (ephemeral ports, a throw-away state folder, the packages `make package`
built), it measures:

- machine noise: the load average, and the spread of a fixed CPU loop timed before and after;
- cold start per function: a fresh worker to the first answer of a real request (a login for
  `session`, a v2 `list` for `db`), median and min of `--cold` tries, each against `node -e 0`
  timed in the same run (alternating, so both see the same machine), with the ratios;
- warm latency per operation (median, p95 of `--warm` calls) and the upstream requests each
  makes, by service, counted at the emulators (`LocalCloud.traffic`);
- the 2020 `list` and a v2 page at 10 / 1,000 / 10,000 rows of one user, with the ratio to 10:
  each the median of its runs, all sizes interleaved in rounds (`Bench.lists`);
- each package's size;
- each function's peak memory (session, db, notify, orders) over all of the above, the soak's
  mix (`--soak-seconds` of tests/e2e/soak.py's users, faults and all) and the paths the soak
  does not take (`--mix-rounds` of orders, payments, notifies, files, the reconciler and the
  operator's commands: scripts/bench_mix.py), and the FC size that holds it
  (scripts/bench_memory.py);
- the cost of one million requests of a typical mix, from the warm figures
  (scripts/bench_cost.py holds the unit prices and the mix).

Rows for the list figures are written straight into the tables with the Tablestore SDK (in the
layout the functions use), so seeding 10,000 rows takes seconds, not 10,000 invocations.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ("session", "db")
UPSTREAM = ("tablestore", "sts", "alipay", "sls")
SIZES = (10, 1_000, 10_000)
LIST_2020, LIST_V2 = "2020 list", "v2 page (20)"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.0995 else f"{seconds * 1000:.1f} ms"


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _unpacked_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _distributions(folder: Path) -> int:
    return len(list(folder.glob("*.dist-info")))


def _cpu_loop() -> float:
    """A fixed amount of pure-Python work: its spread says how much the machine stole."""
    return _timed(lambda: sum(i * i for i in range(200_000)))


def _noise() -> tuple[float, float, float]:
    loops = [_cpu_loop() for _ in range(15)]
    return os.getloadavg()[0], statistics.median(loops), max(loops) / min(loops)


def _node() -> float:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not installed: the cold-start ratios are to `node -e 0`")
    return _timed(lambda: subprocess.run([node, "-e", "0"], check=True))


def list_schedule(rounds: int, repeats: int) -> list[tuple[str, int]]:
    """The order `Bench.lists` times the lists in: `rounds` rounds of, for each protocol, 10,
    10,000, 10 and 1,000 rows, each `repeats` times in a row but the 10,000-row 2020 list
    (once), so 10-row runs come right before and right after each larger list."""
    one_round = [
        (name, size)
        for name in (LIST_2020, LIST_V2)
        for size in (SIZES[0], SIZES[2], SIZES[0], SIZES[1])
        for _ in range(1 if (name, size) == (LIST_2020, SIZES[2]) else repeats)
    ]
    return one_round * rounds


class Bench:
    def __init__(self, cloud: Any, clock: Any) -> None:
        from localcloud.miniprogram import MiniProgram

        self.cloud = cloud
        self.clock = clock
        self.config = cloud.cloud_config()
        self.app = MiniProgram(self.config)
        self._ots: Any = None

    # -- helpers -----------------------------------------------------------------------------
    def counted(self, call: Callable[[], Any]) -> tuple[Any, dict[str, int]]:
        before = self.cloud.traffic.snapshot()
        result = call()
        counts: dict[str, int] = {}
        for (service, api), n in self.cloud.traffic.since(before).items():
            if service in UPSTREAM and api != "POST /auth_code":
                counts[service] = counts.get(service, 0) + n
        return result, counts

    def db(self, session: Any, event: dict[str, Any]) -> Any:
        answer = self.app.invoke(session, {"sid": session.session_id, **event})
        if "error" in answer:
            raise SystemExit(f"db answered an error to {event.get('op')}: {answer['error']}")
        return answer["data"]

    def ots(self) -> Any:
        if self._ots is None:
            import tablestore

            self._ots = tablestore.OTSClient(
                self.cloud.url("tablestore"),
                self.cloud.account.access_key_id,
                self.cloud.account.access_key_secret,
                self.cloud.tablestore_instance,
                logger_name="bench.tablestore",
            )
        return self._ots

    def write_rows(self, table: str, rows: list[tuple[list[Any], list[Any]]]) -> None:
        import tablestore

        for at in range(0, len(rows), 200):
            items = [
                tablestore.PutRowItem(tablestore.Row(pk, columns), tablestore.Condition("IGNORE"))
                for pk, columns in rows[at : at + 200]
            ]
            request = tablestore.BatchWriteRowRequest()
            request.add(tablestore.TableInBatchWriteRowItem(table, items))
            result = self.ots().batch_write_row(request)
            if not result.is_all_succeed():
                raise SystemExit(f"seeding {table} failed")

    # -- the figures -------------------------------------------------------------------------
    def cold_starts(self, runs: int) -> dict[str, list[float]]:
        from localcloud.fc.workers import IDLE_SECONDS
        from localcloud.miniprogram import MiniProgram

        timings: dict[str, list[float]] = {"node -e 0": [], **{name: [] for name in FUNCTIONS}}
        for _ in range(runs):
            timings["node -e 0"].append(_node())
            self.clock.advance(IDLE_SECONDS + 1)  # every instance is now idle too long
            app = MiniProgram(self.config)
            code = app.get_auth_code()
            started = time.perf_counter()
            resp = app.post_session({"authCode": code})
            timings["session"].append(time.perf_counter() - started)
            if resp.status_code != 200:
                raise SystemExit(f"login failed: {resp.status_code} {resp.text}")
            body = resp.json()
            from localcloud.miniprogram import Session

            session = Session(body["sessionId"], body["sts"])
            client = app.fc_client(session.sts)  # built before the clock starts, like a client
            payload = f'{{"v": 2, "sid": "{session.session_id}", "op": "list"}}'
            started = time.perf_counter()
            client.invoke_function(
                self.config["serviceName"], self.config["dbFunctionName"], payload=payload
            )
            timings["db"].append(time.perf_counter() - started)
            timings["node -e 0"].append(_node())
        return timings

    def warm(self, runs: int) -> list[tuple[str, list[float], dict[str, int]]]:
        session = self.app.login()
        item = self.db(session, {"v": 2, "op": "add", "text": "warm-up"})
        self.db(session, {"op": "put", "obj": {"id": "bench", "n": 0}})
        results = []

        def op(
            name: str,
            call: Callable[[int, Any], Any],
            prepare: Callable[[int], Any] = lambda n: None,
        ) -> None:
            """`prepare(n)` is the client's own step before call n (not timed)."""
            times: list[float] = []
            counts: dict[str, int] = {}
            for n in range(runs):
                before = prepare(n)
                started = time.perf_counter()
                _, counts = self.counted(lambda: call(n, before))  # noqa: B023 - called here
                times.append(time.perf_counter() - started)
            results.append((name, times, counts))

        op(
            "login",
            lambda n, code: self.app.post_session({"authCode": code}),
            prepare=lambda n: self.app.get_auth_code(),
        )
        sid = session.session_id
        op("refresh", lambda n, _: self.app.post_session({"sessionId": sid}, path="refresh"))
        op("v2 add", lambda n, _: self.db(session, {"v": 2, "op": "add", "text": f"t{n}"}))
        op("v2 get", lambda n, _: self.db(session, {"v": 2, "op": "get", "id": item["id"]}))
        op(
            "v2 update",
            lambda n, _: self.db(
                session,
                {
                    "v": 2,
                    "op": "update",
                    "id": item["id"],
                    "expectedVersion": n + 1,
                    "completed": n % 2 == 0,
                },
            ),
        )
        op("v2 list", lambda n, _: self.db(session, {"v": 2, "op": "list"}))
        added = [self.db(session, {"v": 2, "op": "add", "text": "r"})["id"] for _ in range(runs)]
        op("v2 remove", lambda n, _: self.db(session, {"v": 2, "op": "remove", "id": added[n]}))
        op("2020 put", lambda n, _: self.db(session, {"op": "put", "obj": {"id": f"p{n}", "n": n}}))
        op("2020 get", lambda n, _: self.db(session, {"op": "get", "id": "bench"}))
        op("2020 remove", lambda n, _: self.db(session, {"op": "remove", "id": f"p{n}"}))
        op("invalid event", lambda n, _: self.app.invoke(session, {"sid": sid, "op": "nope"}))
        return results

    def soak(self, seconds: float) -> None:
        """The soak's users (every op of both protocols, faults switched on and off) for
        `seconds`: what the instances hold at their peak (its invariants are make soak's)."""
        import logging

        from tests.e2e.soak import run_soak

        # The FC SDK logs an ERROR line for every fault the soak injects; the soak counts them.
        logging.disable(logging.ERROR)
        try:
            result = run_soak(self.cloud, seconds=seconds, users=8, seed=25)
        finally:
            logging.disable(logging.NOTSET)
            self.cloud.faults.clear()
        if result.violations:
            raise SystemExit(f"the soak found violations:\n{result.table()}")

    def lists(self, rounds: int, repeats: int) -> dict[str, dict[int, list[float]]]:
        """Every list of `SIZES`, timed in `rounds` interleaved rounds. A round runs, for each
        protocol, 10, 10,000, 10 and 1,000 rows, each `repeats` times in a row except the
        10,000-row 2020 list (once: it alone costs about what the rest of the round does). A
        burst of noise on this shared machine then lands on the 10-row figure and on the ones
        divided by it alike, rather than on one size's block of runs, and the 10-row lists,
        run 2 x `repeats` times a round, have a steady median (`_print_lists`)."""
        from localcloud.miniprogram import MiniProgram
        from miniapp.domain.ids import new_item_id

        calls: dict[tuple[str, int], Callable[[], Any]] = {}
        for size in SIZES:
            # One user for the 2020 rows and one for the v2 items: a first v2 use would move
            # legacy-shaped 2020 rows, and these must stay put.
            old, new = MiniProgram(self.config), MiniProgram(self.config)
            self.write_rows(
                "todo_list",
                [
                    (
                        [("uid", old.user_id), ("id", f"row-{i:06d}")],
                        [("text", f"row {i} of the 2020 list"), ("done", i % 2 == 0), ("n", i)],
                    )
                    for i in range(size)
                ],
            )
            now = int(time.time() * 1000)
            self.write_rows(
                "user_data",
                [
                    (
                        [("uid", new.user_id), ("id", "todos#" + new_item_id(now + i, os.urandom))],
                        [
                            ("text", f"item {i}"),
                            ("completed", False),
                            ("createdAt", now + i),
                            ("updatedAt", now + i),
                            ("version", 1),
                        ],
                    )
                    for i in range(size)
                ]
                + [([("uid", new.user_id), ("id", "todos!")], [("count", size), ("rev", 0)])],
            )
            for app, name, event in (
                (old, LIST_2020, {"op": "list"}),
                (new, LIST_V2, {"v": 2, "op": "list"}),
            ):
                session = app.login()
                answer = self.db(session, event)  # once untimed: the same path, warm
                got = len(answer) if isinstance(answer, list) else len(answer["items"])
                if got != (size if name == LIST_2020 else min(size, 20)):
                    raise SystemExit(f"{name} of {size} rows answered {got}")
                calls[(name, size)] = partial(self.db, session, event)
        timings: dict[str, dict[int, list[float]]] = {LIST_2020: {}, LIST_V2: {}}
        for name, size in list_schedule(rounds, repeats):
            timings[name].setdefault(size, []).append(_timed(calls[(name, size)]))
        return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", type=int, default=5, help="cold starts per function (default: 5)")
    parser.add_argument(
        "--warm", type=int, default=20, help="calls per warm operation (default: 20)"
    )
    parser.add_argument(
        "--list-rounds",
        type=int,
        default=40,
        help="interleaved rounds of every list (default: 40; see Bench.lists)",
    )
    parser.add_argument(
        "--list-repeats",
        type=int,
        default=5,
        help="runs per round of each list but the 10,000-row 2020 one (default: 5)",
    )
    parser.add_argument(
        "--no-range-answers",
        action="store_true",
        help=(
            "the local Tablestore reads every range anew instead of answering an unchanged one "
            "again from memory (Tablestore's own time for the read is what the cloud puts there)"
        ),
    )
    parser.add_argument(
        "--soak-seconds",
        type=float,
        default=60,
        help="seconds of the soak's mix for the peak memory (default: 60)",
    )
    parser.add_argument(
        "--mix-rounds",
        type=int,
        default=4,
        help="buyers of orders, payments and files for the peak memory (default: 4)",
    )
    parser.add_argument(
        "--only",
        choices=("cold", "warm", "lists", "packages", "memory", "instructions"),
        action="append",
        help=(
            "measure and print only this part (repeatable; default: all but instructions, "
            "which needs valgrind and a few minutes: scripts/bench_instructions.py)"
        ),
    )
    args = parser.parse_args(argv)
    parts = set(args.only or ("cold", "warm", "lists", "packages", "memory"))
    # this checkout, not an install (the repository root for the soak's users, tests/e2e)
    sys.path[:0] = [str(ROOT / "local"), str(ROOT / "shared"), str(ROOT)]
    from localcloud.clock import ShiftableClock
    from scripts.bench_cost import million_requests, print_cost
    from scripts.bench_instructions import measure, print_instructions
    from scripts.bench_memory import PeakMemory, print_memory
    from scripts.bench_mix import payments_and_files

    if "instructions" in parts:
        print_instructions(measure(lambda: _cloud(ShiftableClock())))
        parts.discard("instructions")
        if not parts:
            return 0
    load_before, loop_before, spread_before = _noise()
    clock = ShiftableClock()
    with _cloud(clock) as cloud:
        if args.no_range_answers:
            from localcloud.tablestore.encoded import RangeAnswers

            cloud.tablestore.core.range_answers = RangeAnswers(keep=0)
        bench = Bench(cloud, clock)
        config = cloud.cloud_config()
        outputs = {k: str(v) for k, v in cloud.template.outputs.items()}
        functions = {
            "session": (config["sessionServiceName"], config["sessionFunctionName"]),
            "db": (config["serviceName"], config["dbFunctionName"]),
            "notify": (outputs["NotifyServiceName"], outputs["NotifyFunctionName"]),
            "orders": (config["ordersServiceName"], config["ordersFunctionName"]),
        }
        declared = {
            name: cloud.template.service(service).function(function).memory_size
            for name, (service, function) in functions.items()
        }
        with PeakMemory(cloud, functions) as memory:
            cold = bench.cold_starts(args.cold) if "cold" in parts else {}
            warm = bench.warm(args.warm) if "warm" in parts else []
            lists = bench.lists(args.list_rounds, args.list_repeats) if "lists" in parts else {}
            if "memory" in parts:
                bench.soak(args.soak_seconds)
                payments_and_files(cloud, args.mix_rounds)
    load_after, loop_after, spread_after = _noise()

    print(
        f"make bench: {os.cpu_count()} CPUs; load average {load_before:.2f} before, "
        f"{load_after:.2f} after; a fixed CPU loop took {_ms(loop_before)} / "
        f"{_ms(loop_after)} (median), slowest/fastest {spread_before:.2f} / "
        f"{spread_after:.2f} (1.00 = a quiet machine)"
    )
    if cold:
        _print_cold(cold, args.cold)
    if warm:
        _print_warm(warm, args.warm)
    if lists:
        _print_lists(lists, kept=not args.no_range_answers)
    if "packages" in parts:
        _print_packages()
    if "memory" in parts:
        mixes = "the soak's mix and the payments and files mix"
        what = f"every part above, {mixes}" if len(parts) > 1 else mixes
        print_memory(memory.peaks_mb, declared, what)
    if warm:
        medians = {name: statistics.median(times) for name, times, _ in warm}
        requests = {name: counts.get("tablestore", 0) for name, _, counts in warm}
        # The typical mix and ProvisionedInstances are the session and db functions'.
        billed = {name: declared[name] for name in FUNCTIONS}
        print_cost(million_requests(medians, requests, billed), billed)
    return 0


@contextlib.contextmanager
def _cloud(clock: Any) -> Iterator[Any]:
    """A local cloud of its own: ephemeral ports, a throw-away state folder."""
    from localcloud.cloud import CloudOptions, LocalCloud, Ports

    with (
        tempfile.TemporaryDirectory() as state,
        LocalCloud(
            CloudOptions(
                repo_root=ROOT,
                state_dir=Path(state),
                template_path=ROOT / "template.yml",
                ports=Ports.ephemeral(),
                # Every login comes from 127.0.0.1 and one session is refreshed again and again:
                # lift the login and refresh limits as the tests do.
                parameters={
                    "SessionRateLimitPerIp": "1000000",
                    "SessionRateLimitPerUser": "1000000",
                    "RefreshRateLimitPerSession": "1000000",
                    "RefreshRateLimitPerUser": "1000000",
                },
            ),
            clock=clock,
        ) as cloud,
    ):
        yield cloud


def _print_cold(cold: dict[str, list[float]], runs: int) -> None:
    node = statistics.median(cold["node -e 0"])
    print()
    print(
        f"Cold start: fresh worker to first answer, {runs} tries; "
        f"`node -e 0` {_ms(node)} median (min {_ms(min(cold['node -e 0']))}) in the same run"
    )
    print(
        f"| {'function':8} | {'median':>9} | {'min':>9} | {'median / node':>13} "
        f"| {'min / node min':>14} |"
    )
    print(f"|{'-' * 10}|{'-' * 11}|{'-' * 11}|{'-' * 15}|{'-' * 16}|")
    for name in FUNCTIONS:
        med, low = statistics.median(cold[name]), min(cold[name])
        print(
            f"| {name:8} | {_ms(med):>9} | {_ms(low):>9} | {med / node:12.1f}x "
            f"| {low / min(cold['node -e 0']):13.1f}x |"
        )


def _print_warm(warm: list[tuple[str, list[float], dict[str, int]]], runs: int) -> None:
    print()
    print(f"Warm operations: {runs} calls each, from the client; upstream requests per call")
    print(f"| {'operation':13} | {'median':>8} | {'p95':>8} | {'upstream requests':30} |")
    print(f"|{'-' * 15}|{'-' * 10}|{'-' * 10}|{'-' * 32}|")
    for name, times, counts in warm:
        up = ", ".join(f"{service} {n}" for service, n in sorted(counts.items())) or "none"
        print(
            f"| {name:13} | {_ms(statistics.median(times)):>8} | {_ms(_p95(times)):>8} | {up:30} |"
        )


def _print_lists(lists: dict[str, dict[int, list[float]]], kept: bool) -> None:
    """Each figure is the median of that list's runs, interleaved with all the others
    (Bench.lists); the ratio is to the 10-row median of the same protocol, in the same run."""
    counts = sorted({len(times) for sizes in lists.values() for times in sizes.values()})
    print()
    print(
        "Lists of one user's rows: median of "
        + " / ".join(str(n) for n in counts)
        + " runs, all interleaved in one set of rounds"
    )
    print(f"| {'rows':>6} | " + " | ".join(f"{name:>21}" for name in lists) + " |")
    print(f"|{'-' * 8}|" + "|".join("-" * 23 for _ in lists) + "|")
    for size in SIZES:
        cells = []
        for name in lists:
            value = statistics.median(lists[name][size])
            base = statistics.median(lists[name][SIZES[0]])
            cells.append(f"{_ms(value):>10} ({value / base:5.1f}x)")
        print(f"| {size:>6,} | " + " | ".join(f"{c:>21}" for c in cells) + " |")
    low, high = _quartiles(lists[LIST_2020][SIZES[0]])
    print(
        f"2020 list of {SIZES[0]} rows: middle half of its runs {_ms(low)} to {_ms(high)} "
        "(how steady the figure the ratios divide by is)"
    )
    print(
        "The local Tablestore answered an unchanged range again from memory (--no-range-answers: "
        "read anew each time)"
        if kept
        else "The local Tablestore read every range anew (--no-range-answers)"
    )


def _quartiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def _print_packages() -> None:
    print()
    print("Packages")
    print(f"| {'function':8} | {'zip':>7} | {'unpacked':>8} | {'distributions':>13} |")
    print(f"|{'-' * 10}|{'-' * 9}|{'-' * 10}|{'-' * 15}|")
    for name in FUNCTIONS:
        folder = ROOT / "build" / name
        zipped = (ROOT / "build" / f"{name}.zip").stat().st_size
        print(
            f"| {name:8} | {zipped / 1e6:5.1f}MB | "
            f"{_unpacked_bytes(folder) / 1e6:6.1f}MB | {_distributions(folder):13} |"
        )


if __name__ == "__main__":
    sys.exit(main())

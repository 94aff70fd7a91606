"""`python scripts/coldstart.py`: what each function's package weighs and how long its cold start
takes on the local cloud.

Per function it prints the package size (zipped, as deployed, and unpacked), the number of
distributions it carries, and the cold start: a fresh worker process to the first answer,
measured from the client (login for `session`, a `list` for `db`), median of `--runs` tries.
Each try ages every instance out (the local cloud's clock moves past the idle limit), so the
next call starts a new worker. Uses the packages `make package` built; starts its own local cloud
on ephemeral ports with a throw-away state folder.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ("session", "db")


def _unpacked_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _zipped_bytes(name: str) -> int:
    """build/<name>.zip when `make package` made one; otherwise the folder zipped here."""
    artifact = ROOT / "build" / f"{name}.zip"
    if artifact.exists():
        return artifact.stat().st_size
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        folder = ROOT / "build" / name
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return len(buffer.getvalue())


def _distributions(folder: Path) -> int:
    return len(list(folder.glob("*.dist-info")))


def _cold_starts(runs: int) -> dict[str, list[float]]:
    sys.path[:0] = [str(ROOT / "local"), str(ROOT / "shared")]  # this checkout, not an install
    from localcloud.clock import ShiftableClock
    from localcloud.cloud import CloudOptions, LocalCloud, Ports
    from localcloud.fc.workers import IDLE_SECONDS
    from localcloud.miniprogram import MiniProgram

    timings: dict[str, list[float]] = {name: [] for name in FUNCTIONS}
    clock = ShiftableClock()
    with tempfile.TemporaryDirectory() as state, LocalCloud(CloudOptions(
            repo_root=ROOT, state_dir=Path(state), template_path=ROOT / "template.yml",
            ports=Ports.ephemeral(),
            # Every login comes from 127.0.0.1: lift the per-IP limit as the tests do.
            parameters={"SessionRateLimitPerIp": "1000000",
                        "SessionRateLimitPerUser": "1000000"}), clock=clock) as cloud:
        config = cloud.cloud_config()
        for _ in range(runs):
            clock.advance(IDLE_SECONDS + 1)  # every warm instance is now idle too long
            app = MiniProgram(config)
            started = time.perf_counter()
            session = app.login()
            timings["session"].append(time.perf_counter() - started)
            started = time.perf_counter()
            answer = app.db(session, "list")
            timings["db"].append(time.perf_counter() - started)
            if "error" in answer:
                raise SystemExit(f"db answered an error: {answer}")
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="cold starts per function (default: 5)")
    args = parser.parse_args(argv)
    timings = _cold_starts(args.runs)
    print(f"{'function':10} {'zip':>9} {'unpacked':>9} {'dists':>6} "
          f"{'cold start (median of ' + str(args.runs) + ')':>28}")
    for name in FUNCTIONS:
        folder = ROOT / "build" / name
        median_ms = statistics.median(timings[name]) * 1000
        zipped, unpacked = _zipped_bytes(name) / 1e6, _unpacked_bytes(folder) / 1e6
        print(f"{name:10} {zipped:7.1f}MB {unpacked:7.1f}MB {_distributions(folder):6} "
              f"{median_ms:24.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

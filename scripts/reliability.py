"""`make reliability`: runs the reliability suites against a fresh local cloud — faults,
concurrency, abuse limits, properties and the 10,000-input handler fuzz — and prints the figures
docs/reliability.md quotes, as a plain-text table.

The suites report what they survived through `tests/metrics.py` (`record(name, n)`, one JSON line
per call into the file RELIABILITY_METRICS names); test outcomes come from pytest's JUnit XML.
Exits non-zero if a test failed or a single acknowledged write was lost or duplicated.

    .venv/bin/python scripts/reliability.py [--examples N] [extra pytest arguments]

FUZZ_EXAMPLES (default 10000) sets the inputs per handler; FUZZ_SEED replays a fuzz run.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = [
    "tests/e2e/test_faults.py",
    "tests/e2e/test_concurrency.py",
    "tests/e2e/test_rate_limits.py",
    "tests/e2e/test_properties.py",
    "tests/e2e/test_fuzz_handlers.py",
]
DEFAULT_EXAMPLES = "10000"
# (metric, row label); the order of the table.
ROWS = [
    ("faults_injected", "faults injected and survived"),
    ("conflicts_resolved", "concurrent conflicts resolved"),
    ("malformed_inputs", "malformed inputs tried"),
    ("acknowledged_writes", "acknowledged writes checked"),
    ("records_lost", "records lost (must be 0)"),
    ("records_duplicated", "records duplicated (must be 0)"),
]
MUST_BE_ZERO = ("records_lost", "records_duplicated")


def read_metrics(path: Path) -> Counter[str]:
    totals: Counter[str] = Counter()
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                totals[str(entry["metric"])] += int(entry["count"])
    return totals


def read_outcomes(path: Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) from pytest's JUnit XML; errors count as failures."""
    if not path.exists():
        return 0, 0, 0
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total - failed - skipped, failed, skipped


def duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in rows)
    value_width = max(len(value) for _, value in rows)
    lines = [
        f"{'measure'.ljust(width)}  {'value'.rjust(value_width)}",
        f"{'-' * width}  {'-' * value_width}",
    ]
    lines += [f"{label.ljust(width)}  {value.rjust(value_width)}" for label, value in rows]
    return "\n".join(lines)


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        description="Run the reliability suites (faults, concurrency, rate limits, properties, "
        "handler fuzz) against a fresh local cloud and print the figures table. "
        "Arguments it does not know go to pytest (e.g. -x, -k NAME).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--examples",
        default=os.environ.get("FUZZ_EXAMPLES", DEFAULT_EXAMPLES),
        help="malformed inputs per handler (environment FUZZ_EXAMPLES sets the default)",
    )
    return parser.parse_known_args(argv)


def main(argv: list[str]) -> int:
    options, argv = parse_args(argv)
    suites = [s for s in SUITES if (ROOT / s).exists()]
    missing = [s for s in SUITES if s not in suites]
    examples = str(options.examples)
    python = (
        os.path.relpath(sys.executable, ROOT)
        if Path(sys.executable).is_relative_to(ROOT)
        else Path(sys.executable).name
    )
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        metrics, junit = Path(tmp) / "metrics.jsonl", Path(tmp) / "junit.xml"
        pytest_args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", *suites, *argv]
        env = {**os.environ, "RELIABILITY_METRICS": str(metrics), "FUZZ_EXAMPLES": examples}
        started = time.monotonic()
        code = subprocess.run(
            [sys.executable, *pytest_args, f"--junitxml={junit}"], cwd=ROOT, env=env
        ).returncode
        wall = time.monotonic() - started
        totals = read_metrics(metrics)
        passed, failed, skipped = read_outcomes(junit)
    if code != 0 and failed == 0:
        failed = 1  # pytest itself failed (collection error, interrupted): never report green
    rows = [(label, f"{totals.get(name, 0):,}") for name, label in ROWS]
    rows += [
        (name.replace("_", " "), f"{count:,}")
        for name, count in sorted(totals.items())
        if name not in dict(ROWS)
    ]
    rows += [
        (
            "tests passed / failed",
            f"{passed} / {failed}" + (f" ({skipped} skipped)" if skipped else ""),
        ),
        ("wall time", duration(wall)),
    ]
    command = f"FUZZ_EXAMPLES={examples} {python} {shlex.join(pytest_args)}"
    print("\nReliability report (make reliability)\n")
    print(table(rows))
    print(f"\nproduced by: {command}")
    if missing:
        print("suites not present, not run: " + ", ".join(missing))
    broken = [name for name in MUST_BE_ZERO if totals.get(name, 0)]
    if failed or broken:
        print(
            "\nRELIABILITY CHECK FAILED: "
            + ", ".join(
                [f"{failed} test(s) failed"] * bool(failed)
                + [f"{name} = {totals[name]}" for name in broken]
            )
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

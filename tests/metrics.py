"""Counters the reliability suites report to `make reliability` (scripts/reliability.py).

A test calls `record("faults_injected", n)` after its assertions held, so a count always means
"happened and was survived". Outside `make reliability` (no RELIABILITY_METRICS in the
environment) recording does nothing. Names in use:

    faults_injected      faults the local cloud injected during a passing test
    conflicts_resolved   concurrent writes answered Conflict while exactly one won
    malformed_inputs     malformed events and bodies fed to the handlers
    acknowledged_writes  writes the client was told succeeded, checked at the end of a test
    records_lost         acknowledged writes missing at the end (must stay 0)
    records_duplicated   writes stored twice, e.g. by a retry (must stay 0)
"""

from __future__ import annotations

import json
import os
import threading

_lock = threading.Lock()


def record(name: str, count: int = 1) -> None:
    path = os.environ.get("RELIABILITY_METRICS")
    if not path:
        return
    with _lock, open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"metric": name, "count": int(count)}) + "\n")


def fuzz_examples(default: int) -> int:
    """How many generated inputs a fuzz test tries: small in `make test`, large in
    `make reliability` (FUZZ_EXAMPLES)."""
    return int(os.environ.get("FUZZ_EXAMPLES", default))

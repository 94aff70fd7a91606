"""`make bench`'s memory figures: the peak resident memory of each function's instances, and the
smallest Function Compute memory size that holds it with headroom.

A thread reads the high-water mark of every live instance (`VmHWM` in /proc/<pid>/status, the
kernel's peak resident set of the process) ten times a second while the bench runs, and keeps
the highest per function. An instance that grows and is stopped between two readings is missed
by at most that tenth of a second of growth.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

# FC 2.0 memory sizes: 128 MB to 32 GB in steps of 64 MB (MemorySize, ALIYUN::FC::Function).
FC_MIN_MB, FC_STEP_MB = 128, 64
# What the chosen size holds beyond the measured peak: a 10,000-row answer larger than the
# bench's, another Python build's allocator, a library's own growth.
HEADROOM = 1.5


def peak_kb(pid: int) -> int:
    """The process's peak resident set (VmHWM) in kB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def fc_size_mb(peak_mb: float, headroom: float = HEADROOM) -> int:
    """The smallest FC memory size that holds `peak_mb` times `headroom`."""
    need = peak_mb * headroom
    size = FC_MIN_MB
    while size < need:
        size += FC_STEP_MB
    return size


class PeakMemory:
    """Samples the functions' instances while open: `with PeakMemory(cloud, functions) as m:`,
    then `m.peaks_mb` is {function: peak MB}. `functions` maps a name to (service, function)."""

    def __init__(self, cloud: Any, functions: dict[str, tuple[str, str]], every: float = 0.1):
        self._cloud = cloud
        self._functions = functions
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-memory")
        self.peaks_kb = {name: 0 for name in functions}

    @property
    def peaks_mb(self) -> dict[str, float]:
        return {name: kb / 1024 for name, kb in self.peaks_kb.items()}

    def sample(self) -> None:
        for name, (service, function) in self._functions.items():
            pids: Iterable[int] = self._cloud.fc.instance_pids(service, function)
            for pid in pids:
                self.peaks_kb[name] = max(self.peaks_kb[name], peak_kb(pid))

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self.sample()

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.sample()
        self._stop.set()
        self._thread.join()


def print_memory(peaks_mb: dict[str, float], declared_mb: dict[str, int], source: str) -> None:
    print()
    print(f"Peak memory per function ({source}); FC size = smallest holding {HEADROOM}x the peak")
    print(f"| {'function':8} | {'peak RSS':>9} | {'FC size':>8} | {'template':>8} |")
    print(f"|{'-' * 10}|{'-' * 11}|{'-' * 10}|{'-' * 10}|")
    for name, peak in peaks_mb.items():
        print(
            f"| {name:8} | {peak:6.1f} MB | {fc_size_mb(peak):5} MB | "
            f"{declared_mb.get(name, 0):5} MB |"
        )

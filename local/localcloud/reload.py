"""Reload on edit: when a source of a function or of the shared library changes, rebuild the
packages (`scripts/package.py`, exactly what `make package` runs, so what runs is still what
would be deployed) and recycle the functions' instances: the next invocation is a cold start on
the new code. Each reload is reported in one line.

Why polling modification times, not a file-system event library: the watched trees are a few
hundred files, so one `stat` pass a second costs nothing measurable; it behaves the same on
Linux, macOS and inside containers or network mounts (where inotify misses edits); and it needs
no compiled dependency in the developer's environment. An editor's burst of saves is taken as
one change: the rebuild starts once the tree has been quiet for one poll.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("localcloud.reload")

WATCHED = ("functions", "shared")  # under the repository root
IGNORED_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache"}
IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", "~")

Snapshot = dict[Path, float]


def snapshot(roots: list[Path]) -> Snapshot:
    found: Snapshot = {}
    for root in roots:
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            if IGNORED_PARTS.intersection(path.parts) or path.name.endswith(IGNORED_SUFFIXES):
                continue
            try:
                if path.is_file():
                    found[path] = path.stat().st_mtime
            except OSError:  # deleted between listing and stat
                continue
    return found


def changed(before: Snapshot, after: Snapshot) -> list[Path]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def build_failure(output: str) -> list[str]:
    """What the package script said about its failure: from its last `make package:` line on
    (every broken declaration rule, one a line), else the last line of its output."""
    lines = output.strip().splitlines() or ["no output"]
    starts = [i for i, line in enumerate(lines) if line.startswith("make package:")]
    return lines[starts[-1] :] if starts else lines[-1:]


class CodeWatcher:
    """Background thread: poll, then on a settled change rebuild and call `recycle`."""

    def __init__(
        self,
        repo_root: Path,
        recycle: Callable[[], None],
        report: Callable[[str], None],
        every: float = 1.0,
    ) -> None:
        self._root = repo_root
        self._roots = [repo_root / name for name in WATCHED]
        self._recycle = recycle
        self._report = report
        self._every = every
        self._stop = threading.Event()
        self._seen = snapshot(self._roots)
        self._thread = threading.Thread(target=self._run, daemon=True, name="localcloud-reload")
        self.reloads = 0

    def start(self) -> CodeWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            now = snapshot(self._roots)
            edits = changed(self._seen, now)
            if not edits:
                continue
            # Wait until the tree stops moving (an editor or `git checkout` writes many files).
            while not self._stop.wait(self._every):
                later = snapshot(self._roots)
                if later == now:
                    break
                edits = sorted(set(edits) | set(changed(now, later)))
                now = later
            self._seen = now
            try:
                self.reload(edits)
            except Exception:  # pragma: no cover - the watcher must outlive any one reload
                log.exception("reload failed")

    def reload(self, edits: list[Path]) -> None:
        names = [str(p.relative_to(self._root)) for p in edits[:3]]
        more = f" and {len(edits) - 3} more" if len(edits) > 3 else ""
        started = time.monotonic()
        build = subprocess.run(
            [sys.executable, str(self._root / "scripts" / "package.py")],
            cwd=self._root,
            capture_output=True,
            text=True,
        )
        if build.returncode != 0:
            self._report(
                f"reload: {', '.join(names)}{more} changed; the package build failed, "
                f"so the cloud keeps serving the last good package:\n"
                + "\n".join(f"  {line}" for line in build_failure(build.stderr or build.stdout))
            )
            return
        self._recycle()
        self.reloads += 1
        self._report(
            f"reload: {', '.join(names)}{more} changed; packages rebuilt in "
            f"{time.monotonic() - started:.1f} s, instances recycled (next invocation "
            f"starts cold on the new code)"
        )

"""Work that runs when the local clock reaches its time: FC timer triggers and the Alipay
gateway's notifies (and their retries).

Each piece of timed work is a `Job`: it says when it is next due (local clock, None for never)
and runs what is due. The `Scheduler` runs every due job from a background thread, polling in
real time, and at once whenever the clock is advanced, before `advance` returns: a test that
moves time sees the work done (a timer fired, a notify retried) when its call comes back. Jobs
run one at a time, in the order they were added.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from .clock import Clock

log = logging.getLogger("localcloud.schedule")

POLL_SECONDS = 1.0  # real time between two looks when the clock is not moved


class Job(Protocol):
    def next_due(self) -> float | None: ...

    def run_due(self, now: float) -> None: ...


class Scheduler:
    def __init__(self, clock: Clock, poll: float = POLL_SECONDS) -> None:
        self._clock = clock
        self._poll = poll
        self._jobs: list[Job] = []
        self._run_lock = threading.Lock()  # one tick at a time, whoever asks
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        subscribe = getattr(clock, "subscribe", None)
        if subscribe is not None:
            subscribe(self.tick)  # a moved clock runs what became due, in the mover's thread

    def add(self, job: Job) -> None:
        with self._run_lock:
            self._jobs.append(job)
        self.wake()

    def start(self) -> Scheduler:
        if self._thread is None:
            self._stopped.clear()
            self._thread = threading.Thread(
                target=self._loop, daemon=True, name="localcloud-scheduler"
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def wake(self) -> None:
        """Look again now (work was added that may already be due)."""
        self._wake.set()

    def tick(self) -> None:
        """Run every job that is due by the clock, each once."""
        with self._run_lock:
            if self._stopped.is_set():
                return  # a stopped cloud's clock may still be moved by a test: nothing runs
            now = self._clock.now()
            for job in list(self._jobs):
                due = job.next_due()
                if due is None or due > now:
                    continue
                try:
                    job.run_due(now)
                except Exception:  # one broken job must not stop the others or the loop
                    log.exception("scheduled job %r failed", job)

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self.tick()
            self._wake.wait(self._poll)
            self._wake.clear()

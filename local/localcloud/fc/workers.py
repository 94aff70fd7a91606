"""Function instances as worker processes, and the per-function pool that schedules them.

As on FC: the first request to a function starts an instance (cold start) and runs its
initializer once; later requests reuse a warm instance while it has room (InstanceConcurrency
requests at once); when every instance is busy a new one starts, up to `MAX_INSTANCES` per
function, beyond which requests are throttled. Idle instances are stopped after `IDLE_SECONDS`
(read on the injected clock, so tests can age them). A request that overruns its timeout kills
its instance: that is the only way to stop Python code that does not cooperate.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..clock import Clock
from . import protocol

log = logging.getLogger("localcloud.fc.workers")

MAX_INSTANCES = 10
IDLE_SECONDS = 300.0
# 256 KB, not more: a pipe's pages count against the user's pipe-user-pages-soft (64 MB by
# default for a user other than root), past which every new pipe of that user, in any program,
# gets 8 KB; 256 KB leaves room for 256 instances.
PIPE_BYTES = 256 << 10
# How long a stopped instance may take to exit before it is killed (scripts/bench_instructions.py
# raises it: under callgrind an exit takes seconds, and a killed worker leaves no count).
STOP_GRACE_SECONDS = 2.0
READY_TIMEOUT = 30.0  # generous: a loaded laptop may take a while to start Python
# The worker program, loaded by path: the function's Python must not import the local cloud.
RUNTIME_SCRIPT = Path(__file__).resolve().with_name("runtime.py")
# How a worker starts: load runtime.py as a module rather than run it as a script, so that its
# bytecode (and protocol.py's), compiled once per interpreter by `compile_runtime`, is used. A
# script is compiled from source at every start: 10 ms of every cold start on python3.10 here
# (cold start), a cost of this emulator that FC's own runtime does not charge a function.
_BOOT = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('_localcloud_fc_runtime', sys.argv[1])\n"
    "runtime = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(runtime)\n"
    "sys.exit(runtime.main(sys.argv[1:]))\n"
)


@functools.cache
def compile_runtime(python: str) -> None:
    """Bytecode of the worker program for `python` (__pycache__ beside it, timestamp-checked, so
    an edited runtime.py is compiled from source again until this runs next). Where the folder
    cannot be written, workers compile from source as a script would."""
    sources = [str(RUNTIME_SCRIPT), str(RUNTIME_SCRIPT.with_name("protocol.py"))]
    done = subprocess.run(
        [
            python,
            "-I",
            "-S",
            "-c",
            "import py_compile, sys\nfor f in sys.argv[1:]: py_compile.compile(f, doraise=True)",
            *sources,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        log.info("worker bytecode not written for %s: %s", python, done.stderr.strip()[-300:])


def _widen(fd: int) -> None:
    """A wider pipe than Linux's default 64 KB: the worker writes a 0.76 MB 2020 list in three
    turns of write, wake the reader, read, instead of a dozen."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (AttributeError, OSError):  # not Linux, or over /proc/sys/fs/pipe-max-size
        pass


class Throttled(Exception):
    """Every instance is busy and the function may not start another."""


class InstanceFailed(Exception):
    """The instance died (crash or kill) or overran the timeout before answering."""

    def __init__(self, reason: str, timed_out: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    answer: dict[str, Any] | None = None
    failure: str | None = None


class Instance:
    """One worker process running one function, on `python` (the runtime's interpreter)."""

    def __init__(
        self,
        python: str,
        code_dir: str,
        env: dict[str, str],
        instance_id: str,
        credentials_usable: Callable[[], bool],
    ) -> None:
        self.instance_id = instance_id
        self.credentials_usable = credentials_usable
        self.inflight = 0
        self.last_used = 0.0
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._dead: str | None = None
        compile_runtime(python)
        cmd_read, self._cmd_write = os.pipe()
        self._result_read, result_write = os.pipe()
        _widen(result_write)
        try:
            # -I: no PYTHON* variables, no user site, nothing prepended to sys.path;
            # -S: no site-packages at all; -B: the code package stays exactly as built. The
            # worker then adds the code folder (its cwd): stdlib + package, as on FC.
            self._process = subprocess.Popen(
                [
                    python,
                    "-I",
                    "-S",
                    "-B",
                    "-c",
                    _BOOT,
                    str(RUNTIME_SCRIPT),
                    str(cmd_read),
                    str(result_write),
                ],
                cwd=code_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                pass_fds=(cmd_read, result_write),
                start_new_session=True,
            )  # Ctrl-C on the local cloud must not hit functions
        finally:
            os.close(cmd_read)
            os.close(result_write)
        self._ready = _Pending()
        self._pending["ready"] = self._ready
        threading.Thread(
            target=self._read_answers, daemon=True, name=f"fc-instance-{instance_id}"
        ).start()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._dead is None

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        if not self._ready.done.wait(timeout) or self._ready.failure:
            reason = self._ready.failure or "the runtime did not start in time"
            self.kill(reason)
            raise InstanceFailed(reason, timed_out=False)

    def call(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        call_id = uuid.uuid4().hex
        pending = _Pending()
        with self._lock:
            if self._dead:
                raise InstanceFailed(self._dead, timed_out=False)
            self._pending[call_id] = pending
        try:
            with self._send_lock:
                protocol.send(self._cmd_write, {**message, "id": call_id})
        except OSError:
            self._fail_all("Process exited unexpectedly before completing request")
        if not pending.done.wait(timeout):
            self.kill("killed after another request on this instance timed out")
            raise InstanceFailed("timeout", timed_out=True)
        if pending.failure:
            raise InstanceFailed(pending.failure, timed_out=False)
        assert pending.answer is not None
        return pending.answer

    def stop(self) -> None:
        """Ask the runtime to exit; kill it if it does not."""
        if self._dead:
            return
        try:
            with self._send_lock:
                protocol.send(self._cmd_write, {"op": "exit"})
            self._process.wait(timeout=STOP_GRACE_SECONDS)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill("instance stopped")

    def kill(self, reason: str) -> None:
        if self._process.poll() is None:
            try:  # the whole session: processes the function started die with it
                os.killpg(self._process.pid, signal.SIGKILL)
            except OSError:
                self._process.kill()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process that ignores SIGKILL
            log.warning("instance %s did not die", self.instance_id)
        self._fail_all(reason)

    def _read_answers(self) -> None:
        try:
            while True:
                answer = protocol.receive(self._result_read)
                with self._lock:
                    pending = self._pending.pop(str(answer.get("id")), None)
                if pending is not None:
                    pending.answer = answer
                    pending.done.set()
        except (protocol.ChannelClosed, OSError, ValueError):
            self._fail_all("Process exited unexpectedly before completing request")
        finally:
            try:
                os.close(self._result_read)
            except OSError:
                pass

    def _fail_all(self, reason: str) -> None:
        with self._lock:
            if self._dead is None:
                self._dead = reason
                try:
                    os.close(self._cmd_write)
                except OSError:
                    pass
            pending, self._pending = list(self._pending.values()), {}
        for item in pending:
            item.failure = reason
            item.done.set()


InstanceFactory = Callable[[str], Instance]


class FunctionPool:
    """The instances of one function."""

    def __init__(
        self,
        factory: InstanceFactory,
        concurrency: int,
        clock: Clock,
        max_instances: int = MAX_INSTANCES,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self._factory = factory
        self._concurrency = concurrency
        self._clock = clock
        self._max = max_instances
        self._idle = idle_seconds
        self._instances: list[Instance] = []
        self._starting = 0
        self._closed = False
        self._lock = threading.Lock()

    def acquire(self, initialize: Callable[[Instance], None]) -> tuple[Instance, bool]:
        """An instance with room for one more request, and whether it was just started.
        `initialize` runs once on a new instance before anyone else may use it; if it raises,
        it must have killed the instance."""
        self.reap()
        with self._lock:
            if self._closed:
                raise Throttled()
            for instance in self._instances:
                if (
                    instance.alive
                    and instance.credentials_usable()
                    and instance.inflight < self._concurrency
                ):
                    instance.inflight += 1
                    instance.last_used = self._clock.now()
                    return instance, False
            if len(self._instances) + self._starting >= self._max:
                raise Throttled()
            self._starting += 1
        try:
            instance = self._factory(uuid.uuid4().hex[:16])
            instance.wait_ready()
            initialize(instance)
        finally:
            with self._lock:
                self._starting -= 1
        with self._lock:
            closed = self._closed
            if not closed:
                instance.inflight = 1
                instance.last_used = self._clock.now()
                self._instances.append(instance)
        if closed:  # the emulator closed while this instance was starting
            instance.stop()
            raise Throttled()
        return instance, True

    def release(self, instance: Instance) -> None:
        with self._lock:
            instance.inflight -= 1
            instance.last_used = self._clock.now()
            done = self._closed and instance.inflight == 0 and instance in self._instances
            if done:  # a retired pool stops each instance once its last request is answered
                self._instances.remove(instance)
        if done:
            instance.stop()

    def retire(self) -> None:
        """Take no new request; stop idle instances now and busy ones when they finish (the
        code changed: new requests go to a new pool, cold, on the new code)."""
        with self._lock:
            self._closed = True
            idle = [i for i in self._instances if i.inflight == 0]
            self._instances = [i for i in self._instances if i.inflight > 0]
        for instance in idle:
            instance.stop()

    def reap(self) -> None:
        """Drop dead instances; stop idle ones and those whose role credentials ran out."""
        now = self._clock.now()
        with self._lock:
            stale = [
                i
                for i in self._instances
                if i.inflight == 0
                and (not i.alive or now - i.last_used > self._idle or not i.credentials_usable())
            ]
            self._instances = [i for i in self._instances if i not in stale]
        for instance in stale:
            instance.stop()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            instances, self._instances = self._instances, []
        # In parallel: each instance may take a moment to exit, and shutdown waits for all.
        threads = [threading.Thread(target=i.stop, daemon=True) for i in instances]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def instances(self) -> list[Instance]:
        with self._lock:
            return [i for i in self._instances if i.alive]

    def describe(self) -> list[dict[str, Any]]:
        """The live instances, for the console: id, requests running, when last used."""
        with self._lock:
            return [
                {"instance": i.instance_id, "inflight": i.inflight, "lastUsed": i.last_used}
                for i in self._instances
                if i.alive
            ]

    def pids(self) -> list[int]:
        with self._lock:
            return [i.pid for i in self._instances if i.alive]


class Reaper:
    """Background thread that ages out idle instances even when no request comes."""

    def __init__(self, pools: Callable[[], list[FunctionPool]], every: float = 10.0) -> None:
        self._pools = pools
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fc-reaper")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            for pool in self._pools():
                try:
                    pool.reap()
                except Exception:  # pragma: no cover - never let the reaper die
                    log.exception("reaping failed")

    def stop(self) -> None:
        self._stop.set()

"""Running one request on a function: pick or start an instance, send the request, turn what
comes back (or the lack of it) into an `Outcome`, and write the invocation's log where FC would
(the `x-fc-log-result` tail and the service's logstore)."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ..account import Account
from ..clock import Clock
from ..template import FunctionDecl, ServiceDecl, Template
from . import errors
from .context import CredentialIssuer, RoleCredentialCache, context_dict, instance_environment
from .interpreters import Interpreter, find_python
from .invocations import Invocation, InvocationLog, collection_of, op_of, outcome_of
from .workers import (
    FunctionPool,
    Instance,
    InstanceFailed,
    Reaper,
    Throttled,
    compile_runtime,
)

log = logging.getLogger("localcloud.fc")
function_log = logging.getLogger("localcloud.fc.functions")

TAIL_BYTES = 4096
CRASHED = "Process exited unexpectedly before completing request"


class LogSink(Protocol):
    def write(
        self,
        project: str,
        logstore: str,
        records: list[dict[str, str]],
        topic: str = "",
        source: str = "",
    ) -> Any: ...


@dataclass(frozen=True)
class Outcome:
    request_id: str
    error: dict[str, Any] | None  # FC's {"errorMessage", "errorType", "stackTrace"} on failure
    body: bytes = b""  # event function result, or the WSGI body
    status: str | None = None  # WSGI status line (HTTP functions only)
    headers: tuple[tuple[str, str], ...] = ()
    log: str = ""  # the invocation's whole log, FC's Start/End lines included
    duration_ms: float = 0.0

    @property
    def log_tail(self) -> bytes:
        return self.log.encode("utf-8")[-TAIL_BYTES:]


class _InitFailed(Exception):
    def __init__(self, error: dict[str, Any], log_text: str) -> None:
        super().__init__(error.get("errorMessage", "initializer failed"))
        self.error = error
        self.log_text = log_text


class Invoker:
    def __init__(
        self,
        *,
        template: Template,
        account: Account,
        clock: Clock,
        issuer: CredentialIssuer,
        log_sink: LogSink | None,
        extra_env: Mapping[str, str],
        region: str,
        invocations: InvocationLog | None = None,
        runtimes: Iterable[str] = (),
    ) -> None:
        # Found now, not at the first call: a runtime the local cloud cannot run faithfully
        # stops it at start (interpreters.NoMatchingPython), with the fix in the message.
        # `runtimes`: those of functions a stack will bring (make dev's), checked now as well.
        self.interpreters: dict[str, Interpreter] = {
            runtime: find_python(runtime)
            for runtime in sorted(
                {f.runtime for s in template.services for f in s.functions} | set(runtimes)
            )
        }
        for runtime, interpreter in self.interpreters.items():
            log.info("functions with Runtime %s run on %s", runtime, interpreter.describe())
            compile_runtime(interpreter.path)  # now, not in the first cold start
        self._template = template
        self.invocations = invocations or InvocationLog()
        self._account = account
        self._clock = clock
        self._credentials = RoleCredentialCache(issuer, clock)
        self._log_sink = log_sink
        self._extra_env = extra_env  # read at each cold start: the caller may fill it late
        self._region = region
        self._pools: dict[tuple[str, str], FunctionPool] = {}
        self._closed = False
        self._lock = threading.Lock()
        self._reaper = Reaper(lambda: list(self._pools.values()))
        # Workers outlive a parent that exits without close(); make sure they do not.
        atexit.register(self.close)

    def pool(self, service: ServiceDecl, function: FunctionDecl) -> FunctionPool:
        key = (service.name, function.name)
        with self._lock:
            if self._closed:
                raise Throttled()
            if key not in self._pools:
                self._pools[key] = FunctionPool(
                    lambda instance_id: self._start(service, function, instance_id),
                    function.instance_concurrency,
                    self._clock,
                )
            return self._pools[key]

    def retire(self, service_name: str) -> None:
        """Stop the instances of one service; its next call starts fresh ones."""
        with self._lock:
            keys = [k for k in self._pools if k[0] == service_name]
            pools = [self._pools.pop(k) for k in keys]
        for pool in pools:
            pool.close()

    def instance_pids(self, service: str, function: str) -> list[int]:
        """The process ids of the function's live instances."""
        with self._lock:
            pool = self._pools.get((service, function))
        return pool.pids() if pool else []

    def loaded_modules(self, service: str, function: str) -> tuple[set[str], set[str]]:
        """The module files the function's live instances have imported, and their sys.path."""
        with self._lock:
            pool = self._pools.get((service, function))
        files: set[str] = set()
        path: set[str] = set()
        for instance in pool.instances() if pool else []:
            answer = instance.call({"op": "modules"}, timeout=10)
            files.update(answer.get("files", []))
            path.update(answer.get("path", []))
        return files, path

    def instances(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Live instances per (service, function); a function never invoked has none."""
        with self._lock:
            pools = dict(self._pools)
        return {key: pool.describe() for key, pool in pools.items()}

    def recycle(self) -> None:
        """Retire every function's instances: the next invocation of each is a cold start
        (on rebuilt code, after a reload). Requests running now finish on their instance."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.retire()

    def close(self) -> None:
        self._reaper.stop()
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def run(
        self,
        service: ServiceDecl,
        function: FunctionDecl,
        qualifier: str | None,
        request_id: str,
        message: dict[str, Any],
    ) -> Outcome:
        """Run `message` ({"op": "invoke", "event": ...} or {"op": "http", ...}); raises
        `workers.Throttled` when no instance can take it."""
        started = time.monotonic()
        try:
            credentials = self._credentials.for_service(service)
        # The issuer refused (e.g. a role the local STS does not know)
        except Exception as exc:  # noqa: BLE001
            log.warning("assuming %s for %s failed: %s", service.role_arn, service.name, exc)
            raise errors.FcApiError(
                403,
                "AccessDenied",
                f"Function Compute could not assume the service role '{service.role_arn}'",
            ) from None
        context = context_dict(
            request_id=request_id,
            service=service,
            function=function,
            credentials=credentials,
            qualifier=qualifier or "LATEST",
            region=self._region,
            account_id=self._account.account_id,
        )
        init_log = ""

        def initialize(instance: Instance) -> None:
            nonlocal init_log
            if function.initializer:
                init_log = self._initialize(instance, function, context)

        pool = self.pool(service, function)
        seen = (message, True)  # what the invocation line reports: the request, cold or warm
        try:
            instance, cold = pool.acquire(initialize)
        except _InitFailed as failed:
            return self._finish(
                service,
                function,
                qualifier,
                Outcome(
                    request_id,
                    failed.error,
                    log=failed.log_text,
                    duration_ms=(time.monotonic() - started) * 1000,
                ),
                seen,
            )
        except InstanceFailed as failed:
            return self._finish(
                service,
                function,
                qualifier,
                Outcome(
                    request_id,
                    {"errorMessage": failed.reason},
                    log=_framed("Invoke", request_id, failed.reason + "\n"),
                    duration_ms=(time.monotonic() - started) * 1000,
                ),
                seen,
            )
        seen = (message, cold)
        try:
            answer = instance.call({**message, "context": context}, timeout=function.timeout)
        except InstanceFailed as failed:
            reason = (
                f"Function timed out after {function.timeout} seconds"
                if failed.timed_out
                else CRASHED
            )
            outcome = Outcome(
                request_id,
                {"errorMessage": reason},
                log=init_log + _framed("Invoke", request_id, reason + "\n"),
            )
        else:
            outcome = Outcome(
                request_id,
                None if answer.get("ok") else answer.get("error"),
                body=answer.get("body") or b"",
                status=answer.get("status"),
                headers=tuple(tuple(h) for h in answer.get("headers") or ()),
                log=init_log + _framed("Invoke", request_id, answer.get("log", "")),
            )
        finally:
            pool.release(instance)
        return self._finish(
            service,
            function,
            qualifier,
            replace(outcome, duration_ms=(time.monotonic() - started) * 1000),
            seen,
        )

    # -- internals ---------------------------------------------------------------------------
    def _start(self, service: ServiceDecl, function: FunctionDecl, instance_id: str) -> Instance:
        credentials = self._credentials.for_service(service)
        env = instance_environment(
            service=service,
            function=function,
            credentials=credentials,
            extra_env=dict(self._extra_env),
            qualifier="LATEST",
            region=self._region,
            account_id=self._account.account_id,
            instance_id=instance_id,
        )
        if function.runtime not in self.interpreters:  # a function deployed after start
            self.interpreters[function.runtime] = find_python(function.runtime)
        return Instance(
            self.interpreters[function.runtime].path,
            str(function.code_dir),
            env,
            instance_id,
            lambda: self._credentials.usable(credentials),
        )

    def _initialize(
        self, instance: Instance, function: FunctionDecl, context: dict[str, Any]
    ) -> str:
        request_id = context["request_id"]
        try:
            answer = instance.call(
                {"op": "init", "context": context}, timeout=function.initialization_timeout
            )
        except InstanceFailed as failed:
            instance.kill("initializer failed")
            reason = (
                f"Function initialization timed out after {function.initialization_timeout} seconds"
                if failed.timed_out
                else CRASHED
            )
            raise _InitFailed(
                {"errorMessage": reason}, _framed("Initialize", request_id, reason + "\n")
            ) from None
        text = _framed("Initialize", request_id, answer.get("log", ""))
        if not answer.get("ok"):
            instance.kill("initializer failed")
            raise _InitFailed(answer.get("error") or {"errorMessage": "initializer failed"}, text)
        return text

    def _finish(
        self,
        service: ServiceDecl,
        function: FunctionDecl,
        qualifier: str | None,
        outcome: Outcome,
        seen: tuple[dict[str, Any], bool],
    ) -> Outcome:
        message, cold = seen
        try:
            event = message.get("event") or b"" if message.get("op") == "invoke" else b""
            self.invocations.add(
                Invocation(
                    time=time.time(),
                    service=service.name,
                    function=function.name,
                    request_id=outcome.request_id,
                    op=op_of(message, event),
                    collection=collection_of(message, event),
                    outcome=outcome_of(outcome.error, outcome.body, outcome.status),
                    latency_ms=outcome.duration_ms,
                    cold=cold,
                )
            )
        except Exception:  # what the developer watches must never fail the invocation itself
            log.exception("recording invocation %s failed", outcome.request_id)
        for line in outcome.log.splitlines():
            function_log.info("%s/%s %s", service.name, function.name, line)
        if self._log_sink is not None and service.log_project and service.log_store:
            records = [
                {
                    "message": line,
                    "serviceName": service.name,
                    "functionName": function.name,
                    "qualifier": qualifier or "LATEST",
                    "requestId": outcome.request_id,
                }
                for line in outcome.log.splitlines()
                if line.strip()
            ]
            try:
                self._log_sink.write(
                    service.log_project,
                    service.log_store,
                    records,
                    topic=f"FCLogs:{function.name}",
                    source="localcloud-fc",
                )
            except Exception:  # a logstore problem must not fail the invocation
                log.exception("shipping logs of %s/%s failed", service.name, function.name)
        return outcome


def _framed(phase: str, request_id: str, text: str) -> str:
    if text and not text.endswith("\n"):
        text += "\n"
    return (
        f"FC {phase} Start RequestId: {request_id}\n{text}FC {phase} End RequestId: {request_id}\n"
    )

"""The Function Compute emulator's HTTP face: InvokeFunction, GetFunction and HTTP triggers,
with FC's signatures, RAM checks, limits, error codes and injected faults. Running functions is the
invoker's job; this module decides whether a request may run and how the answer looks.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from ..account import Account
from ..clock import Clock
from ..credentials import CredentialBook, Principal
from ..faults import DropConnection, Fault, FaultApplier, FaultBoard, kinds_of
from ..httpshell import HttpRequest, HttpResponse
from ..policy import PolicyError, any_allows, fc_function_resource, is_allowed
from ..schedule import Scheduler
from ..template import FunctionDecl, ServiceDecl, Template, TimerDecl
from . import errors
from .configuration import ACTION as GET_FUNCTION
from .configuration import function_configuration
from .context import CredentialIssuer
from .errors import FcApiError
from .interpreters import Interpreter
from .invocations import InvocationLog
from .invoker import Invoker, LogSink, Outcome
from .signing import authenticate
from .timers import TimerTriggers
from .triggers import PROXY_PREFIX, parse_target, wsgi_environ, wsgi_response
from .workers import Throttled

log = logging.getLogger("localcloud.fc")

FAULT_KINDS = kinds_of("fc")
# What FC answers for its own fault kinds (faults.ANSWERS["fc"]).
FAULT_ERRORS = {"busy": errors.throttled, "internal_error": errors.internal_error}
ACTION = "fc:InvokeFunction"
# FC can run many invocations at once (10 instances per function here, plus the admin board).
FRONT_END_THREADS = 64
_INVOKE = re.compile(r"/2016-08-15/services/([^/]+)/functions/([^/]+)/invocations")
_FUNCTION = re.compile(r"/2016-08-15/services/([^/]+)/functions/([^/]+)")


class FunctionComputeEmulator:
    def __init__(
        self,
        *,
        template: Template,
        account: Account,
        credentials: CredentialBook,
        clock: Clock,
        faults: FaultBoard,
        issuer: CredentialIssuer,
        log_sink: LogSink | None,
        extra_env: Mapping[str, str],
        region: str,
        runtimes: Iterable[str] = (),
        scheduler: Scheduler | None = None,
    ) -> None:
        """`scheduler` runs the timer triggers (the cloud's shared one; None: one of its own)."""
        self._template = template
        self._account = account
        self._book = credentials
        self._faults = FaultApplier(faults, "fc")
        self._region = region
        self._invoker = Invoker(
            template=template,
            account=account,
            clock=clock,
            issuer=issuer,
            log_sink=log_sink,
            extra_env=extra_env,
            region=region,
            runtimes=runtimes,
        )
        # Where this emulator is served (set it once the HttpServer runs); only
        # `http_trigger_url` needs it.
        self.endpoint: str | None = None
        self.timers = TimerTriggers(clock, self._fire)
        self.timers.arm(template)
        self._own_scheduler = scheduler is None
        self._scheduler = scheduler or Scheduler(clock).start()
        self._scheduler.add(self.timers)

    # -- public API --------------------------------------------------------------------------
    @staticmethod
    def server_options() -> dict[str, Any]:
        """How FC's front end is served (`HttpServer` keyword arguments): bodies over FC's
        limit are refused before any function runs, with FC's error body."""
        return {
            "max_body_bytes": errors.MAX_SYNC_PAYLOAD,
            "refuse": errors.refusal,
            "threads": FRONT_END_THREADS,
        }

    def app(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        if request.path.startswith(PROXY_PREFIX):
            api: str | None = "HttpTrigger"
        else:
            api = (
                "InvokeFunction"
                if _INVOKE.fullmatch(request.path)
                else "GetFunction"
                if _FUNCTION.fullmatch(request.path)
                else None
            )

        def refuse(fault: Fault) -> HttpResponse:
            return FAULT_ERRORS[fault.kind]().with_code(fault.code).response(request_id)

        return self._faults.around(api, lambda: self._answer(request, request_id), refuse)

    def _answer(self, request: HttpRequest, request_id: str) -> HttpResponse:
        try:
            if request.path.startswith(PROXY_PREFIX):
                return self._http_trigger(request, request_id)
            function = _FUNCTION.fullmatch(request.path)
            if function is not None and request.method == "GET":
                return self._get_function(request, request_id, *function.groups())
            invoke = _INVOKE.fullmatch(request.path)
            if invoke is None or request.method != "POST":
                raise errors.path_not_supported(request.method, request.path)
            return self._invoke(request, request_id, invoke.group(1), invoke.group(2))
        except FcApiError as error:
            return error.response(request_id)
        except DropConnection:
            raise
        except Exception:  # an emulator bug: still answer in FC's format, log the trace here
            log.exception("request %s %s failed", request.method, request.path)
            return errors.internal_error().response(request_id)

    @property
    def interpreters(self) -> Mapping[str, Interpreter]:
        """The Python each runtime of the template runs on."""
        return dict(self._invoker.interpreters)

    def instance_pids(self, service: str, function: str) -> list[int]:
        """The process ids of the function's live instances (`make bench` reads their memory)."""
        return self._invoker.instance_pids(service, function)

    def loaded_modules(self, service: str, function: str) -> tuple[set[str], set[str]]:
        """Every module file the function's running instances have imported (what its package
        must contain, and all it needs to: tests/package), and their sys.path entries."""
        return self._invoker.loaded_modules(service, function)

    @property
    def invocations(self) -> InvocationLog:
        """Recent invocations of every function, for the console and the terminal."""
        return self._invoker.invocations

    def instances(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Live instances per (service, function), for the console."""
        return self._invoker.instances()

    def recycle(self) -> None:
        """Retire every instance; the next invocation of each function starts cold."""
        self._invoker.recycle()

    def close(self) -> None:
        """Stop every function instance (and the timers, when the scheduler is this one's)."""
        if self._own_scheduler:
            self._scheduler.stop()
        self._invoker.close()

    def deploy(self, template: Template) -> None:
        """Serve `template`'s services and roles from now on (the ROS emulator applies stacks
        with it). Instances of services whose code or settings may have changed are stopped,
        so the next call cold-starts the new version, as after an FC UpdateFunction."""
        old = {s.name for s in self._template.services}
        self.timers.arm(template)  # first: a wrong CronExpression deploys nothing
        self._template = template
        for name in old | {s.name for s in template.services}:
            self._invoker.retire(name)

    def http_trigger_url(self, service: str, function: str) -> str:
        if self.endpoint is None:
            raise RuntimeError("set FunctionComputeEmulator.endpoint to the server URL first")
        return f"{self.endpoint.rstrip('/')}{PROXY_PREFIX}{service}/{function}/"

    def fire_timer(self, service: str, function: str, trigger: str) -> Outcome:
        """Run a Timer trigger once now, off its schedule, with the event FC sends."""
        svc, fn = self._lookup(service, function)
        timer = next((t for t in fn.timers if t.name == trigger), None)
        if timer is None:
            raise KeyError(f"{service}/{function} has no timer trigger {trigger!r}")
        event = {
            "triggerTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.timers.now())),
            "triggerName": timer.name,
            "payload": timer.payload,
        }
        return self._run_timer(svc, fn, event)

    def _fire(
        self, service: str, function: str, decl: TimerDecl, event: dict[str, str]
    ) -> tuple[bytes, dict[str, Any] | None]:
        """A scheduled firing: FC invokes timer functions asynchronously, so a throttled or
        failed run is logged, never raised into the scheduler."""
        try:
            svc, fn = self._lookup(service, function)
            outcome = self._run_timer(svc, fn, event)
        except (Throttled, FcApiError) as exc:
            log.warning("timer %s of %s/%s did not run: %s", decl.name, service, function, exc)
            return b"", {"errorMessage": str(exc), "errorType": type(exc).__name__}
        return outcome.body, outcome.error

    def _run_timer(
        self, service: ServiceDecl, function: FunctionDecl, event: dict[str, str]
    ) -> Outcome:
        return self._invoker.run(
            service,
            function,
            None,
            str(uuid.uuid4()),
            {"op": "invoke", "event": json.dumps(event).encode()},
        )

    # -- InvokeFunction ----------------------------------------------------------------------
    def _invoke(
        self, request: HttpRequest, request_id: str, service_part: str, function_name: str
    ) -> HttpResponse:
        principal = authenticate(request, self._book, with_queries=False)
        service_name, _, qualifier = service_part.partition(".")
        self._authorize(principal, service_name, function_name, qualifier or None)
        service, function = self._lookup(service_name, function_name)
        kind = request.header("x-fc-invocation-type", "Sync")
        if kind not in ("Sync", "Async"):
            raise errors.invalid_argument(f"invalid invocation type '{kind}' (Sync or Async)")
        limit = errors.MAX_ASYNC_PAYLOAD if kind == "Async" else errors.MAX_SYNC_PAYLOAD
        if len(request.body) > limit:
            raise errors.too_large(limit)
        message = {"op": "invoke", "event": request.body}
        if kind == "Async":
            threading.Thread(
                target=self._run_async,
                daemon=True,
                name=f"fc-async-{request_id}",
                args=(service, function, qualifier or None, request_id, message),
            ).start()
            return HttpResponse(202, b"", (("x-fc-request-id", request_id),))
        outcome = self._run(service, function, qualifier or None, request_id, message)
        headers: list[tuple[str, str]] = [
            ("x-fc-request-id", request_id),
            ("x-fc-invocation-duration", str(int(outcome.duration_ms))),
            ("x-fc-invocation-service-version", "LATEST"),
        ]
        if request.header("x-fc-log-type") == "Tail":
            headers.append(("x-fc-log-result", base64.b64encode(outcome.log_tail).decode()))
        if outcome.error is not None:
            headers += [
                ("x-fc-error-type", "UnhandledInvocationError"),
                ("Content-Type", "application/json"),
            ]
            return HttpResponse(200, json.dumps(outcome.error).encode(), tuple(headers))
        headers.append(("Content-Type", "application/octet-stream"))
        return HttpResponse(200, outcome.body, tuple(headers))

    def _run_async(
        self,
        service: ServiceDecl,
        function: FunctionDecl,
        qualifier: str | None,
        request_id: str,
        message: dict[str, Any],
    ) -> None:
        try:
            self._invoker.run(service, function, qualifier, request_id, message)
        except Throttled:
            log.warning(
                "async invocation %s of %s/%s throttled", request_id, service.name, function.name
            )
        except Exception:  # pragma: no cover - an emulator bug; keep the thread from dying loud
            log.exception("async invocation %s failed", request_id)

    # -- GetFunction -------------------------------------------------------------------------
    def _get_function(
        self, request: HttpRequest, request_id: str, service_part: str, function_name: str
    ) -> HttpResponse:
        principal = authenticate(request, self._book, with_queries=False)
        service_name, _, qualifier = service_part.partition(".")
        self._authorize(principal, service_name, function_name, qualifier or None, GET_FUNCTION)
        service, function = self._lookup(service_name, function_name)
        body = json.dumps(function_configuration(service, function)).encode()
        return HttpResponse(
            200, body, (("x-fc-request-id", request_id), ("Content-Type", "application/json"))
        )

    # -- HTTP triggers -----------------------------------------------------------------------
    def _http_trigger(self, request: HttpRequest, request_id: str) -> HttpResponse:
        target = parse_target(request.raw_path)
        if target is None:
            raise errors.path_not_supported(request.method, request.path)
        service, function = self._lookup(target.service, target.function)
        trigger = function.http_trigger
        if trigger is None:
            raise errors.trigger_not_found(service.name, function.name)
        if request.method not in trigger.methods:
            raise errors.method_not_allowed(request.method)
        if trigger.auth_type == "FUNCTION":
            principal = authenticate(request, self._book, with_queries=True)
            self._authorize(principal, service.name, function.name, target.qualifier)
        if len(request.body) > errors.MAX_SYNC_PAYLOAD:
            raise errors.too_large(errors.MAX_SYNC_PAYLOAD)
        outcome = self._run(
            service,
            function,
            target.qualifier,
            request_id,
            {
                "op": "http",
                "environ": wsgi_environ(request, target),
                "body": request.body,
            },
        )
        if outcome.error is not None or outcome.status is None:
            # The function failed: FC answers 502 with the error, as for InvokeFunction.
            error = outcome.error or {"errorMessage": "the function returned no response"}
            return HttpResponse(
                502,
                json.dumps(error).encode(),
                (
                    ("x-fc-request-id", request_id),
                    ("x-fc-error-type", "UnhandledInvocationError"),
                    ("Content-Type", "application/json"),
                ),
            )
        return wsgi_response(
            outcome.status, [list(h) for h in outcome.headers], outcome.body, request_id
        )

    # -- shared steps ------------------------------------------------------------------------
    def _lookup(self, service_name: str, function_name: str) -> tuple[ServiceDecl, FunctionDecl]:
        service = self._template.service(service_name)
        if service is None:
            raise errors.service_not_found(service_name)
        function = service.function(function_name)
        if function is None:
            raise errors.function_not_found(function_name)
        return service, function

    def _authorize(
        self,
        principal: Principal,
        service: str,
        function: str,
        qualifier: str | None,
        action: str = ACTION,
    ) -> None:
        """Root may do anything. STS credentials need their inline policy to allow the call
        and, when the role is declared in the template with policies, the role's policies too
        (STS's intersection). A role the template does not declare, or declares without any
        policy, restricts nothing: the local cloud cannot know what it would allow."""
        if principal.is_root:
            return
        resource = fc_function_resource(
            self._region, self._account.account_id, service, function, qualifier
        )
        role = self._template.role_by_arn(principal.role_arn) if principal.role_arn else None
        try:
            allowed = (
                principal.policy is None or is_allowed(principal.policy, action, resource)
            ) and (role is None or not role.policies or any_allows(role.policies, action, resource))
        except PolicyError:
            allowed = False
        if not allowed:
            raise errors.access_denied(resource, action)

    def _run(
        self,
        service: ServiceDecl,
        function: FunctionDecl,
        qualifier: str | None,
        request_id: str,
        message: dict[str, Any],
    ) -> Outcome:
        try:
            return self._invoker.run(service, function, qualifier, request_id, message)
        except Throttled:
            raise errors.throttled() from None

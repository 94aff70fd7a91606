"""Funcraft's `Aliyun::Serverless::*` resources: services, their functions and the functions'
events (HTTP and Timer triggers), turned into declarations the FC emulator runs."""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .model import FunctionDecl, HttpTriggerDecl, ServiceDecl, TemplateError, TimerDecl
from .resources import FUNCTION, SERVICE, ResourceGraph, Stack
from .ros import RoleBook, integer, policy_document, system_policy

# Runtimes the local cloud runs on a matching interpreter (fc/interpreters.py). FC's `python3`
# is Python 3.6, older than the worker program supports.
RUNTIMES = ("python3.9", "python3.10")
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS")
AUTH_TYPES = ("ANONYMOUS", "FUNCTION")
_LOG_CONFIG_KEYS = {"Project", "Logstore", "EnableRequestMetrics", "EnableInstanceMetrics",
                    "LogBeginRule"}
_HTTP_KEYS = {"AuthType", "Methods", "Qualifier"}
_TIMER_KEYS = {"CronExpression", "Enable", "Payload", "Qualifier"}
_ENV_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_HANDLER = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+")


def services(graph: ResourceGraph, roles: RoleBook, stack: Stack, base_dir: Path,
             code_uris: Mapping[str, Path | str]) -> tuple[ServiceDecl, ...]:
    result = []
    for raw in graph.of_type(SERVICE):
        props = graph.properties(raw.logical_id)
        path = f"{raw.path}.Properties"
        role = props.get("Role")
        if role is not None and not isinstance(role, str):
            raise TemplateError(f"{path}.Role", "a role ARN string")
        policies = _service_policies(f"{path}.Policies", props.get("Policies"))
        if policies:
            if role is None:
                role = roles.generated(f"aliyunfcgeneratedrole-{stack.region}-{raw.logical_id}",
                                       policies)
            else:
                for policy in policies:
                    roles.attach_by_arn(role, policy)
        log = props.get("LogConfig") or {}
        if not isinstance(log, dict) or set(log) - _LOG_CONFIG_KEYS:
            raise TemplateError(f"{path}.LogConfig", f"keys: {', '.join(sorted(_LOG_CONFIG_KEYS))}")
        if bool(log.get("Project")) != bool(log.get("Logstore")):
            raise TemplateError(f"{path}.LogConfig", "Project and Logstore go together")
        functions = tuple(_function(graph, f.logical_id, base_dir, code_uris)
                          for f in graph.of_type(FUNCTION)
                          if f.service == raw.logical_id)
        result.append(ServiceDecl(
            name=raw.logical_id, role_arn=role or None,
            log_project=str(log["Project"]) if log.get("Project") else None,
            log_store=str(log["Logstore"]) if log.get("Logstore") else None,
            functions=functions, description=str(props.get("Description") or ""),
            internet_access=props.get("InternetAccess", True) not in (False, "false", "False")))
    return tuple(result)


def _service_policies(path: str, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [system_policy(f"{path}[{i}]", item) if isinstance(item, str)
            else policy_document(f"{path}[{i}]", item) for i, item in enumerate(items)]


def _function(graph: ResourceGraph, logical_id: str, base_dir: Path,
              code_uris: Mapping[str, Path | str]) -> FunctionDecl:
    raw = graph.raw(logical_id)
    node = graph.resolved(logical_id)
    props = node.get("Properties") or {}
    path = f"{raw.path}.Properties"
    runtime = str(props["Runtime"])
    if runtime not in RUNTIMES:
        raise TemplateError(f"{path}.Runtime", f"runtime {runtime!r} is not supported locally "
                                               f"(supported: {', '.join(RUNTIMES)})")
    handler = handler_name(f"{path}.Handler", props["Handler"])
    initializer = (handler_name(f"{path}.Initializer", props["Initializer"])
                   if props.get("Initializer") else None)
    code_uri = props["CodeUri"]
    if isinstance(code_uri, str) and code_uri in code_uris:
        code_uri = str(Path(code_uris[code_uri]).resolve())
    code_dir = _code_dir(f"{path}.CodeUri", code_uri, base_dir)
    module = handler.rpartition(".")[0]
    if not module_exists(code_dir, module):
        raise TemplateError(f"{path}.Handler", f"module {module!r} not found in {code_dir}")
    http, timers = _events(f"{raw.path}.Events", node.get("Events"))
    return FunctionDecl(
        name=logical_id.partition(".")[2], handler=handler, runtime=runtime, code_dir=code_dir,
        initializer=initializer,
        initialization_timeout=integer(f"{path}.InitializationTimeout",
                                       props.get("InitializationTimeout"), 3, 1, 300),
        timeout=integer(f"{path}.Timeout", props.get("Timeout"), 3, 1, 86400),
        memory_size=integer(f"{path}.MemorySize", props.get("MemorySize"), 128, 64, 32768),
        instance_concurrency=integer(f"{path}.InstanceConcurrency",
                                     props.get("InstanceConcurrency"), 1, 1, 200),
        environment=environment(f"{path}.EnvironmentVariables",
                                 props.get("EnvironmentVariables")),
        http_trigger=http, timers=timers, description=str(props.get("Description") or ""))


def handler_name(path: str, value: Any) -> str:
    if not isinstance(value, str) or not _HANDLER.fullmatch(value):
        raise TemplateError(path, "a handler is 'module.function' (e.g. index.handler)")
    return value


def _code_dir(path: str, value: Any, base_dir: Path) -> Path:
    if not isinstance(value, str) or "://" in value:
        raise TemplateError(path, "CodeUri must be a local folder (relative to the template)")
    code_dir = (base_dir / value).resolve()
    if not code_dir.is_dir():
        raise TemplateError(path, f"{value!r} is not a folder next to the template "
                                  f"(zip files and OSS are not supported locally)")
    return code_dir


def module_exists(code_dir: Path, module: str) -> bool:
    base = code_dir.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def environment(path: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TemplateError(path, "a mapping of names to values")
    env = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _ENV_KEY.fullmatch(key):
            raise TemplateError(f"{path}.{key}", "a name starts with a letter and has only "
                                                 "letters, digits and underscores")
        if isinstance(item, (dict, list)) or item is None:
            raise TemplateError(f"{path}.{key}", "environment values are scalars")
        env[key] = ("true" if item else "false") if isinstance(item, bool) else str(item)
    return env


def _events(path: str, value: Any) -> tuple[HttpTriggerDecl | None, tuple[TimerDecl, ...]]:
    if value is None:
        return None, ()
    if not isinstance(value, dict):
        raise TemplateError(path, "a mapping of trigger names to {Type, Properties}")
    http: HttpTriggerDecl | None = None
    timers = []
    for name, event in value.items():
        epath = f"{path}.{name}"
        if not isinstance(event, dict) or set(event) - {"Type", "Properties"}:
            raise TemplateError(epath, "a trigger is {Type, Properties}")
        props = event.get("Properties") or {}
        kind = event.get("Type")
        if kind == "HTTP":
            if http is not None:
                raise TemplateError(epath, "a function has at most one HTTP trigger")
            http = http_trigger(f"{epath}.Properties", str(name), props)
        elif kind == "Timer":
            timers.append(timer_trigger(f"{epath}.Properties", str(name), props))
        else:
            raise TemplateError(f"{epath}.Type", f"trigger type {kind!r} is not supported "
                                                 f"locally (HTTP, Timer)")
    return http, tuple(timers)


def http_trigger(path: str, name: str, props: Mapping[str, Any]) -> HttpTriggerDecl:
    _known(path, props, _HTTP_KEYS)
    auth = str(props.get("AuthType", "")).upper()
    if auth not in AUTH_TYPES:
        raise TemplateError(f"{path}.AuthType", f"one of {', '.join(AUTH_TYPES)}")
    methods = props.get("Methods")
    if not isinstance(methods, list) or not methods:
        raise TemplateError(f"{path}.Methods", "a non-empty list of HTTP methods")
    upper = tuple(str(m).upper() for m in methods)
    bad = [m for m in upper if m not in HTTP_METHODS]
    if bad:
        raise TemplateError(f"{path}.Methods", f"unknown methods {bad}")
    return HttpTriggerDecl(name, auth, upper)


def timer_trigger(path: str, name: str, props: Mapping[str, Any]) -> TimerDecl:
    _known(path, props, _TIMER_KEYS)
    cron = props.get("CronExpression")
    if not isinstance(cron, str) or not cron.strip():
        raise TemplateError(f"{path}.CronExpression", "required")
    enable = props.get("Enable", True)
    payload = props.get("Payload", "")
    return TimerDecl(name, cron, enable not in (False, "false", "False"),
                     payload if isinstance(payload, str) else str(payload))


def _known(path: str, props: Any, allowed: set[str]) -> None:
    if not isinstance(props, dict):
        raise TemplateError(path, "must be a mapping")
    for key in props:
        if key not in allowed:
            raise TemplateError(f"{path}.{key}", "unknown trigger property")

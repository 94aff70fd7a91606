"""Plain ROS Function Compute resources (`ALIYUN::FC::Service`, `ALIYUN::FC::Function`,
`ALIYUN::FC::Trigger`) turned into the declarations the FC emulator runs.

Services and functions are named by properties (`ServiceName`, `FunctionName`), so a stack can
take its service name as a parameter. Function code comes from
`Code: {OssBucketName, OssObjectName}`; a `CodeLocator` says which folder holds that object's
unpacked package (the ROS emulator unzips it from the local OSS; a direct load maps names).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from .model import FunctionDecl, HttpTriggerDecl, ServiceDecl, TemplateError, TimerDecl
from .resources import FC_FUNCTION, FC_PROVISION, FC_SERVICE, FC_TRIGGER, ResourceGraph
from .ros import integer

# (bucket, object name, YAML path) -> the folder holding the unpacked package
CodeLocator = Callable[[str, str, str], Path]
_CODE_KEYS = {"OssBucketName", "OssObjectName", "SourceCode", "ZipFile"}
# Runtimes the local cloud runs on a matching interpreter (fc/interpreters.py). FC's `python3`
# is Python 3.6, older than the worker program supports.
RUNTIMES = ("python3.9", "python3.10")
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS")
AUTH_TYPES = ("ANONYMOUS", "FUNCTION")
_HTTP_KEYS = {"AuthType", "Methods", "Qualifier"}
_TIMER_KEYS = {"CronExpression", "Enable", "Payload", "Qualifier"}
_ENV_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_HANDLER = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+")
_LOG_CONFIG_KEYS = {
    "Project",
    "Logstore",
    "EnableRequestMetrics",
    "EnableInstanceMetrics",
    "LogBeginRule",
}


def services(graph: ResourceGraph, code: CodeLocator | None) -> tuple[ServiceDecl, ...]:
    triggers = _triggers(graph)
    provisioned = _provisioned(graph)
    functions: dict[str, list[FunctionDecl]] = {}
    for raw in graph.of_type(FC_FUNCTION):
        props = graph.properties(raw.logical_id)
        service = str(props["ServiceName"])
        decl = _function(
            graph,
            raw.logical_id,
            code,
            triggers.pop((service, str(props["FunctionName"])), ([], [])),
        )
        decl = replace(decl, provisioned=provisioned.pop((service, decl.name), 0))
        if any(f.name == decl.name for f in functions.get(service, [])):
            raise TemplateError(
                f"{raw.path}.Properties.FunctionName",
                f"service {service!r} already has a function {decl.name!r}",
            )
        functions.setdefault(service, []).append(decl)
    result = []
    for raw in graph.of_type(FC_SERVICE):
        props = graph.properties(raw.logical_id)
        path = f"{raw.path}.Properties"
        name = str(props["ServiceName"])
        role = props.get("Role")
        if role is not None and not isinstance(role, str):
            raise TemplateError(f"{path}.Role", "a role ARN string")
        log = props.get("LogConfig") or {}
        if not isinstance(log, dict) or set(log) - _LOG_CONFIG_KEYS:
            raise TemplateError(f"{path}.LogConfig", f"keys: {', '.join(sorted(_LOG_CONFIG_KEYS))}")
        if bool(log.get("Project")) != bool(log.get("Logstore")):
            raise TemplateError(f"{path}.LogConfig", "Project and Logstore go together")
        result.append(
            ServiceDecl(
                name=name,
                role_arn=role or None,
                log_project=str(log["Project"]) if log.get("Project") else None,
                log_store=str(log["Logstore"]) if log.get("Logstore") else None,
                functions=tuple(functions.pop(name, [])),
                description=str(props.get("Description") or ""),
                internet_access=props.get("InternetAccess", True) not in (False, "false", "False"),
            )
        )
    for service in functions:
        raise TemplateError(
            "Resources",
            f"functions of service {service!r}, which the template "
            f"does not declare (ALIYUN::FC::Service)",
        )
    for service, function in triggers:
        raise TemplateError(
            "Resources",
            f"a trigger of {service}/{function}, a function the template does not declare",
        )
    for service, function in provisioned:
        raise TemplateError(
            "Resources",
            f"a ProvisionConfig of {service}/{function}, a function the template does not declare",
        )
    return tuple(result)


def _provisioned(graph: ResourceGraph) -> dict[tuple[str, str], int]:
    """(service, function) -> provisioned instances. FC 2.0 provisions a service alias or
    LATEST ("Other versions are not supported", PutProvisionConfig); the local FC serves LATEST
    only, so that is the one qualifier accepted. Target 0 provisions nothing (FC's range is
    0..10000)."""
    found: dict[tuple[str, str], int] = {}
    for raw in graph.of_type(FC_PROVISION):
        props = graph.properties(raw.logical_id)
        path = f"{raw.path}.Properties"
        if props["Qualifier"] != "LATEST":
            raise TemplateError(f"{path}.Qualifier", "only LATEST is served locally (no aliases)")
        key = (str(props["ServiceName"]), str(props["FunctionName"]))
        if key in found:
            raise TemplateError(raw.path, f"a second ProvisionConfig of {key[0]}/{key[1]}")
        found[key] = integer(f"{path}.Target", props["Target"], 0, 0, 10000)
    return found


def _function(
    graph: ResourceGraph,
    logical_id: str,
    code: CodeLocator | None,
    events: tuple[list[HttpTriggerDecl], list[TimerDecl]],
) -> FunctionDecl:
    raw = graph.raw(logical_id)
    props = graph.properties(logical_id)
    path = f"{raw.path}.Properties"
    runtime = str(props["Runtime"])
    if runtime not in RUNTIMES:
        raise TemplateError(
            f"{path}.Runtime",
            f"runtime {runtime!r} is not supported locally (supported: {', '.join(RUNTIMES)})",
        )
    handler = handler_name(f"{path}.Handler", props["Handler"])
    initializer = (
        handler_name(f"{path}.Initializer", props["Initializer"])
        if props.get("Initializer")
        else None
    )
    code_dir = _code_dir(f"{path}.Code", props.get("Code"), code)
    module = handler.rpartition(".")[0]
    if not module_exists(code_dir, module):
        raise TemplateError(f"{path}.Handler", f"module {module!r} not found in the package")
    http, timers = events
    if len(http) > 1:
        raise TemplateError(raw.path, "a function has at most one HTTP trigger")
    return FunctionDecl(
        name=str(props["FunctionName"]),
        handler=handler,
        runtime=runtime,
        code_dir=code_dir,
        initializer=initializer,
        initialization_timeout=integer(
            f"{path}.InitializationTimeout", props.get("InitializationTimeout"), 3, 1, 300
        ),
        timeout=integer(f"{path}.Timeout", props.get("Timeout"), 3, 1, 86400),
        memory_size=integer(f"{path}.MemorySize", props.get("MemorySize"), 128, 64, 32768),
        instance_concurrency=integer(
            f"{path}.InstanceConcurrency", props.get("InstanceConcurrency"), 1, 1, 200
        ),
        environment=environment(f"{path}.EnvironmentVariables", props.get("EnvironmentVariables")),
        http_trigger=http[0] if http else None,
        timers=tuple(timers),
        description=str(props.get("Description") or ""),
    )


def _code_dir(path: str, value: Any, code: CodeLocator | None) -> Path:
    if not isinstance(value, dict) or set(value) - _CODE_KEYS:
        raise TemplateError(path, "Code is {OssBucketName, OssObjectName}")
    if "SourceCode" in value or "ZipFile" in value:
        raise TemplateError(
            path,
            "inline code (SourceCode, ZipFile) is not supported locally; upload a package to OSS",
        )
    bucket, key = value.get("OssBucketName"), value.get("OssObjectName")
    if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
        raise TemplateError(path, "Code needs OssBucketName and OssObjectName")
    if code is None:
        raise TemplateError(path, "this load has no way to fetch code from OSS")
    return code(bucket, key, path)


def _triggers(
    graph: ResourceGraph,
) -> dict[tuple[str, str], tuple[list[HttpTriggerDecl], list[TimerDecl]]]:
    found: dict[tuple[str, str], tuple[list[HttpTriggerDecl], list[TimerDecl]]] = {}
    for raw in graph.of_type(FC_TRIGGER):
        props = graph.properties(raw.logical_id)
        path = f"{raw.path}.Properties"
        http, timers = found.setdefault(
            (str(props["ServiceName"]), str(props["FunctionName"])), ([], [])
        )
        kind = str(props["TriggerType"]).lower()
        config = props["TriggerConfig"]
        name = str(props["TriggerName"])
        if not isinstance(config, Mapping):
            raise TemplateError(f"{path}.TriggerConfig", "must be a mapping")
        if kind == "http":
            # FC's API spells AuthType lower-case (anonymous/function); the transform upper-case.
            known = {k: v for k, v in config.items() if k != "DisableURLInternet"}
            http.append(http_trigger(f"{path}.TriggerConfig", name, known))
        elif kind == "timer":
            timers.append(timer_trigger(f"{path}.TriggerConfig", name, config))
        else:
            raise TemplateError(
                f"{path}.TriggerType",
                f"trigger type {kind!r} is not supported locally (http, timer)",
            )
    return found


def handler_name(path: str, value: Any) -> str:
    if not isinstance(value, str) or not _HANDLER.fullmatch(value):
        raise TemplateError(path, "a handler is 'module.function' (e.g. index.handler)")
    return value


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
            raise TemplateError(
                f"{path}.{key}",
                "a name starts with a letter and has only letters, digits and underscores",
            )
        if isinstance(item, (dict, list)) or item is None:
            raise TemplateError(f"{path}.{key}", "environment values are scalars")
        env[key] = ("true" if item else "false") if isinstance(item, bool) else str(item)
    return env


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
    return TimerDecl(
        name,
        cron,
        enable not in (False, "false", "False"),
        payload if isinstance(payload, str) else str(payload),
    )


def _known(path: str, props: Any, allowed: set[str]) -> None:
    if not isinstance(props, dict):
        raise TemplateError(path, "must be a mapping")
    for key in props:
        if key not in allowed:
            raise TemplateError(f"{path}.{key}", "unknown trigger property")

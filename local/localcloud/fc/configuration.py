"""GetFunction: a function's configuration as FC's 2016-08-15 API shows it (`fc2` Client's
`get_function`), so a test can see what an operator with FC read access sees: the environment
variables among the rest. No function code, no service-role credentials."""

from __future__ import annotations

import hashlib
from typing import Any

from ..template import FunctionDecl, ServiceDecl

ACTION = "fc:GetFunction"


def function_configuration(service: ServiceDecl, function: FunctionDecl) -> dict[str, Any]:
    function_id = hashlib.sha256(f"{service.name}/{function.name}".encode()).hexdigest()
    return {
        "functionId": f"{function_id[:8]}-{function_id[8:12]}-{function_id[12:16]}-"
        f"{function_id[16:20]}-{function_id[20:32]}",
        "functionName": function.name,
        "description": function.description,
        "runtime": function.runtime,
        "handler": function.handler,
        "initializer": function.initializer or "",
        "initializationTimeout": function.initialization_timeout,
        "timeout": function.timeout,
        "memorySize": function.memory_size,
        "instanceConcurrency": function.instance_concurrency,
        "instanceType": "e1",
        "environmentVariables": dict(function.environment),
        "layers": [],
    }

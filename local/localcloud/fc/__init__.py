"""Local Function Compute: InvokeFunction and HTTP triggers for the functions of `template.yml`,
each function instance in its own worker process, as FC runs them.

Modules: `emulator` (HTTP face: routes, signatures, RAM checks, limits, faults), `invoker`
(one request on a function, logs), `workers` (instance processes and the per-function pool),
`runtime` (the worker program itself), `context` (context object, env, role credentials),
`triggers` (HTTP trigger <-> WSGI), `signing`, `protocol` (parent <-> worker pipes), `errors`.

The worker imports `localcloud.fc.protocol`, which imports this package: the emulator is only
loaded on first use (`__getattr__`) so that cold starts stay short.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FunctionComputeEmulator", "FAULT_KINDS"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import emulator

        return getattr(emulator, name)
    raise AttributeError(name)

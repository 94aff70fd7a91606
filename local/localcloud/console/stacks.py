"""The console's Stacks page data: every stack the local ROS holds (what `make deploy` created),
its status, resources and outputs, read from the ROS emulator's own book (as the cloud vendor's
console reads ROS), never through its API.

Read-only, and without secrets: a parameter declared `NoEcho` (the app's private key, the data
key) or named like a key, secret, token or password is shown as hidden, whatever its value; so is
an output named that way. ROS itself echoes NoEcho parameters as `****`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..ros.core import Stack

HIDDEN = "‹hidden›"
# Parameter and output names whose values are never shown, NoEcho or not ("AlipayPublicKey" is
# public, but a name is all the console can judge by: it errs on the hidden side).
SECRET_NAME = re.compile(r"key|secret|token|password|private|credential", re.I)


def stack_views(stacks: list[Stack]) -> list[dict[str, Any]]:
    """Every stack, newest first, as the page shows it."""
    return [_view(stack) for stack in sorted(stacks, key=lambda s: s.created, reverse=True)]


def _view(stack: Stack) -> dict[str, Any]:
    return {
        "id": stack.id,
        "name": stack.name,
        "status": stack.status,
        "reason": stack.reason,
        "created": stack.created,
        "updated": stack.updated,
        "parameters": _values(stack.parameters, stack.no_echo),
        "outputs": _values(stack.outputs, frozenset()),
        "resources": [
            {
                "logicalId": r.logical_id,
                "type": r.type,
                "status": r.status,
                "reason": r.reason,
                "physicalId": r.physical_id,
            }
            for r in stack.resources
        ],
    }


def _values(values: Mapping[str, Any], no_echo: frozenset[str]) -> dict[str, Any]:
    return {
        name: HIDDEN if name in no_echo or SECRET_NAME.search(name) else _plain(value)
        for name, value in sorted(values.items())
    }


def _plain(value: Any) -> Any:
    """An output may be a list or mapping (Fn::GetAtt of a structure); keep it JSON."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)

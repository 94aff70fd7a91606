"""What an update of a stack changes, resource by resource, from the two templates and the two
sets of parameter values: the local ROS updates only those (an unchanged resource keeps its
status, as ROS leaves it alone), and `make deploy` counts them.

A resource is created when only the new template declares it, deleted when only the old one
does, and updated when its declaration differs or a parameter it refers to (`Ref`, or `${Name}`
in `Fn::Sub`) has another value. What this does not see: a resource that reads an attribute of
an updated one (`Fn::GetAtt`) is counted unchanged, as the attribute itself rarely changes.
Parameters whose values cannot be compared (NoEcho ones, which GetStack masks) are passed as
`unknown` and count as unchanged; the template gives each secret a `SecretsVersion` made from
their hash, so a changed secret still shows as a changed parameter.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass(frozen=True)
class Changes:
    created: tuple[str, ...]
    updated: tuple[str, ...]
    deleted: tuple[str, ...]
    unchanged: tuple[str, ...]

    def summary(self) -> str:
        """`1 updated (DBFunction), 0 created, 0 deleted, 22 unchanged`: the names of what
        changed, when there are few."""

        def part(word: str, names: tuple[str, ...]) -> str:
            shown = f" ({', '.join(names)})" if 0 < len(names) <= 6 else ""
            return f"{len(names)} {word}{shown}"

        return ", ".join(
            (
                part("updated", self.updated),
                part("created", self.created),
                part("deleted", self.deleted),
                f"{len(self.unchanged)} unchanged",
            )
        )


def changes(
    old_resources: Mapping[str, Any],
    old_values: Mapping[str, Any],
    new_resources: Mapping[str, Any],
    new_values: Mapping[str, Any],
    unknown: Collection[str] = (),
) -> Changes:
    """The update from the old resources and parameter values (defaults applied) to the new."""
    names = (set(old_values) | set(new_values)) - set(unknown)
    changed = {n for n in names if _text(old_values.get(n)) != _text(new_values.get(n))}
    created, updated, unchanged = [], [], []
    for logical_id, node in new_resources.items():
        if logical_id not in old_resources:
            created.append(logical_id)
        elif node != old_resources[logical_id] or references(node) & changed:
            updated.append(logical_id)
        else:
            unchanged.append(logical_id)
    deleted = [k for k in old_resources if k not in new_resources]
    return Changes(tuple(created), tuple(updated), tuple(deleted), tuple(unchanged))


def references(node: Any) -> set[str]:
    """The names a declaration refers to with `Ref` and `Fn::Sub` (parameters, pseudo
    parameters and resources alike; a `${Resource.Attribute}` is not a name here)."""
    found: set[str] = set()
    if isinstance(node, dict):
        if set(node) == {"Ref"} and isinstance(node["Ref"], str):
            return {node["Ref"]}
        if set(node) == {"Fn::Sub"}:
            arg = node["Fn::Sub"]
            text, local = (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else (arg, {})
            if isinstance(text, str):
                found |= {m.strip() for m in _SUB_VAR.findall(text) if "." not in m}
            if isinstance(local, dict):
                found -= set(local)
                found |= references(list(local.values()))
            return found
        for value in node.values():
            found |= references(value)
    elif isinstance(node, list):
        for value in node:
            found |= references(value)
    return found


def _text(value: Any) -> str | None:
    """A parameter value as ROS reports it (GetStack answers strings; a template Default of
    type Number is an int)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)

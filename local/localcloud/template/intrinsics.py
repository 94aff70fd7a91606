"""Resolving ROS intrinsic functions: `Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::Join`, `Fn::Select`.

Resources are resolved lazily through a `ResourceLookup` (a resource's `Ref` value or attribute
is computed from its own resolved properties), so the order of resources in the file does not
matter; a reference cycle is reported instead of recursing forever.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from .model import TemplateError

SUPPORTED = ("Ref", "Fn::Sub", "Fn::GetAtt", "Fn::Join", "Fn::Select")
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


class ResourceLookup(Protocol):
    def has(self, logical_id: str) -> bool: ...
    def ref(self, logical_id: str, path: str) -> Any: ...
    def get_att(self, logical_id: str, attribute: str, path: str) -> Any: ...


def is_intrinsic(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and isinstance(next(iter(value)), str)
        and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::"))
    )


class Resolver:
    def __init__(
        self, parameters: Mapping[str, Any], pseudo: Mapping[str, Any], resources: ResourceLookup
    ) -> None:
        self._parameters = parameters
        self._pseudo = pseudo
        self._resources = resources

    def resolve(self, value: Any, path: str) -> Any:
        if is_intrinsic(value):
            name, arg = next(iter(value.items()))
            return self._intrinsic(name, arg, f"{path}.{name}")
        if isinstance(value, dict):
            return {k: self.resolve(v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    # -- the functions --------------------------------------------------------------------
    def _intrinsic(self, name: str, arg: Any, path: str) -> Any:
        if name == "Ref":
            if not isinstance(arg, str):
                raise TemplateError(path, "Ref takes a name")
            return self._ref(arg, path)
        if name == "Fn::Sub":
            return self._sub(arg, path)
        if name == "Fn::GetAtt":
            return self._get_att(arg, path)
        if name == "Fn::Join":
            return self._join(arg, path)
        if name == "Fn::Select":
            return self._select(arg, path)
        raise TemplateError(
            path,
            f"intrinsic function {name} is not supported locally "
            f"(supported: {', '.join(SUPPORTED)})",
        )

    def _ref(self, name: str, path: str) -> Any:
        if name in self._parameters:
            return self._parameters[name]
        if name in self._pseudo:
            return self._pseudo[name]
        if self._resources.has(name):
            return self._resources.ref(name, path)
        raise TemplateError(path, f"Ref to unknown parameter or resource {name!r}")

    def _get_att(self, arg: Any, path: str) -> Any:
        if isinstance(arg, str):
            logical_id, sep, attribute = arg.rpartition(".")
            if not sep:
                raise TemplateError(
                    path, "GetAtt takes 'Resource.Attribute' or [Resource, Attribute]"
                )
        elif isinstance(arg, list) and len(arg) == 2:
            logical_id, attribute = (self.resolve(a, f"{path}[{i}]") for i, a in enumerate(arg))
        else:
            raise TemplateError(path, "GetAtt takes 'Resource.Attribute' or [Resource, Attribute]")
        if not isinstance(logical_id, str) or not self._resources.has(logical_id):
            raise TemplateError(path, f"GetAtt of unknown resource {logical_id!r}")
        return self._resources.get_att(logical_id, str(attribute), path)

    def _sub(self, arg: Any, path: str) -> str:
        variables: dict[str, Any] = {}
        if isinstance(arg, list):
            if len(arg) != 2 or not isinstance(arg[0], str) or not isinstance(arg[1], dict):
                raise TemplateError(path, "Fn::Sub takes a string or [string, {variables}]")
            text = arg[0]
            variables = {k: self.resolve(v, f"{path}[1].{k}") for k, v in arg[1].items()}
        elif isinstance(arg, str):
            text = arg
        else:
            raise TemplateError(path, "Fn::Sub takes a string or [string, {variables}]")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):  # ${!Literal} stays as ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif name in self._parameters or name in self._pseudo or self._resources.has(name):
                value = self._ref(name, path)
            elif "." in name:
                value = self._get_att(name, path)
            else:
                raise TemplateError(path, f"Fn::Sub: unknown variable ${{{name}}}")
            return _scalar_text(value, path)

        return _SUB_VAR.sub(substitute, text)

    def _join(self, arg: Any, path: str) -> str:
        if not isinstance(arg, list) or len(arg) != 2:
            raise TemplateError(path, "Fn::Join takes [delimiter, [values]]")
        delimiter = self.resolve(arg[0], f"{path}[0]")
        items = self.resolve(arg[1], f"{path}[1]")
        if not isinstance(delimiter, str) or not isinstance(items, list):
            raise TemplateError(path, "Fn::Join takes [delimiter, [values]]")
        return delimiter.join(_scalar_text(v, f"{path}[1][{i}]") for i, v in enumerate(items))

    def _select(self, arg: Any, path: str) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            raise TemplateError(path, "Fn::Select takes [index, [values]]")
        index = self.resolve(arg[0], f"{path}[0]")
        items = self.resolve(arg[1], f"{path}[1]")
        try:
            position = int(index)
        except (TypeError, ValueError):
            raise TemplateError(path, f"Fn::Select index {index!r} is not an integer") from None
        if not isinstance(items, list) or not 0 <= position < len(items):
            raise TemplateError(path, f"Fn::Select index {position} is out of range")
        return items[position]


def _scalar_text(value: Any, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(path, f"expected a string, got {type(value).__name__}")

"""Template parameters: declared types and constraints, defaults, and the overrides the local
cloud supplies (its parameters file). A value that breaks a constraint is an error here, as ROS
refuses to create the stack."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import TemplateError

SUPPORTED_TYPES = ("String", "Number", "Boolean", "CommaDelimitedList")
_KNOWN_KEYS = {
    "Type",
    "Default",
    "NoEcho",
    "AllowedValues",
    "AllowedPattern",
    "MinLength",
    "MaxLength",
    "MinValue",
    "MaxValue",
    "Description",
    "ConstraintDescription",
    "Label",
    "AssociationProperty",
    "AssociationPropertyMetadata",
    "Confirm",
    "TextArea",
    "Placeholder",
}


@dataclass(frozen=True)
class ResolvedParameters:
    values: dict[str, Any]
    no_echo: frozenset[str]


def resolve_parameters(declared: Any, overrides: Mapping[str, str]) -> ResolvedParameters:
    if declared is None:
        declared = {}
    if not isinstance(declared, dict):
        raise TemplateError("Parameters", "must be a mapping")
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(
            "Parameters", f"values given for undeclared parameters: {', '.join(unknown)}"
        )
    values: dict[str, Any] = {}
    no_echo: set[str] = set()
    for name, spec in declared.items():
        path = f"Parameters.{name}"
        if not isinstance(spec, dict):
            raise TemplateError(path, "a parameter is a mapping with at least Type")
        extra = sorted(set(spec) - _KNOWN_KEYS)
        if extra:
            raise TemplateError(path, f"unsupported parameter keys: {', '.join(extra)}")
        ptype = spec.get("Type")
        if ptype not in SUPPORTED_TYPES:
            raise TemplateError(
                f"{path}.Type",
                f"type {ptype!r} is not supported locally "
                f"(supported: {', '.join(SUPPORTED_TYPES)})",
            )
        if name in overrides:
            raw: Any = overrides[name]
        elif spec.get("Default") is not None:
            raw = spec["Default"]
        else:
            raise TemplateError(
                path,
                "no value: the parameter has no Default and the local parameters do not set it",
            )
        values[name] = _check(path, ptype, raw, spec)
        if _truthy(spec.get("NoEcho", False)):
            no_echo.add(name)
    return ResolvedParameters(values, frozenset(no_echo))


def _check(path: str, ptype: str, raw: Any, spec: Mapping[str, Any]) -> Any:
    if ptype == "Number":
        value: Any = _number(path, raw)
        if "MinValue" in spec and value < _number(f"{path}.MinValue", spec["MinValue"]):
            raise TemplateError(path, f"{value} is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and value > _number(f"{path}.MaxValue", spec["MaxValue"]):
            raise TemplateError(path, f"{value} is above MaxValue {spec['MaxValue']}")
    elif ptype == "Boolean":
        value = _truthy(raw)
    elif ptype == "CommaDelimitedList":
        value = [p.strip() for p in raw.split(",")] if isinstance(raw, str) else list(raw)
    else:
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise TemplateError(path, "a String parameter needs a scalar value")
        value = str(raw)
        if "MinLength" in spec and len(value) < int(spec["MinLength"]):
            raise TemplateError(path, f"shorter than MinLength {spec['MinLength']}")
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            raise TemplateError(path, f"longer than MaxLength {spec['MaxLength']}")
        pattern = spec.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(str(pattern), value):
            raise TemplateError(path, f"does not match AllowedPattern {pattern!r}")
    allowed = spec.get("AllowedValues")
    if allowed is not None:
        if not isinstance(allowed, list):
            raise TemplateError(f"{path}.AllowedValues", "must be a list")
        candidates = [_number(path, a) if ptype == "Number" else str(a) for a in allowed]
        if value not in candidates:
            shown = "<hidden>" if _truthy(spec.get("NoEcho", False)) else repr(value)
            raise TemplateError(path, f"value {shown} is not one of AllowedValues {allowed}")
    return value


def _number(path: str, raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise TemplateError(path, f"{raw!r} is not a number")
    if isinstance(raw, (int, float)):
        return raw
    try:
        return int(str(raw))
    except ValueError:
        try:
            return float(str(raw))
        except ValueError:
            raise TemplateError(path, f"{raw!r} is not a number") from None


def _truthy(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() in ("true", "1", "yes")

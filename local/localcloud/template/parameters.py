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


class MissingParameter(TemplateError):
    """A parameter with no Default that was given no value."""


def resolve_parameters(declared: Any, overrides: Mapping[str, str]) -> ResolvedParameters:
    """The values a stack runs with (defaults applied); the first problem as a TemplateError."""
    resolved, problems = _resolve(declared, overrides)
    if problems:
        raise problems[0]
    return resolved


def parameter_problems(declared: Any, overrides: Mapping[str, str]) -> list[TemplateError]:
    """Every problem with these values at once, in the order the parameters are declared
    (`make deploy` lists them all before it uploads anything)."""
    return _resolve(declared, overrides)[1]


def _resolve(
    declared: Any, overrides: Mapping[str, str]
) -> tuple[ResolvedParameters, list[TemplateError]]:
    if declared is None:
        declared = {}
    if not isinstance(declared, dict):
        return ResolvedParameters({}, frozenset()), [
            TemplateError("Parameters", "must be a mapping")
        ]
    problems: list[TemplateError] = []
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        problems.append(
            TemplateError(
                "Parameters", f"values given for undeclared parameters: {', '.join(unknown)}"
            )
        )
    values: dict[str, Any] = {}
    no_echo: set[str] = set()
    for name, spec in declared.items():
        try:
            values[name] = _value(f"Parameters.{name}", spec, overrides.get(name))
        except TemplateError as exc:
            problems.append(exc)
            continue
        if _truthy(spec.get("NoEcho", False)):
            no_echo.add(name)
    return ResolvedParameters(values, frozenset(no_echo)), problems


def _value(path: str, spec: Any, given: str | None) -> Any:
    if not isinstance(spec, dict):
        raise TemplateError(path, "a parameter is a mapping with at least Type")
    extra = sorted(set(spec) - _KNOWN_KEYS)
    if extra:
        raise TemplateError(path, f"unsupported parameter keys: {', '.join(extra)}")
    ptype = spec.get("Type")
    if ptype not in SUPPORTED_TYPES:
        raise TemplateError(
            f"{path}.Type",
            f"type {ptype!r} is not supported locally (supported: {', '.join(SUPPORTED_TYPES)})",
        )
    if given is not None:
        raw: Any = given
    elif spec.get("Default") is not None:
        raw = spec["Default"]
    else:
        raise MissingParameter(
            path, "no value: the parameter has no Default and the local parameters do not set it"
        )
    try:
        return _check(path, ptype, raw, spec)
    except TemplateError as exc:
        # What ROS shows with a failed constraint: the template's own words for it.
        described = spec.get("ConstraintDescription")
        if isinstance(described, dict):  # one per console language: {en: ..., zh-cn: ...}
            described = described.get("en") or next(iter(described.values()), "")
        if described and exc.path == path:
            raise TemplateError(path, f"{exc.message} ({described})") from None
        raise


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

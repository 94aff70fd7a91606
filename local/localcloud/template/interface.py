"""What the ROS console draws a stack's form from: the parameters' labels, descriptions and
constraints, grouped by `Metadata: ALIYUN::ROS::Interface: ParameterGroups`, in the console's
language.

The forms are ROS's own. A parameter's `Label`, `Description` and `ConstraintDescription` are a
string, or a mapping with a text per console language, `{en: ..., zh-cn: ...}` (ROS's "Use
Outputs to display Chinese descriptions" and Alibaba's templates in aliyun/ros-templates). A
group's label is `Label: {default: ...}` (ROS's Metadata page), whose `default` may be such a
mapping again. Where a text has no entry for the language asked, the English one is shown, then
any (our choice: ROS does not say).

`problems` lists what a template lacks for a console user in both languages; the unit test of
template.yml and `make release` refuse a template that has any.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("en", "zh-cn")
INTERFACE = "ALIYUN::ROS::Interface"
# Keys the console turns into a field's constraints; a parameter has at least one of them.
CONSTRAINTS = ("AllowedValues", "AllowedPattern", "MinLength", "MaxLength", "MinValue", "MaxValue")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Field:
    """One parameter as the form shows it."""

    key: str
    type: str
    label: str
    description: str
    default: str | None
    no_echo: bool
    allowed_values: tuple[str, ...]
    text_area: bool
    constraints: Mapping[str, Any]  # AllowedPattern, MinLength, ... as declared
    constraint_description: str


@dataclass(frozen=True)
class Group:
    label: str
    fields: tuple[Field, ...]


def localized(text: Any, language: str) -> str:
    """A ROS text (a string, or a mapping of language -> string) in `language`."""
    if isinstance(text, Mapping):
        for key in (language, "en", *text):
            value = text.get(key)
            if isinstance(value, str):
                return value
        return ""
    return "" if text is None else str(text)


def groups(doc: Mapping[str, Any], language: str) -> list[Group]:
    """The form: each declared group with its parameters in the group's order, then one group of
    the parameters no group names (the ROS console shows those too)."""
    params = doc.get("Parameters") or {}
    shown: list[Group] = []
    placed: set[str] = set()
    for group in _declared_groups(doc):
        keys = [k for k in group.get("Parameters") or [] if k in params and k not in placed]
        placed.update(keys)
        label = (group.get("Label") or {}).get("default") if isinstance(group, Mapping) else None
        shown.append(
            Group(localized(label, language), tuple(_field(k, params[k], language) for k in keys))
        )
    rest = [k for k in params if k not in placed]
    if rest:
        other = "其他参数" if language == "zh-cn" else "Other parameters"
        shown.append(Group(other, tuple(_field(k, params[k], language) for k in rest)))
    return [g for g in shown if g.fields]


def problems(doc: Mapping[str, Any]) -> list[str]:
    """What keeps the template from a complete form in both languages, one line each."""
    found: list[str] = []
    params = doc.get("Parameters") or {}
    membership: dict[str, int] = {str(k): 0 for k in params}
    for index, group in enumerate(_declared_groups(doc)):
        where = f"Metadata.{INTERFACE}.ParameterGroups[{index}]"
        label = (group.get("Label") or {}).get("default") if isinstance(group, Mapping) else None
        found += _both_languages(label, f"{where}.Label.default")
        for key in group.get("Parameters") or [] if isinstance(group, Mapping) else []:
            if key not in membership:
                found.append(f"{where}: {key} is not a declared parameter")
            else:
                membership[key] += 1
    for key, spec in params.items():
        where = f"Parameters.{key}"
        if membership[str(key)] != 1:
            found.append(f"{where}: in {membership[str(key)]} parameter groups, not one")
        if not isinstance(spec, Mapping):
            found.append(f"{where}: not a mapping")
            continue
        found += _both_languages(spec.get("Label"), f"{where}.Label")
        found += _both_languages(spec.get("Description"), f"{where}.Description")
        if "ConstraintDescription" in spec:
            found += _both_languages(
                spec["ConstraintDescription"], f"{where}.ConstraintDescription"
            )
        if not any(c in spec for c in CONSTRAINTS):
            found.append(f"{where}: no constraint ({', '.join(CONSTRAINTS)})")
        if _truthy(spec.get("NoEcho")) and "Default" in spec:
            found.append(f"{where}: a NoEcho parameter has a Default")
    for key, spec in (doc.get("Outputs") or {}).items():
        description = spec.get("Description") if isinstance(spec, Mapping) else None
        found += _both_languages(description, f"Outputs.{key}.Description")
    return found


def _declared_groups(doc: Mapping[str, Any]) -> list[Any]:
    interface = (doc.get("Metadata") or {}).get(INTERFACE) or {}
    declared = interface.get("ParameterGroups") if isinstance(interface, Mapping) else None
    return list(declared) if isinstance(declared, list) else []


def _both_languages(text: Any, where: str) -> list[str]:
    if not isinstance(text, Mapping):
        return [f"{where}: not a mapping of {' and '.join(LANGUAGES)} texts"]
    missing = [lang for lang in LANGUAGES if not str(text.get(lang) or "").strip()]
    if missing:
        return [f"{where}: no {' or '.join(missing)} text"]
    if not _CJK.search(str(text["zh-cn"])):
        return [f"{where}: the zh-cn text has no Chinese in it"]
    return []


def _field(key: str, spec: Mapping[str, Any], language: str) -> Field:
    default = spec.get("Default")
    return Field(
        key=str(key),
        type=str(spec.get("Type", "String")),
        label=localized(spec.get("Label"), language) or str(key),
        description=localized(spec.get("Description"), language),
        default=None if default is None else _text(default),
        no_echo=_truthy(spec.get("NoEcho")),
        allowed_values=tuple(_text(v) for v in spec.get("AllowedValues") or ()),
        text_area=_truthy(spec.get("TextArea")),
        constraints={c: spec[c] for c in CONSTRAINTS[1:] if c in spec},
        constraint_description=localized(spec.get("ConstraintDescription"), language),
    )


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() == "true"

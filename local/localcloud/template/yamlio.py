"""Reading ROS YAML: the short intrinsic tags (`!Ref`, `!Sub`, `!GetAtt`, ...) become their long
forms (`{"Ref": ...}`, `{"Fn::Sub": ...}`), so the resolver only knows one spelling. Any other
`!Tag` becomes `{"Fn::Tag": ...}` and is refused later with its path, like an unknown long form.
Duplicate mapping keys are refused too: YAML would silently keep the last one."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml

from .model import TemplateError


class _RosLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader: _RosLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        # PyYAML builds three kinds of node; what is left is a mapping.
        value = loader.construct_mapping(cast(yaml.MappingNode, node), deep=True)
    key = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    return {key: value}


def _mapping(loader: _RosLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise TemplateError("", f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_RosLoader.add_multi_constructor("!", _intrinsic)


def _deep_mapping(loader: _RosLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    return _mapping(loader, node, deep=True)


_RosLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _deep_mapping)


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_RosLoader)
    except yaml.YAMLError as exc:
        raise TemplateError("", f"{path.name} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TemplateError("", f"{path.name}: a template is a YAML mapping")
    return data


def declared_parameters(path: Path | str) -> dict[str, Any]:
    """The `Parameters` section as declared (no resolution), for callers that only need names."""
    params = read_yaml(Path(path)).get("Parameters") or {}
    if not isinstance(params, dict):
        raise TemplateError("Parameters", "must be a mapping")
    return params

"""Logstore index configurations: what the SDK's `create_index` sends and `get_index_config`
reads back, and the same configuration made from a template's `ALIYUN::SLS::Index`.

The local query language does not consult the index (every key is searchable, JSON keys too), so
an index here is a record kept for reading back, as the console and the SDK show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .core import SlsError

# The tokens the console proposes and ROS uses when a Delimiter is not given.
DEFAULT_TOKENS = [
    ",",
    " ",
    "'",
    '"',
    ";",
    "=",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "?",
    "@",
    "&",
    "<",
    ">",
    "/",
    ":",
    "\n",
    "\t",
    "\r",
]
_KEY_TYPES = ("text", "long", "double", "json")


# CreateIndex's documented message for a missing or malformed token list.
_NO_TOKENS = "Required field token is lacking or of error format."


def _has_tokens(config: dict[str, Any]) -> bool:
    tokens = config.get("token")
    return isinstance(tokens, list) and bool(tokens) and all(isinstance(t, str) for t in tokens)


def index_invalid(message: str) -> SlsError:
    """CreateIndex's documented refusal of a malformed body (API reference: 400
    IndexInfoInvalid)."""
    return SlsError(400, "IndexInfoInvalid", message)


def check_index(config: object) -> dict[str, Any]:
    """The index body the SDK sends (`IndexConfig.to_json()`), checked for the fields the cloud
    needs: a full-text `line` or field `keys`, with tokens for text and JSON keys."""
    if not isinstance(config, dict) or not ("line" in config or "keys" in config):
        raise index_invalid("an index needs a full-text index (line) or field indexes (keys)")
    line = config.get("line")
    if line is not None and (not isinstance(line, dict) or not _has_tokens(line)):
        raise index_invalid(_NO_TOKENS)
    keys = config.get("keys", {})
    if not isinstance(keys, dict):
        raise index_invalid("keys must be an object of field indexes")
    for name, key in keys.items():
        if not isinstance(key, dict) or key.get("type", "text") not in _KEY_TYPES:
            raise index_invalid(f"the index of key {name} needs a type in {_KEY_TYPES}")
        if key.get("type", "text") in ("text", "json") and not _has_tokens(key):
            raise index_invalid(_NO_TOKENS)
    return dict(config)


def _tokens(props: Mapping[str, Any]) -> list[str]:
    delimiter = props.get("Delimiter")
    return list(str(delimiter)) if delimiter else list(DEFAULT_TOKENS)


def _key(props: Mapping[str, Any]) -> dict[str, Any]:
    kind = str(props.get("Type", "text")).lower()
    out: dict[str, Any] = {"type": kind, "doc_value": bool(props.get("EnableAnalytics", True))}
    if kind in ("text", "json"):
        out.update(
            token=_tokens(props),
            caseSensitive=bool(props.get("CaseSensitive", False)),
            chn=bool(props.get("IncludeChinese", False)),
        )
    if props.get("Alias"):
        out["alias"] = str(props["Alias"])
    if kind == "json":
        out.update(
            index_all=True,
            max_depth=-1,
            json_keys={
                str(k["Name"]): {
                    key: value
                    for key, value in _key(k).items()
                    if key in ("type", "doc_value", "alias")
                }
                for k in props.get("JsonKeyIndices") or []
            },
        )
    return out


def from_template(props: Mapping[str, Any]) -> dict[str, Any]:
    """A template's ALIYUN::SLS::Index properties (FullTextIndex, KeyIndices, LogReduce) as the
    index configuration Log Service's API speaks."""
    config: dict[str, Any] = {"log_reduce": bool(props.get("LogReduce", False))}
    full_text = props.get("FullTextIndex") or {}
    if full_text.get("Enable", False):
        config["line"] = {
            "token": _tokens(full_text),
            "caseSensitive": bool(full_text.get("CaseSensitive", False)),
            "chn": bool(full_text.get("IncludeChinese", False)),
        }
    keys = props.get("KeyIndices") or []
    if keys:
        config["keys"] = {str(k["Name"]): _key(k) for k in keys}
    return config

"""The 2020 protocol's object as a client sends it, read and checked: `{"id": ..., <column>:
<value>, ...}` becomes a `CompatObject`. The 2020 function validated nothing; these rules keep
every row storable in Tablestore and every answer well-formed."""

from __future__ import annotations

import math
import re
from typing import Any

from ..domain.compat import CompatObject
from ..domain.limits import (
    COMPAT_ID_MAX_BYTES,
    COMPAT_ID_MAX_CHARS,
    COMPAT_MAX_COLUMNS,
    COMPAT_STRING_MAX_CHARS,
    INT64_MAX,
    INT64_MIN,
)
from ..domain.records import Scalar
from ..domain.values import has_control_char, has_lone_surrogate, is_int
from ..errors import InvalidRequest

COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
RESERVED_COLUMNS = frozenset({"uid", "id"})  # the table's primary key columns


def check_item_id(value: Any, name: str = "id") -> str:
    """A 2020 id is whatever the client chose (the 2020 demo used the todo's text): 1-256
    characters, at most 1024 UTF-8 bytes (Tablestore's key limit), no control characters."""
    if not isinstance(value, str):
        raise InvalidRequest(f"'{name}' must be a string")
    if has_lone_surrogate(value):
        raise InvalidRequest(f"'{name}' contains an unpaired surrogate")
    if (
        not 1 <= len(value) <= COMPAT_ID_MAX_CHARS
        or len(value.encode("utf-8")) > COMPAT_ID_MAX_BYTES
    ):
        raise InvalidRequest(
            f"'{name}' must be 1 to {COMPAT_ID_MAX_CHARS} characters "
            f"and at most {COMPAT_ID_MAX_BYTES} bytes"
        )
    if has_control_char(value):
        raise InvalidRequest(f"'{name}' must not contain control characters")
    return value


def _check_value(column: str, value: Any) -> Scalar:
    if isinstance(value, bool):
        return value
    if is_int(value):
        if not INT64_MIN <= value <= INT64_MAX:
            raise InvalidRequest(f"column '{column}' is outside the 64-bit integer range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRequest(f"column '{column}' must be a finite number")
        return value
    if isinstance(value, str):
        if has_lone_surrogate(value):
            raise InvalidRequest(f"column '{column}' contains an unpaired surrogate")
        if len(value) > COMPAT_STRING_MAX_CHARS:
            raise InvalidRequest(
                f"column '{column}' is longer than {COMPAT_STRING_MAX_CHARS} characters"
            )
        return value
    raise InvalidRequest(f"column '{column}' must be a string, number or boolean")


def parse_compat_object(obj: Any) -> CompatObject:
    if not isinstance(obj, dict):
        raise InvalidRequest("'obj' must be an object")
    if "id" not in obj:
        raise InvalidRequest("'obj.id' is required")
    item_id = check_item_id(obj["id"], "obj.id")
    columns: dict[str, Scalar] = {}
    for name, value in obj.items():
        if name == "id":
            continue
        if not COLUMN_NAME.fullmatch(name) or name in RESERVED_COLUMNS:
            shown = repr(name) if len(name) <= 70 else repr(name[:67] + "...")
            raise InvalidRequest(
                f"column name {shown} is not allowed: names match "
                "[A-Za-z_][A-Za-z0-9_]{0,63} and are not 'uid' or 'id'"
            )
        columns[name] = _check_value(name, value)
    if len(columns) > COMPAT_MAX_COLUMNS:
        raise InvalidRequest(f"'obj' has {len(columns)} columns; the limit is {COMPAT_MAX_COLUMNS}")
    return CompatObject(item_id, columns)

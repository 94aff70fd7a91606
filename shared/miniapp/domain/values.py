"""Rules about single values, shared by the declarations (schema.py) and the wire readers
(entrypoints/): text that no store can encode, control characters, integers that are not
booleans (JSON's `true` is a Python bool, which is also an int)."""
from __future__ import annotations

import unicodedata
from typing import Any, TypeGuard


def has_lone_surrogate(value: str) -> bool:
    """JSON may spell "\\ud800" alone; Python keeps it, UTF-8 cannot encode it, so no store can."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def has_control_char(value: str, allowed: str = "") -> bool:
    """C0, DEL and C1 controls (Unicode category Cc), except the characters in `allowed`."""
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value)


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)

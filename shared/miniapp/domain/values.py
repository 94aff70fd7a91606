"""Rules about single values, shared by the declarations (schema.py) and the wire readers
(entrypoints/): text that no store can encode, control characters, line breaks, text that
renders as nothing, integers that are not booleans (JSON's `true` is a Python bool, which is also
an int)."""

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


# Every line or paragraph boundary Unicode knows (str.splitlines splits on exactly these): LF, VT,
# FF, CR, the file/group/record separators, NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR.
LINE_BREAKS = frozenset("\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029")

# Blank characters: Python's whitespace (str.isspace), the categories below (controls, format
# characters, space, line and paragraph separators), Unicode's Default_Ignorable_Code_Point
# property (as Unicode 15's DerivedCoreProperties.txt lists it: zero-width characters, bidi
# controls, variation selectors, tags, the four Hangul fillers...) and U+2800 BRAILLE PATTERN
# BLANK, a symbol that every font draws empty.
BLANK_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
BLANK_SYMBOLS = frozenset("\u2800")


def has_line_break(value: str) -> bool:
    return any(ch in LINE_BREAKS for ch in value)


def is_blank_char(ch: str) -> bool:
    """Whether `ch` renders as nothing or as empty space (the set above)."""
    if ch.isspace() or ch in BLANK_SYMBOLS or unicodedata.category(ch) in BLANK_CATEGORIES:
        return True
    code = ord(ch)
    return any(low <= code <= high for low, high in DEFAULT_IGNORABLE)


def is_blank(value: str) -> bool:
    """Whether every character of `value` is blank: it would render as nothing (True for "")."""
    return all(is_blank_char(ch) for ch in value)

"""Building blocks of the handler fuzz (`fuzz_cases`): a JSON writer that can also write what
`json.dumps` will not (duplicate keys, raw tokens such as `1e400`, JavaScript-isms, raw lone
surrogates), values of every JSON type, unicode edge strings, and ways to break a body's bytes so
that it is certainly not UTF-8 JSON.

Every generator takes the caller's `random.Random`, so a run is reproduced by its seed alone.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

MAX_BODY = 64 * 1024  # docs/api.md: the request body and db event limit


class Raw(str):
    """A token written into the JSON text as is (a number json.dumps cannot write, a broken
    fragment, deep nesting written without recursion)."""


@dataclass(frozen=True)
class Pairs:
    """A JSON object written from explicit pairs, in order: lets a key appear twice."""

    items: tuple[tuple[Any, Any], ...]


def write(value: Any, *, ascii_only: bool = True) -> str:
    """JSON text for `value`. With ascii_only False strings are written raw (so a lone surrogate
    becomes raw bytes once encoded with surrogatepass)."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Pairs):
        return (
            "{"
            + ",".join(
                f"{write(k, ascii_only=ascii_only)}:{write(v, ascii_only=ascii_only)}"
                for k, v in value.items
            )
            + "}"
        )
    if isinstance(value, dict):
        return write(Pairs(tuple(value.items())), ascii_only=ascii_only)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(write(v, ascii_only=ascii_only) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)  # NaN and Infinity come out as such


def encode(value: Any, rng: random.Random) -> bytes:
    """`value` as a body, randomly \\u-escaped or raw UTF-8 (lone surrogates escaped either way,
    unless the caller wrote them raw on purpose with `encode_raw`)."""
    text = write(value, ascii_only=rng.random() < 0.5)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a raw string: escape instead
        return write(value, ascii_only=True).encode("utf-8")


def encode_raw(value: Any) -> bytes:
    """Raw UTF-8, a lone surrogate included as the bytes CESU/WTF-8 would give it (not UTF-8)."""
    return write(value, ascii_only=False).encode("utf-8", "surrogatepass")


def nested(depth: int, kind: str = "list") -> Raw:
    if kind == "list":
        return Raw("[" * depth + "]" * depth)
    return Raw('{"a":' * depth + "1" + "}" * depth)


# -- values -------------------------------------------------------------------------------
def any_value(rng: random.Random) -> Any:
    """A value of a random JSON type, parseable (no NaN, no 5000-digit numbers, shallow)."""
    return rng.choice(
        [
            None,
            True,
            False,
            0,
            -1,
            1,
            2,
            2**53 + 1,
            2**63,
            -(2**63) - 1,
            10**30,
            1.5,
            -0.0,
            1e300,
            2.0,
            "",
            "2",
            "true",
            "null",
            " ",
            "x" * rng.randint(1, 70),
            unicode_edge(rng),
            [],
            [1],
            [None, "a"],
            {},
            {"a": 1},
            {"": None},
            [[[]]],
            {"v": 2},
            nested(rng.randint(2, 60)),
            nested(rng.randint(2, 60), "object"),
            Raw("1e400"),
            Raw("-1e400"),
            Raw("1e-400"),
            Raw("123456789012345678901234567890"),
            Raw("-0"),
            Raw("1E2"),
        ]
    )


def wrong_type(rng: random.Random, allowed: set[str]) -> Any:
    """A value whose JSON type is not in `allowed` ("null", "bool", "int", "float", "str",
    "array", "object"); a JSON number with a fraction or exponent is a float, never an int."""
    while True:
        value = any_value(rng)
        if json_type(value) not in allowed:
            return value


def json_type(value: Any) -> str:
    if isinstance(value, Raw):
        text = str(value)
        if text.startswith("["):
            return "array"
        if text.startswith("{"):
            return "object"
        return "float" if any(c in text for c in ".eE") else "int"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "array"
    return "object"


UNICODE_EDGES = [
    "\u0000",
    "\u001f",
    "\u007f",
    "\u0085",
    "\u009f",  # C0, DEL, C1
    "\u200b",
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202e",
    "\u2066",
    "\u2069",  # zero width, bidi
    "\ufeff",
    "\ufffe",
    "\uffff",
    "\ufffd",
    "\u00ad",
    "\u034f",
    "\u180e",
    "\u2028",
    "\u2029",
    "\u3000",
    "\u00a0",
    "\u1680",  # separators and odd spaces
    "🙂",
    "👩‍👩‍👧‍👦",
    "🇺🇳",
    "🏳️‍🌈",
    "\U0010ffff",
    "\U000e0041",  # astral, ZWJ, flags, tags
    "e\u0301",
    "\u0301",
    "ǅ",
    "ß",
    "İ",
    "ﬃ",
    "Ａ",
    "٣",
    "𝟘",  # combining, case oddities, digits
    "中文",
    "العربية",
    "עברית",
    "\u0e01\u0e34\u0e4a",
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
]
LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff", "a\ud83d", "\ude42b"]


def unicode_edge(rng: random.Random) -> str:
    return "".join(rng.choice(UNICODE_EDGES) for _ in range(rng.randint(1, 4)))


def random_text(rng: random.Random, n: int) -> str:
    """n code points from across the planes, surrogates excluded."""
    out = []
    for _ in range(n):
        plane = rng.random()
        cp = (
            rng.randint(0x20, 0x7E)
            if plane < 0.5
            else rng.randint(0xA0, 0xD7FF)
            if plane < 0.8
            else rng.randint(0xE000, 0x10FFFF)
        )
        if 0xD800 <= cp <= 0xDFFF:
            cp = 0x41
        out.append(chr(cp))
    return "".join(out)


# -- bodies that cannot be UTF-8 JSON objects -----------------------------------------------
BAD_UTF8 = [
    b"\xff",
    b"\xfe",
    b"\xc0\xaf",
    b"\xe0\x80\xaf",
    b"\xf0\x80\x80\xaf",  # impossible, overlong
    b"\xed\xa0\x80",
    b"\xed\xbf\xbf",
    b"\xed\xa0\xbd\xed\xb8\x82",  # lone, CESU-8 pair
    b"\xf4\x90\x80\x80",
    b"\xf5\x80\x80\x80",
    b"\x80",
    b"\xbf",
    b"\xe4\xb8",
    b"\xc3",  # >U+10FFFF
]
NOT_JSON_PREFIXES = [b"\xef\xbb\xbf", b")]}'\n", b"x", b"\x00", b"for(;;);", b"\xfe\xff"]
NOT_JSON_SUFFIXES = [b"}", b"x", b",", b"{}", b"]", b"\x00", b" 1", b"//c", b"\xff", b"/*", b";"]
NOT_JSON_TOKENS = [
    Raw("undefined"),
    Raw("NaN"),
    Raw("Infinity"),
    Raw("-Infinity"),
    Raw("0x2"),
    Raw("+2"),
    Raw("02"),
    Raw(".5"),
    Raw("2."),
    Raw("True"),
    Raw("None"),
    Raw("'x'"),
    Raw("1_000"),
    Raw("[1,]"),
    Raw('{"a":1,}'),
    Raw("nul"),
    Raw('"\\x41"'),
    Raw('"\\u12"'),
    Raw('"tab\there"'),
    Raw('"nl\nhere"'),
    Raw('"\\"'),
]
HUGE_INTEGERS = [Raw("1" + "0" * 4400), Raw("-" + "9" * 5000)]  # past Python's digit limit


def break_bytes(body: bytes, rng: random.Random) -> tuple[str, bytes]:
    """`body` (a JSON object) made into bytes that are certainly not a UTF-8 JSON object."""
    how = rng.randrange(7)
    if how == 0:
        cut = rng.randrange(len(body))  # a strict prefix: the closing brace is gone
        return "truncated", body[:cut]
    if how == 1:
        return "trailing garbage", body + rng.choice(NOT_JSON_SUFFIXES + [body])
    if how == 2:
        return "leading garbage", rng.choice(NOT_JSON_PREFIXES) + body
    if how == 3:
        at = rng.randrange(len(body) + 1)
        return "invalid UTF-8 inside", body[:at] + rng.choice(BAD_UTF8) + body[at:]
    if how == 4:
        codec = rng.choice(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"])
        return f"encoded {codec}", body.decode("utf-8").encode(codec, "surrogatepass")
    if how == 5:
        text = body.decode("utf-8")
        return "latin-1 with a non-ASCII char", (text[:-1] + ',"é":"café"}').encode(
            "latin-1", "replace"
        )
    return "single quotes", body.replace(b'"', b"'")


def not_an_object(rng: random.Random) -> tuple[str, bytes]:
    """Bodies that are not a JSON object at all."""
    how = rng.randrange(6)
    if how == 0:
        scalar = rng.choice(
            [
                "null",
                "true",
                "false",
                "0",
                "-0",
                "1e5",
                "-1.5",
                '"str"',
                '""',
                '"{\\"v\\":2}"',
                "[]",
                "[{}]",
                '[{"op":"list"}]',
                "[[[]]]",
                "123456789012345678901234567890",
            ]
        )
        return "JSON scalar or array", scalar.encode()
    if how == 1:
        return "empty or blank", rng.choice([b"", b" ", b"\n", b"\t\r\n ", b"\r\n" * 50])
    if how == 2:
        first = rng.choice([b for b in range(256) if b not in b"{ \t\r\n"])
        return "random bytes", bytes([first]) + rng.randbytes(rng.randint(0, 300))
    if how == 3:
        depth = rng.choice([100, 999, 1000, 1001, 5000, 30000, 40000])
        return f"nested array depth {depth}", nested(depth).encode()
    if how == 4:
        depth = rng.choice([1000, 5000, 10000, 12000])
        return f"nested object depth {depth}", nested(depth, "object").encode()
    return "random text", random_text(rng, rng.randint(1, 200)).encode("utf-8")

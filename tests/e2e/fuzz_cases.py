"""Malformed inputs for the two handlers, each with the one answer docs/api.md requires of it.

A case starts from a valid request — for the db function, a real event of the fuzz user, real
session and ids, that would read or change data if it got through — and is broken on purpose:

- field: 1-3 fields get a value of a wrong type or out of range (unicode edge cases, lone
  surrogates, NUL, bidi marks, overlong strings, huge numbers, deep nesting), or go missing, or
  unknown fields join (the client naming a `uid` or a table among them). Harmless noise may ride
  along (optional fields dropped, fields the 2020 protocol ignores, keys reordered).
- syntax: the JSON itself is broken: NaN/Infinity, 5000-digit numbers, duplicate keys,
  JavaScript-isms, truncation, garbage around it, non-UTF-8 bytes, other encodings.
- shape: not an object at all: scalars, arrays, empty bodies, random bytes, deep nesting.
- size: over the 64 KiB limit, or invalid at exactly the limit.

The expected answer follows from the spec's order of checks: size first (PayloadTooLarge), then
the body and every field (InvalidRequest), then the session (SessionNotFound, for an event that
is well formed but names a forged `sid`). For the session function a path that is none of its
three endpoints is NotFound whatever the body.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .fuzz_json import (
    HUGE_INTEGERS,
    LONE_SURROGATES,
    MAX_BODY,
    Raw,
    nested,
    random_text,
    unicode_edge,
    wrong_type,
)

STATUS = {"InvalidRequest": 400, "SessionNotFound": 401, "NotFound": 404, "PayloadTooLarge": 413}


@dataclass(frozen=True)
class Case:
    label: str  # how it was made, for the failure report
    body: bytes
    expect: str  # the error code the handler must answer
    path: str = ""  # session function: after the function's URL


def finish(label: str, body: bytes, expect: str, path: str = "") -> Case:
    return Case(label, body, "PayloadTooLarge" if len(body) > MAX_BODY else expect, path)


# -- bad values, by what a field holds -------------------------------------------------------
def _pick(rng: random.Random, *options: Callable[[], Any]) -> Any:
    return rng.choice(options)()


def bad_string(rng: random.Random, invalid: list[str]) -> str:
    """A string a string field rejects: from `invalid`, or with a lone surrogate."""
    return _pick(
        rng,
        lambda: rng.choice(invalid),
        lambda: rng.choice(LONE_SURROGATES),
        lambda: "ok" + rng.choice(LONE_SURROGATES) + "ok",
    )


CONTROL = ["\x00", "\x01", "\x1b[31m", "\x7f", "\x85", "\x9f", "\r", "\x0b", "\x0c"]


def bad_text(rng: random.Random) -> str:
    whitespace = [
        "",
        " ",
        "\n",
        "\t\n ",
        "\u3000",
        "\u2028\u2029",
        "\u00a0\u1680",
        " " * 1000,
        "\u200b",
        "\u2800",
        "\u3164\ufeff\u00ad",
    ]  # blank, though not whitespace
    return bad_string(
        rng,
        whitespace
        + [
            "a" + rng.choice(CONTROL) + "b",
            rng.choice(CONTROL),
            "x" * 1001,
            "🙂" * 1001,
            random_text(rng, rng.randint(1001, 3000)),
            "\u202e" * 1001,
            "x" * rng.choice([20_000, 60_000, 70_000]),
        ],
    )


def bad_todo_id(rng: random.Random) -> str:
    good = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    return bad_string(
        rng,
        [
            "",
            good[:25],
            good + "0",
            good.lower(),
            "8" + good[1:],
            "Z" + good[1:],
            good[:10] + rng.choice("ILOU") + good[11:],
            good[:10] + rng.choice("-_ .é🙂\x00") + good[11:],
            " " + good,
            good + "\n",
            "buy milk",
            "０" * 26,
            unicode_edge(rng),
            good * 40,
        ],
    )


def bad_item_id(rng: random.Random) -> str:
    return bad_string(
        rng,
        [
            "",
            "x" * 257,
            "🙂" * 257,
            "a" + rng.choice(CONTROL) + "b",
            "\n",
            "\t",
            "a\nb",
            unicode_edge(rng) + "\x00",
            "x" * 5000,
        ],
    )


def bad_key(rng: random.Random) -> str:
    return bad_string(
        rng,
        [
            "",
            "x" * 65,
            "a b",
            "ключ",
            "k\x00",
            "k/1",
            "🙂",
            "k.1",
            "k+1",
            "k=",
            unicode_edge(rng),
            "\u200bk",
            "k" * 5000,
        ],
    )


def bad_cursor(rng: random.Random) -> str:
    # A one-line helper, kept next to its only use.
    b64 = lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("=")  # noqa: E731
    return bad_string(
        rng,
        [
            "",
            "!!!",
            "a+b",
            "a/b",
            "YQ==",
            "a b",
            "é",
            "🙂",
            "a",
            "YR",
            "YWJ",
            "x" * 1367,
            b64(b"\x00"),
            b64(b"\xff\xfe"),
            b64(b"\xed\xa0\x80"),
            b64(b"x" * 257),
            b64(b"a\nb"),
            b64(unicode_edge(rng).encode("utf-8", "surrogatepass") + b"\x01"),
        ],
    )


def bad_op(rng: random.Random, valid: set[str]) -> str:
    ops = [
        "",
        "ADD",
        "add ",
        " add",
        "add\x00",
        "add\u200f",
        "ａｄｄ",
        "🙂",
        "put",
        "add",
        "update",
        "list",
        "get",
        "remove",
        "__proto__",
        "constructor",
        "toString",
        "PUT",
        "Get",
        "lis",
        "removee",
        "x" * 10_000,
        "delete",
        "batch",
        unicode_edge(rng),
    ]
    return rng.choice([op for op in ops if op not in valid])


def forged_sid(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return rng.choice(
        [
            "".join(rng.choice(alphabet) for _ in range(43)),
            "",
            "x",
            "null",
            "undefined",
            "A" * 43,
            "A" * 44,
            unicode_edge(rng),
            "x" * 60_000,
            "sid\x00",
            "' OR '1'='1",
            "../session",
            random_text(rng, 43),
        ]
    )


def bad_value(kind: str, rng: random.Random, ops: set[str]) -> Any:
    """A value the field `kind` must reject; about a third of them of a wrong JSON type (a
    5000-digit number or `1e400` is wrong for every field: no field takes a float)."""
    types = {
        "v": {"int"},
        "sid": {"str"},
        "op": {"str"},
        "text": {"str"},
        "bool": {"bool"},
        "key": {"str"},
        "todo_id": {"str"},
        "item_id": {"str"},
        "file_id": {"str", "null"},  # a FileRef: null clears it
        "version": {"int"},
        "limit": {"int"},
        "cursor": {"str", "null"},
        "obj": {"object"},
        "auth": {"str"},
        "collection": {"str"},
        "number": {"int"},
        "choice": {"str"},
    }
    if rng.random() < 0.35:
        return _pick(
            rng,
            lambda: wrong_type(rng, types[kind]),
            lambda: HUGE_INTEGERS[0],
            lambda: rng.choice([Raw("1e400"), Raw("-1e400")]),
            lambda: nested(rng.choice([5, 200, 900]), rng.choice(["list", "object"])),
        )
    if kind == "v":
        return rng.choice([0, 1, 3, -2, 2**64, 20, Raw("2.0"), Raw("2e0"), "2", True, None])
    if kind == "sid":
        return rng.choice(LONE_SURROGATES)
    if kind == "op":
        return bad_op(rng, ops)
    if kind == "text":
        return bad_text(rng)
    if kind == "bool":
        return rng.choice([0, 1, "true", "false", None, [], {}, "", Raw("1.0")])
    if kind == "key":
        return bad_key(rng)
    if kind == "todo_id":
        return bad_todo_id(rng)
    if kind in ("item_id", "file_id"):
        return bad_item_id(rng)
    if kind == "version":
        return rng.choice([0, -1, -(2**63), 2**63, 2**64, 10**30, True, False, Raw("1.0")])
    if kind == "limit":
        return rng.choice([0, -1, 101, 1000, 2**63, -(2**63), True, Raw("1.0"), Raw("2e1")])
    if kind == "cursor":
        return bad_cursor(rng)
    if kind == "collection":  # never a declarable name (letters and digits, lower-case first)
        return rng.choice(["", "Todos", "todos ", "todo_list", "user_data", "../todos", "🙂"])
    if kind == "number":
        return rng.choice([2**63, -(2**63) - 1, 10**30, True, Raw("1e400")])
    if kind == "choice":
        return rng.choice(["", " ", "\x00", "x" * 300])
    if kind == "auth":
        return bad_string(
            rng,
            [
                "",
                " ",
                "a b",
                "x" * 257,
                "\t",
                "code\x00",
                "é",
                "🙂",
                "code\u200f",
                "\x7f",
                "code\n",
                unicode_edge(rng),
                "x" * 70_000,
            ],
        )
    return bad_obj(rng)


def bad_obj(rng: random.Random) -> Any:
    """A 2020 `obj` that `put` must reject (a valid id, one thing wrong)."""
    good: dict[str, Any] = {"id": "row-1", "n": 1}
    how = rng.randrange(6)
    if how == 0:
        del good["id"]
    elif how == 1:
        good["id"] = rng.choice([bad_item_id(rng), wrong_type(rng, {"str"})])
    elif how == 2:
        good[
            rng.choice(
                [
                    "uid",
                    "",
                    "1a",
                    "a-b",
                    "a b",
                    "x" * 65,
                    "ключ",
                    "n\u200f",
                    "🙂",
                    "a.b",
                    "id ",
                    "\x00",
                    "$where",
                    "ＩＤ",
                    "n" + rng.choice(LONE_SURROGATES),
                ]
            )
        ] = 1
    elif how == 3:
        good["n"] = rng.choice(
            [
                None,
                [],
                [1],
                {},
                {"a": 1},
                2**63,
                -(2**63) - 1,
                10**30,
                "x" * 8193,
                Raw("1e400"),
                Raw("-1e400"),
                nested(50),
            ]
            + [rng.choice(LONE_SURROGATES)]
        )
    elif how == 4:
        good.update({f"c{i}": i for i in range(rng.choice([32, 33, 100]))})  # n + 32: one too many
    else:
        return rng.choice([[], ["row-1"], "row-1", None, 1, True])
    return good

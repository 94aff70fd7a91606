"""Cursors and 2020 objects."""

from __future__ import annotations

import pytest

from miniapp.domain.compat import row_to_compat
from miniapp.domain.cursor import decode_cursor, encode_cursor
from miniapp.domain.records import Row
from miniapp.entrypoints.compat_object import parse_compat_object
from miniapp.errors import InvalidRequest

KEY = b"k" * 32
ALICE, BOB = "2088000000000001", "2088000000000002"


@pytest.mark.parametrize("item_id", ["01HZZZZZZZZZZZZZZZZZZZZZZZ", "0" * 26, "7" + "Z" * 25])
def test_a_cursor_decodes_to_the_id_it_encodes(item_id: str) -> None:
    cursor = encode_cursor(KEY, ALICE, "todos", item_id)
    assert decode_cursor(KEY, ALICE, "todos", cursor) == item_id


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!!",
        "a b",
        "YQ==",
        "A",
        "_w",
        "AA",
        encode_cursor(KEY, ALICE, "todos", "0" * 26) + "=",
        "x" * 3000,
        encode_cursor(KEY, BOB, "todos", "0" * 26),
        encode_cursor(KEY, ALICE, "notes", "0" * 26),
        encode_cursor(b"x" * 32, ALICE, "todos", "0" * 26),
    ],
)
def test_a_forged_cursor_is_invalid_request(cursor: str) -> None:
    with pytest.raises(InvalidRequest):
        decode_cursor(KEY, ALICE, "todos", cursor)


def test_a_2020_object_keeps_its_columns() -> None:
    obj = parse_compat_object({"id": "buy milk", "completed": False, "n": 3, "f": 1.5, "s": "x"})
    assert obj.id == "buy milk"
    assert dict(obj.columns) == {"completed": False, "n": 3, "f": 1.5, "s": "x"}


def test_a_2020_object_may_have_no_columns() -> None:
    assert dict(parse_compat_object({"id": "x"}).columns) == {}


def test_thirty_two_columns_are_accepted() -> None:
    obj = {"id": "x", **{f"c{i}": i for i in range(32)}}
    assert len(parse_compat_object(obj).columns) == 32


@pytest.mark.parametrize(
    "obj, why",
    [
        ([], "not an object"),
        ("x", "a string"),
        ({}, "no id"),
        ({"id": 5}, "numeric id"),
        ({"id": ""}, "empty id"),
        ({"id": "x" * 257}, "id too long"),
        ({"id": "买" * 342}, "id over 1024 bytes"),
        ({"id": "a\nb"}, "id with a newline"),
        ({"id": "\ud800"}, "id with a lone surrogate"),
        ({"id": "x", "uid": "someone-else"}, "uid column"),
        ({"id": "x", "1abc": 1}, "name starting with a digit"),
        ({"id": "x", "a-b": 1}, "name with a dash"),
        ({"id": "x", "a" * 65: 1}, "name too long"),
        ({"id": "x", "": 1}, "empty name"),
        ({"id": "x", "é": 1}, "non-ASCII name"),
        ({"id": "x", "n": None}, "null value"),
        ({"id": "x", "n": [1]}, "array value"),
        ({"id": "x", "n": {"a": 1}}, "object value"),
        ({"id": "x", "n": 2**63}, "integer over int64"),
        ({"id": "x", "n": -(2**63) - 1}, "integer under int64"),
        ({"id": "x", "n": float("inf")}, "infinite number"),
        ({"id": "x", "n": float("nan")}, "NaN"),
        ({"id": "x", "s": "x" * 8193}, "string too long"),
        ({"id": "x", "s": "\udc00"}, "string with a lone surrogate"),
        ({"id": "x", **{f"c{i}": i for i in range(33)}}, "33 columns"),
    ],
)
def test_a_bad_2020_object_is_invalid_request(obj: object, why: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_compat_object(obj)


def test_int64_bounds_are_accepted() -> None:
    obj = parse_compat_object({"id": "x", "lo": -(2**63), "hi": 2**63 - 1})
    assert obj.columns == {"lo": -(2**63), "hi": 2**63 - 1}


def test_a_2020_row_answers_its_id_merged_with_its_columns_without_the_user() -> None:
    assert row_to_compat(Row("2088", "buy milk", {"completed": True})) == {
        "id": "buy milk",
        "completed": True,
    }

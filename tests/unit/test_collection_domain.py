"""Item ids, and the todos declaration's rules for text and for stored rows (the todo has no
code of its own: these rules all come from domain/schema.py)."""

from __future__ import annotations

import os

import pytest

from miniapp.collections.todos import COLLECTION as TODOS
from miniapp.domain.ids import is_item_id as is_todo_id
from miniapp.domain.ids import new_item_id as new_todo_id
from miniapp.domain.schema import Boolean, Choice, Collection, Item, Number, StoredItemInvalid, Text
from miniapp.errors import InvalidRequest


def check_text(text: object) -> object:
    return TODOS.fields["text"].check("text", text)


def test_a_todo_id_is_26_crockford_characters() -> None:
    todo_id = new_todo_id(1_700_000_000_000, os.urandom)
    assert len(todo_id) == 26 and is_todo_id(todo_id)


def test_todo_ids_sort_by_creation_time() -> None:
    ids = [new_todo_id(ms, os.urandom) for ms in (1, 1000, 1_700_000_000_000, 2**48 - 1)]
    assert ids == sorted(ids)


def test_a_todo_id_keeps_the_timestamp_and_the_random_bits() -> None:
    todo_id = new_todo_id(0, lambda n: b"\xff" * n)
    assert todo_id == "0000000000" + "Z" * 16


def test_a_timestamp_beyond_48_bits_is_refused() -> None:
    with pytest.raises(ValueError):
        new_todo_id(2**48, os.urandom)


@pytest.mark.parametrize(
    "value",
    ["", "0" * 25, "0" * 27, "8" + "0" * 25, "0" * 25 + "I", "0" * 25 + "u", "0" * 25 + "-"],
)
def test_malformed_todo_ids_are_not_todo_ids(value: str) -> None:
    assert not is_todo_id(value)


@pytest.mark.parametrize(
    "text", ["a", "x" * 1000, "line one\nline two", "tab\there", " padded ", "买牛奶", "🙂" * 1000]
)
def test_valid_texts_are_kept_exactly(text: str) -> None:
    assert check_text(text) == text


@pytest.mark.parametrize(
    "text, why",
    [
        ("", "empty"),
        ("x" * 1001, "too long"),
        ("   ", "only spaces"),
        ("\n\t", "only whitespace"),
        ("bell\x07", "C0 control"),
        ("nul\x00", "NUL"),
        ("cr\r", "carriage return"),
        ("del\x7f", "DEL"),
        ("c1\x85", "C1 control"),
    ],
)
def test_invalid_texts_are_invalid_request(text: str, why: str) -> None:
    with pytest.raises(InvalidRequest):
        check_text(text)


def test_a_todo_survives_a_round_trip_through_a_row() -> None:
    todo = Item(new_todo_id(5, os.urandom), {"text": "milk", "completed": True}, 5, 9, 3)
    assert TODOS.item_from_columns(todo.id, todo.to_columns()) == todo


@pytest.mark.parametrize(
    "columns",
    [
        {"completed": False},
        {"text": "a", "completed": False, "createdAt": 1, "updatedAt": 1},
        {"text": "a", "completed": 0, "createdAt": 1, "updatedAt": 1, "version": 1},
        {"text": "a", "completed": False, "createdAt": 1, "updatedAt": 1, "version": True},
        {"text": "a", "completed": False, "createdAt": 1, "updatedAt": 1, "version": 0},
        {"text": 5, "completed": False, "createdAt": 1, "updatedAt": 1, "version": 1},
        {"text": "", "completed": False, "createdAt": 1, "updatedAt": 1, "version": 1},
        {"text": "a\x1b", "completed": False, "createdAt": 1, "updatedAt": 1, "version": 1},
        {"text": "x" * 8192, "completed": False, "createdAt": 1, "updatedAt": 1, "version": 1},
        {"text": "a", "completed": False, "createdAt": 1, "updatedAt": 1, "version": 2**63},
        {"text": "a", "completed": False, "createdAt": 2, "updatedAt": 1, "version": 1},
    ],
)
def test_a_row_that_is_not_a_well_formed_todo_is_not_a_todo(columns: dict) -> None:
    with pytest.raises(StoredItemInvalid):
        TODOS.item_from_columns(new_todo_id(1, os.urandom), columns)


def test_a_row_with_a_non_todo_id_is_not_a_todo() -> None:
    columns = {"text": "a", "completed": False, "createdAt": 1, "updatedAt": 1, "version": 1}
    with pytest.raises(StoredItemInvalid):
        TODOS.item_from_columns("buy milk", columns)


def test_columns_of_fields_no_longer_declared_are_ignored_and_new_fields_take_defaults() -> None:
    columns = {"text": "a", "createdAt": 1, "updatedAt": 1, "version": 1, "x": 1}
    item = TODOS.item_from_columns("0" * 26, columns)
    assert dict(item.values) == {"text": "a", "completed": False}


def test_the_wire_shape_has_exactly_the_six_fields() -> None:
    wire = Item("0" * 26, {"text": "a", "completed": False}, 1, 2, 3).to_wire()
    assert wire == {
        "id": "0" * 26,
        "text": "a",
        "completed": False,
        "createdAt": 1,
        "updatedAt": 2,
        "version": 3,
    }


def test_a_declaration_checks_numbers_choices_and_defaults() -> None:
    notes = Collection(
        "notes",
        {
            "title": Text(max_chars=5),
            "stars": Number(0, 5, default=0),
            "color": Choice(("red", "blue"), default="red"),
            "pinned": Boolean(),
        },
    )
    assert notes.check_new({"title": "hi"}).values == {
        "title": "hi",
        "stars": 0,
        "color": "red",
        "pinned": False,
    }
    for bad in (
        {"title": "toolong"},
        {"title": "hi", "stars": 6},
        {"title": "hi", "stars": 1.5},
        {"title": "hi", "color": "green"},
        {"title": "hi", "pinned": 1},
        {},
    ):
        with pytest.raises(InvalidRequest):
            notes.check_new(bad)


@pytest.mark.parametrize(
    "name, fields",
    [
        ("Notes", {}),
        ("no-tes", {}),
        ("notes", {"id": Text()}),
        ("notes", {"version": Text()}),
        ("notes", {"n": Number(0, 2**64)}),
        ("notes", {"t": Text(default="")}),
    ],
)
def test_a_bad_declaration_is_refused_when_loaded(name: str, fields: dict) -> None:
    with pytest.raises(ValueError):
        Collection(name, fields)

"""Todo ids, todo text and todo rows."""
from __future__ import annotations

import os

import pytest

from miniapp.domain.records import Row
from miniapp.domain.todo import Todo, check_text, is_todo_id, new_todo_id
from miniapp.errors import InvalidRequest


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


@pytest.mark.parametrize("value", ["", "0" * 25, "0" * 27, "8" + "0" * 25, "0" * 25 + "I",
                                   "0" * 25 + "u", "0" * 25 + "-"])
def test_malformed_todo_ids_are_not_todo_ids(value: str) -> None:
    assert not is_todo_id(value)


@pytest.mark.parametrize("text", ["a", "x" * 1000, "line one\nline two", "tab\there", " padded ",
                                  "买牛奶", "🙂" * 1000])
def test_valid_texts_are_kept_exactly(text: str) -> None:
    assert check_text(text) == text


@pytest.mark.parametrize("text, why", [
    ("", "empty"),
    ("x" * 1001, "too long"),
    ("   ", "only spaces"),
    ("\n\t", "only whitespace"),
    ("bell\x07", "C0 control"),
    ("nul\x00", "NUL"),
    ("cr\r", "carriage return"),
    ("del\x7f", "DEL"),
    ("c1\x85", "C1 control"),
])
def test_invalid_texts_are_invalid_request(text: str, why: str) -> None:
    with pytest.raises(InvalidRequest):
        check_text(text)


def test_a_todo_survives_a_round_trip_through_a_row() -> None:
    todo = Todo(new_todo_id(5, os.urandom), "milk", True, 5, 9, 3)
    assert Todo.from_row(todo.to_row("u")) == todo


@pytest.mark.parametrize("columns", [
    {"completed": False},
    {"text": "a", "completed": False, "createdAt": 1, "updatedAt": 1},
    {"text": "a", "completed": 0, "createdAt": 1, "updatedAt": 1, "version": 1},
    {"text": "a", "completed": False, "createdAt": 1, "updatedAt": 1, "version": True},
    {"text": "a", "completed": False, "createdAt": 1, "updatedAt": 1, "version": 0},
    {"text": 5, "completed": False, "createdAt": 1, "updatedAt": 1, "version": 1},
    {"text": "a", "completed": False, "createdAt": 1, "updatedAt": 1, "version": 1, "x": 1},
])
def test_a_row_that_is_not_a_well_formed_todo_is_not_a_todo(columns: dict) -> None:
    assert Todo.from_row(Row("u", new_todo_id(1, os.urandom), columns)) is None


def test_a_row_with_a_non_todo_id_is_not_a_todo() -> None:
    columns = {"text": "a", "completed": False, "createdAt": 1, "updatedAt": 1, "version": 1}
    assert Todo.from_row(Row("u", "buy milk", columns)) is None


def test_the_wire_shape_has_exactly_the_six_fields() -> None:
    wire = Todo("0" * 26, "a", False, 1, 2, 3).to_wire()
    assert wire == {"id": "0" * 26, "text": "a", "completed": False, "createdAt": 1,
                    "updatedAt": 2, "version": 3}

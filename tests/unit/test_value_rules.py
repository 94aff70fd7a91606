"""The value rules of a declared field: a single-line Text has no line break of any kind, a Text
that may not be blank has a visible character, and a Number that is not an integer field holds
every integer it accepts exactly."""

from __future__ import annotations

import unicodedata

import pytest

from miniapp.domain.limits import MAX_EXACT_DOUBLE_INT
from miniapp.domain.schema import Collection, Number, StoredItemInvalid, Text
from miniapp.domain.values import DEFAULT_IGNORABLE, LINE_BREAKS, is_blank, is_blank_char
from miniapp.errors import InvalidRequest

ONE_LINE = Text(max_chars=100, multiline=False)
MULTILINE = Text(max_chars=100)
DECIMAL = Number(minimum=-(2**62), maximum=2**62, integer=False)


def refused(spec: Text | Number, value: object) -> str:
    with pytest.raises(InvalidRequest) as caught:
        spec.check("f", value)
    return caught.value.message


# -- single-line text -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "sep", ["\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
)
def test_a_single_line_text_refuses_every_line_or_paragraph_separator(sep: str) -> None:
    assert "one line" in refused(ONE_LINE, f"first{sep}second")


def test_the_line_breaks_are_exactly_those_python_splits_lines_on() -> None:
    splitting = {chr(c) for c in range(0x110000) if len(f"a{chr(c)}b".splitlines()) == 2}
    assert splitting == LINE_BREAKS


def test_a_multiline_text_keeps_newlines_and_unicode_line_separators() -> None:
    text = "one\ntwo\u2028three\u2029four"
    assert MULTILINE.check("f", text) == text


def test_a_single_line_text_keeps_other_characters_exactly() -> None:
    assert ONE_LINE.check("f", " Zürich\u00a0☕ 中 ") == " Zürich\u00a0☕ 中 "


# -- blank text -----------------------------------------------------------------------------

BLANKS = {
    "space": " ",
    "tab and newline": "\t\n",
    "no-break space": "\u00a0",
    "ideographic space": "\u3000",
    "en quad": "\u2000",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "zero width space": "\u200b",
    "zero width joiner": "\u200d",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "right-to-left override": "\u202e",
    "left-to-right mark": "\u200e",
    "arabic letter mark": "\u061c",
    "mongolian vowel separator": "\u180e",
    "combining grapheme joiner": "\u034f",
    "variation selector 16": "\ufe0f",
    "variation selector 17": "\U000e0100",
    "tag space": "\U000e0020",
    "language tag": "\U000e0001",
    "khmer inherent vowel": "\u17b4",
    "invisible times": "\u2062",
    "shorthand format overlap": "\U0001bca0",
    "musical begin beam": "\U0001d173",
    "braille pattern blank": "\u2800",
    "hangul choseong filler": "\u115f",
    "hangul jungseong filler": "\u1160",
    "hangul filler": "\u3164",
    "halfwidth hangul filler": "\uffa0",
    "a mix": " \u200b\u2800\u3164\ufeff ",
}


@pytest.mark.parametrize("text", BLANKS.values(), ids=BLANKS.keys())
def test_a_text_of_only_blank_characters_is_refused(text: str) -> None:
    assert "blank" in refused(MULTILINE, text)


@pytest.mark.parametrize("text", BLANKS.values(), ids=BLANKS.keys())
def test_a_field_declared_blank_accepts_it(text: str) -> None:
    assert Text(max_chars=100, blank=True).check("f", text) == text


@pytest.mark.parametrize(
    "text", ["a\u200b", "\u2800x", "\u3164한", "🙂", "\u0301", "·", "_", "\ue000", "\u3164\u200b."]
)
def test_one_visible_character_makes_a_text_not_blank(text: str) -> None:
    assert MULTILINE.check("f", text) == text


def test_every_default_ignorable_code_point_and_blank_category_is_blank() -> None:
    for low, high in DEFAULT_IGNORABLE:
        assert all(is_blank_char(chr(c)) for c in range(low, high + 1)), hex(low)
    categories = {"Cc", "Cf", "Zs", "Zl", "Zp"}
    assert all(
        is_blank_char(chr(c)) for c in range(0x110000) if unicodedata.category(chr(c)) in categories
    )


def test_letters_digits_and_symbols_are_not_blank() -> None:
    assert not any(is_blank_char(ch) for ch in "aZ09中한🙂☕·-_.,!?")
    assert is_blank("") and not is_blank("x")


def test_an_empty_text_allowed_by_its_length_is_not_refused_as_blank() -> None:
    assert Text(min_chars=0).check("f", "") == ""


def test_a_stored_blank_text_reads_as_a_corrupt_item() -> None:
    notes = Collection("notes", {"title": Text(max_chars=10)})
    columns = {"title": "\u200b", "createdAt": 1, "updatedAt": 1, "version": 1}
    with pytest.raises(StoredItemInvalid, match="blank"):
        notes.item_from_columns("01JD3Q6X2P7N4K8M5R9T0V1W2Y", columns)


# -- decimal numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [MAX_EXACT_DOUBLE_INT + 1, -MAX_EXACT_DOUBLE_INT - 1, 2**60, -(2**62)]
)
def test_a_decimal_field_refuses_an_integer_it_cannot_hold_exactly(value: int) -> None:
    assert "2^53" in refused(DECIMAL, value)


@pytest.mark.parametrize(
    "value", [0, 1, -7, MAX_EXACT_DOUBLE_INT, -MAX_EXACT_DOUBLE_INT, MAX_EXACT_DOUBLE_INT - 1]
)
def test_a_decimal_field_holds_every_integer_within_2_to_the_53_exactly(value: int) -> None:
    stored = DECIMAL.check("f", value)
    assert isinstance(stored, float) and int(stored) == value


def test_a_decimal_field_takes_large_floats_as_the_doubles_they_are() -> None:
    assert DECIMAL.check("f", 2.0**60) == 2.0**60


def test_an_integer_field_still_holds_64_bit_integers_exactly() -> None:
    assert Number().check("f", 2**63 - 1) == 2**63 - 1


def test_a_decimal_declaration_with_an_inexact_default_is_refused() -> None:
    with pytest.raises(ValueError, match="2\\^53"):
        Collection("prices", {"price": Number(integer=False, default=2**53 + 1)})

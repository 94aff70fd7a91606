"""Raw bytes to a JSON object: every malformed body is a typed error."""

from __future__ import annotations

import pytest

from miniapp.domain.limits import MAX_BODY_BYTES
from miniapp.entrypoints.json_body import parse_json_object
from miniapp.errors import InvalidRequest, PayloadTooLarge


def test_a_json_object_is_parsed() -> None:
    assert parse_json_object(b'{"a": 1, "b": "\xc3\xa9"}') == {"a": 1, "b": "é"}


def test_a_body_of_exactly_the_limit_is_accepted() -> None:
    body = b'{"a":"' + b"x" * (MAX_BODY_BYTES - 8) + b'"}'
    assert len(body) == MAX_BODY_BYTES
    assert parse_json_object(body)["a"].startswith("x")


def test_a_body_one_byte_over_the_limit_is_payload_too_large() -> None:
    body = b'{"a":"' + b"x" * (MAX_BODY_BYTES - 7) + b'"}'
    with pytest.raises(PayloadTooLarge):
        parse_json_object(body)


@pytest.mark.parametrize(
    "body, why",
    [
        (b"", "empty"),
        (b"   ", "blank"),
        (b"[1, 2]", "an array"),
        (b'"text"', "a string"),
        (b"null", "null"),
        (b"42", "a number"),
        (b"{", "truncated"),
        (b"{'a': 1}", "single quotes"),
        (b'{"a": NaN}', "NaN literal"),
        (b'{"a": Infinity}', "Infinity literal"),
        (b'{"a": -Infinity}', "-Infinity literal"),
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (b"\xef\xbb\xbf{}", "UTF-8 BOM"),
        (b'{"a": "\xff"}', "not UTF-8"),
        ('{"a": 1}'.encode("utf-16"), "UTF-16"),
        (b'{"a": ' + b"1" * 5000 + b"}", "an integer too long to parse"),
        (b"[" * 30000 + b"]" * 30000, "nested too deeply"),
        (b'{"a":' * 10000 + b"1" + b"}" * 10000, "objects nested too deeply"),
    ],
)
def test_a_malformed_body_is_invalid_request(body: bytes, why: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_json_object(body)


def test_a_str_body_is_read_as_utf8() -> None:
    assert parse_json_object('{"a": "ü"}') == {"a": "ü"}


def test_a_str_body_with_a_lone_surrogate_is_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        parse_json_object('{"a": "\ud800"}')

"""Answers whose JSON is written once: `EncodedList` is a list that also carries its own JSON
text, so the handler can send that text instead of encoding the list a second time.

Why: the 2020 `list` must know its answer's size while it reads (to refuse an answer over the
limit before reading the whole range), and that size is only exact once the rows are encoded.
They are encoded then, once, a page at a time; `render` reuses the text. Code that reads the
answer as data (the services' callers, the tests) sees an ordinary list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

# Compact, raw UTF-8: what the db function answers (as the 2020 Node function's JSON.stringify).
ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class EncodedList(list[Any]):
    """The items, and `json_text`: exactly `ENCODER.encode(list(items))`."""

    def __init__(self, items: Iterable[Any], texts: Iterable[str]) -> None:
        """`texts`: the items' JSON in order, in runs of one or more items each (a run's items
        comma-separated, no brackets, no empty run)."""
        super().__init__(items)
        self.json_text = "[" + ",".join(texts) + "]"


def render(answer: dict[str, Any]) -> str:
    """`answer` as the db function sends it: `ENCODER.encode(answer)`, splicing in the text of an
    `EncodedList` under "data" instead of encoding it again."""
    data = answer.get("data")
    if isinstance(data, EncodedList) and list(answer) == ["data"]:
        return '{"data":' + data.json_text + "}"
    return ENCODER.encode(answer)

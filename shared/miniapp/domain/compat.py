"""The 2020 protocol's rows: a client object `{"id": ..., <column>: <value>, ...}` stored as
the row (user, id) with the other keys as columns, and answered as that object again. Reading
and checking the object a client sends is the 2020 entry protocol's (entrypoints/compat_object.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .records import Row, Scalar


@dataclass(frozen=True)
class CompatObject:
    """A 2020 object: its `id` and the other properties, stored as columns."""

    id: str
    columns: Mapping[str, Scalar]

    def to_row(self, user_id: str) -> Row:
        return Row(user_id=user_id, item_id=self.id, columns=dict(self.columns))


def row_to_compat(row: Row) -> dict[str, Any]:
    """The 2020 answer for a row: the id merged with the columns. The 2020 function also merged
    the `uid` key column in; we leave it out so the Alipay user id never reaches client code (the
    2020 client never read it)."""
    return {"id": row.item_id, **row.columns}

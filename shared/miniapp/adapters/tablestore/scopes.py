"""Where each counted scope lives (tally.Place): a collection's tally and items in the user_data
table (user_data.py), the 2020 tally in the usage table (guard.py) and the 2020 rows in the data
table (items.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tablestore import INF_MAX, INF_MIN

from ...domain.records import COMPAT_SCOPE
from .guard import usage_pk
from .items import row_from_sdk, row_key
from .tally import Place, TallyRows
from .user_data import item_from_row, item_key, pk, tally_key


def places(user_data_table: str, usage_table: str, data_table: str) -> Callable[[str, str], Place]:
    """`place(user, scope)` for the tables the template declares. The usage table must have no
    TTL: a tally must outlive any idle period."""

    def place(user_id: str, scope: str) -> Place:
        if scope == COMPAT_SCOPE:
            return Place(
                usage_table,
                usage_pk(user_id),
                data_table,
                row_key(user_id, INF_MIN),
                row_key(user_id, INF_MAX),
                lambda item_id: row_key(user_id, item_id),
                lambda row: row_from_sdk(user_id, row),
            )
        return Place(
            user_data_table,
            pk(user_id, tally_key(scope)),
            user_data_table,
            pk(user_id, f"{scope}#"),
            pk(user_id, f"{scope}$"),
            lambda item_id: pk(user_id, item_key(scope, item_id)),
            lambda row: item_from_row(user_id, scope, row),
        )

    return place


def counted_rows(client: Any, user_data_table: str, usage_table: str, data_table: str) -> TallyRows:
    """CountedRows of every scope on one client."""
    return TallyRows(client, places(user_data_table, usage_table, data_table))

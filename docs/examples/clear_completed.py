"""Todos with a custom op: `clearCompleted` removes the user's completed items."""

from collections.abc import Mapping

from miniapp.domain.records import Scalar
from miniapp.domain.schema import Boolean, Collection, CustomOp, Text
from miniapp.services.collection import CollectionService


def clear_completed(
    user_id: str, items: CollectionService, args: Mapping[str, Scalar]
) -> dict[str, int]:
    removed, cursor = 0, None
    while True:
        page = items.list(user_id, 100, cursor)
        for item in page.items:
            if item.values["completed"]:
                items.remove(user_id, item.id)
                removed += 1
        cursor = page.cursor
        if cursor is None:
            return {"removed": removed}


COLLECTION = Collection(
    name="todos",
    fields={"text": Text(max_chars=1000), "completed": Boolean(default=False)},
    ops=(CustomOp("clearCompleted", clear_completed, summary='`{"removed": n}`'),),
)

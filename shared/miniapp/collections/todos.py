"""The todo list of the demo mini program: the v2 API's default collection (a v2 event without
`collection` means this one). `quota` says how many todos the user may hold, which a paid `pro`
order raises (miniapp/catalog.py). A todo may carry one picture from the user's `files`."""

from collections.abc import Mapping

from ..domain.records import FirstRead, Scalar
from ..domain.schema import Boolean, Collection, CustomOp, FileRef, Text
from ..services.collection import CollectionService


def quota(user_id: str, todos: CollectionService, args: Mapping[str, Scalar]) -> dict[str, int]:
    return todos.usage(user_id)


COLLECTION = Collection(
    name="todos",
    fields={
        "text": Text(max_chars=1000),
        "completed": Boolean(default=False),
        # One picture (a committed file's id); removing the todo or the picture removes the file.
        "picture": FileRef("files"),
    },
    quota=None,  # the deployment's ITEM_QUOTA
    order="oldest_first",
    versioned=True,
    idempotent_adds=True,
    legacy_rows=True,
    ops=(
        CustomOp(
            "quota",
            quota,
            summary='`{"quota", "used", "granted"}`: the todos the user may hold (paid orders '
            "add `granted`), and holds",
            first_reads=lambda args: (FirstRead("todos"),),
        ),
    ),
)

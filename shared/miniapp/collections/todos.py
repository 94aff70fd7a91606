"""The todo list of the demo mini program: the v2 API's default collection (a v2 event without
`collection` means this one)."""

from ..domain.schema import Boolean, Collection, Text

COLLECTION = Collection(
    name="todos",
    fields={
        "text": Text(max_chars=1000),
        "completed": Boolean(default=False),
    },
    quota=None,  # the deployment's ITEM_QUOTA
    order="oldest_first",
    versioned=True,
    idempotent_adds=True,
    legacy_rows=True,
)

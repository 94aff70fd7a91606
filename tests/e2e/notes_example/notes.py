"""Notes: short texts a user pins and colours (the worked example of docs/extending.md)."""

from ..domain.schema import Boolean, Choice, Collection, Text

COLLECTION = Collection(
    name="notes",
    fields={
        "title": Text(max_chars=200),
        "body": Text(max_chars=4000, required=False),
        "color": Choice(("yellow", "blue", "pink"), default="yellow"),
        "pinned": Boolean(default=False),
    },
    quota=3,
    order="oldest_first",
    versioned=True,
    idempotent_adds=True,
)

"""Notes: short texts a user pins and colours."""

from miniapp.domain.schema import Boolean, Choice, Collection, Text

COLLECTION = Collection(
    name="notes",  # must equal the module name
    fields={
        "title": Text(max_chars=200),  # required: no default
        "body": Text(max_chars=4000, required=False),
        "color": Choice(("yellow", "blue", "pink"), default="yellow"),
        "pinned": Boolean(default=False),
    },
    quota=500,  # items per user (None: the deployment's ITEM_QUOTA)
    order="newest_first",  # or "oldest_first"
    versioned=True,  # update needs expectedVersion
    idempotent_adds=True,  # add accepts idempotencyKey
)

"""The user's files (pictures on todos): uploaded straight to OSS with a ticket, committed, read
by signed URLs (docs/files.md). An item is a committed file; its id is the fileId of its ticket.
The limits are declared here, as a collection's quota is."""

from ..domain.files import FileRules
from ..domain.schema import Collection, Number, Text

COLLECTION = Collection(
    name="files",
    fields={
        "name": Text(max_chars=255, multiline=False),
        "contentType": Text(max_chars=100, multiline=False),
        "size": Number(minimum=1),
    },
    quota=1000,  # files per user
    order="newest_first",
    versioned=False,
    idempotent_adds=False,
    files=FileRules(
        max_file_bytes=10 * 1024 * 1024,  # 10 MiB a file
        quota_bytes=200 * 1024 * 1024,  # 200 MiB a user
        content_types=("image/jpeg", "image/png", "image/gif", "image/webp"),
        ticket_seconds=600,
        url_seconds=900,
    ),
)

"""The v2 commands of a file collection beyond get, list and remove (docs/files.md):
`prepareUpload` (an upload ticket), `commit` (the uploaded file becomes an item) and `url` (a
signed GET URL). Their parsers check every field; the user is the session's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.files import MAX_NAME_CHARS
from ..domain.ids import check_item_id
from ..domain.limits import MAX_EXACT_DOUBLE_INT
from ..domain.records import FirstRead
from ..domain.schema import Collection, Number, Text
from .fields import required_str
from .registry import Command, Shape

EXAMPLE_FILE_ID = "01HZX3K8Q4W5E6R7T8Y9V0J1P2"
_NAME = Text(max_chars=MAX_NAME_CHARS, multiline=False)
_CONTENT_TYPE = Text(max_chars=100, multiline=False)
_SIZE = Number(minimum=1, maximum=MAX_EXACT_DOUBLE_INT)


@dataclass(frozen=True)
class Upload:
    """A prepareUpload: what the client declares of the file it will post."""

    name: str
    content_type: str
    size: int


def file_commands(collection: Collection, shape: Callable[..., Shape]) -> list[Command]:
    name = collection.name
    head = f'{{"v": 2, "collection": "{name}", "sid", "op": '

    def parse_upload(event: Mapping[str, Any]) -> Upload:
        return Upload(
            str(_NAME.check("name", event.get("name"))) if "name" in event else _missing("name"),
            str(_CONTENT_TYPE.check("contentType", event.get("contentType")))
            if "contentType" in event
            else _missing("contentType"),
            int(_SIZE.check("size", event.get("size"))) if "size" in event else _missing("size"),
        )

    def parse_file_id(event: Mapping[str, Any]) -> str:
        return check_item_id(required_str(event, "fileId"), "file", "fileId")

    def parse_id(event: Mapping[str, Any]) -> str:
        return check_item_id(required_str(event, "id"), "file")

    return [
        Command(
            "v2",
            name,
            "prepareUpload",
            shape(
                "prepareUpload",
                {"name": "text", "contentType": "text", "size": "number"},
                {"name", "contentType", "size"},
                {"name": "photo.jpg", "contentType": "image/jpeg", "size": 1024},
            ),
            parse_upload,
            lambda s, u, a: (
                s.files[name].prepare_upload(u, a.name, a.content_type, a.size).to_wire()
            ),
            f'`{head}"prepareUpload", "name", "contentType", "size"}}`',
            '`{"fileId", "url", "formData": {...}, "fileField": "file", "expiresAt"}`: post '
            "`formData` and the file (as `fileField`) to `url`",
        ),
        Command(
            "v2",
            name,
            "commit",
            shape("commit", {"fileId": "item_id"}, {"fileId"}, {"fileId": EXAMPLE_FILE_ID}),
            parse_file_id,
            lambda s, u, file_id: s.files[name].commit(u, file_id).to_wire(),
            f'`{head}"commit", "fileId"}}`',
            "the file item (repeatable)",
            first_reads=lambda file_id: (FirstRead(name, file_id),),
        ),
        Command(
            "v2",
            name,
            "url",
            shape("url", {"id": "item_id"}, {"id"}, {"id": EXAMPLE_FILE_ID}),
            parse_id,
            lambda s, u, file_id: s.files[name].url(u, file_id).to_wire(),
            f'`{head}"url", "id"}}`',
            '`{"url", "expiresAt"}`: a signed GET URL, at most 15 minutes',
            first_reads=lambda file_id: (FirstRead(name, file_id),),
        ),
    ]


def _missing(name: str) -> Any:
    from ..errors import InvalidRequest

    raise InvalidRequest(f"'{name}' is required")

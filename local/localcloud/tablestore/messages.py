"""Reading request messages: protobuf parsing and the parts several APIs share (conditions,
return content, read options), checked against the cloud's limits.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import DecodeError

from .conditions import RowCondition, parse_filter
from .model import (
    MAX_COLUMNS_TO_GET,
    MAX_WRITE_BYTES,
    ReadOptions,
    ReturnContent,
    ReturnKind,
    RowExistence,
    check_name,
    invalid,
)

_INT64_MAX = (1 << 63) - 1


def parse(message_type: Any, body: bytes) -> Any:
    message = message_type()
    try:
        message.ParseFromString(body)
    except DecodeError:
        raise invalid("Failed to parse the ProtoBuf message.") from None
    if not message.IsInitialized():
        raise invalid("Failed to parse the ProtoBuf message: missing required fields.")
    _check_strings(message)
    return message


def _check_strings(message: Any) -> None:
    """proto2 lets a `string` field carry bytes that are not UTF-8; the cloud refuses them."""
    for descriptor, value in message.ListFields():
        values = value if descriptor.label == descriptor.LABEL_REPEATED else [value]
        if descriptor.type == descriptor.TYPE_STRING:
            if any(not isinstance(v, str) for v in values):
                raise invalid(f"Field '{descriptor.name}' is not valid UTF-8.")
        elif descriptor.type == descriptor.TYPE_MESSAGE:
            for sub in values:
                _check_strings(sub)


def no_transaction(message: Any) -> None:
    if message.HasField("transaction_id"):
        raise invalid("Local transactions are not supported by the local Tablestore.")


def row_condition(message: Any) -> RowCondition:
    column_filter = parse_filter(message.column_condition) if message.column_condition else None
    return RowCondition(RowExistence(message.row_existence), column_filter)


def return_content(message: Any) -> ReturnContent:
    if not message.HasField("return_content"):
        return ReturnContent()
    content = message.return_content
    return ReturnContent(ReturnKind(content.return_type), tuple(content.return_column_names))


def read_options(message: Any) -> ReadOptions:
    columns = tuple(dict.fromkeys(message.columns_to_get))  # a repeated name counts once
    if len(columns) > MAX_COLUMNS_TO_GET:
        raise invalid(f"The number of columns to get exceeds the limit: {MAX_COLUMNS_TO_GET}.")
    for name in columns:
        check_name("column", name)
    for unsupported in ("start_column", "end_column", "token"):
        field = message.DESCRIPTOR.fields_by_name[unsupported]
        present = (
            len(getattr(message, unsupported))
            if field.label == field.LABEL_REPEATED
            else message.HasField(unsupported)
        )
        if present:
            raise invalid(
                f"'{unsupported}' (wide row paging) is not supported by the local Tablestore."
            )
    max_versions: int | None = None
    if message.HasField("max_versions"):
        if message.max_versions < 1:
            raise invalid("max_versions must be greater than 0.")
        max_versions = message.max_versions
    time_range = None
    if message.HasField("time_range"):
        tr = message.time_range
        if tr.HasField("specific_time"):
            time_range = (tr.specific_time, tr.specific_time + 1)
        else:
            time_range = (
                tr.start_time if tr.HasField("start_time") else 0,
                tr.end_time if tr.HasField("end_time") else _INT64_MAX,
            )
    elif max_versions is None:
        max_versions = 1  # the SDK may send neither; the newest version is the useful default
    row_filter = parse_filter(message.filter) if message.HasField("filter") else None
    return ReadOptions(columns, max_versions, time_range, row_filter)


def check_write_size(size: int) -> None:
    if size > MAX_WRITE_BYTES:
        raise invalid(f"The total data size of the request exceeds the limit: {MAX_WRITE_BYTES}.")

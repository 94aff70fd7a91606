"""Log Service bodies on the wire: compressed protobuf LogGroups in, (compressed) JSON out.

The LogGroup message is the SDK's own generated class (a second copy of the same .proto would
clash in the protobuf descriptor pool); its `Raw` variant keeps values as bytes, so a value that
is not valid UTF-8 is stored with replacement characters instead of failing the whole group.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping

import lz4.block

# The SDK's generated module builds its classes at import time; mypy cannot see them.
from aliyun.log.log_logs_raw_pb2 import LogGroupRaw  # type: ignore[attr-defined]  # see above

from .core import LogRecord, SlsError

COMPRESS_TYPES = ("lz4", "deflate", "")  # zstd needs a library the SDK does not install


def _invalid(message: str) -> SlsError:
    return SlsError(400, "PostBodyInvalid", message)


def decompress(body: bytes, headers: Mapping[str, str]) -> bytes:
    """The raw request body, from `x-log-compresstype` and `x-log-bodyrawsize`."""
    kind = headers.get("x-log-compresstype", "").lower()
    if kind not in COMPRESS_TYPES:
        raise SlsError(400, "InvalidCompressType", f"x-log-compresstype {kind} is unsupported.")
    if not kind:
        return body
    raw_size_text = headers.get("x-log-bodyrawsize")
    if raw_size_text is None:
        raise SlsError(
            400,
            "MissingBodyRawSize",
            "x-log-bodyrawsize does not exist in header when it is necessary.",
        )
    try:
        raw_size = int(raw_size_text)
    except ValueError:
        raise SlsError(400, "InvalidBodyRawSize", "x-log-bodyrawsize is invalid.") from None
    try:
        raw = (
            lz4.block.decompress(body, uncompressed_size=raw_size)
            if kind == "lz4"
            else zlib.decompress(body)
        )
    except Exception:  # noqa: BLE001 - lz4 and zlib raise several types for corrupt input
        raise _invalid(f"the body cannot be decompressed as {kind}") from None
    if len(raw) != raw_size:
        raise SlsError(400, "InvalidBodyRawSize", "x-log-bodyrawsize is invalid.")
    return raw


def decode_log_group(raw: bytes) -> list[LogRecord]:
    group = LogGroupRaw()
    try:
        group.ParseFromString(raw)
    # Protobuf's DecodeError, and RuntimeWarning-ish errors on missing fields.
    except Exception:  # noqa: BLE001
        raise _invalid("the body is not a valid LogGroup protobuf") from None
    tags = tuple((t.Key, t.Value) for t in group.LogTags)
    records = []
    for log in group.Logs:
        contents = tuple((c.Key, c.Value.decode("utf-8", "replace")) for c in log.Contents)
        records.append(
            LogRecord(
                time=log.Time,
                time_ns=log.Time_ns,
                contents=contents,
                topic=group.Topic,
                source=group.Source,
                tags=tags,
            )
        )
    return records


def log_as_json(record: LogRecord) -> dict[str, str]:
    """One log as GetLogs answers it: all values strings, `__time__` included."""
    out = {"__time__": str(record.time), "__source__": record.source, "__topic__": record.topic}
    out.update((f"__tag__:{k}", v) for k, v in record.tags)
    out.update(record.contents)
    return out


def encode_for(accept_encoding: str, payload: object) -> tuple[bytes, tuple[tuple[str, str], ...]]:
    """JSON body, compressed as the client asked (GetLogs v2 asks for lz4), with the headers that
    tell the SDK how to undo it."""
    raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    accepted = {e.strip().lower() for e in accept_encoding.split(",")}
    if "lz4" in accepted:
        body, kind = lz4.block.compress(raw, store_size=False), "lz4"
    elif "deflate" in accepted:
        body, kind = zlib.compress(raw), "deflate"
    else:
        return raw, ()
    return body, (("x-log-compresstype", kind), ("x-log-bodyrawsize", str(len(raw))))

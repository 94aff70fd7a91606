"""The parent <-> worker wire: length-prefixed messages on two dedicated pipes.

The pipes are not the worker's stdout/stderr, so a function that prints (or a C library that
writes to fd 1) can never corrupt a message. A message is a JSON object whose top-level `bytes`
values (an event, a result, a WSGI body) travel raw after the JSON rather than base64 inside it:
a 2020 list answers 0.76 MB, which base64 and a JSON string around it cost milliseconds to
write and read again on each side, work FC's own runtime does not charge a function.

A frame: its length (4 bytes, big-endian), the JSON's length (4 bytes), the JSON, then the raw
values one after the other, named with their lengths in the JSON under `RAW`.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

_HEADER = struct.Struct(">II")
MAX_MESSAGE = 64 * 1024 * 1024
RAW = "$raw"  # [[name, length], ...]: the message's bytes values, in the order they follow


class ChannelClosed(EOFError):
    """The other side hung up (the worker exited or the parent went away)."""


def send(fd: int, message: dict[str, Any]) -> None:
    raw = [(name, value) for name, value in message.items() if isinstance(value, bytes)]
    if raw:
        message = {name: value for name, value in message.items() if not isinstance(value, bytes)}
        message[RAW] = [[name, len(value)] for name, value in raw]
    payload = json.dumps(message, separators=(",", ":")).encode("utf-8")
    total = len(payload) + sum(len(value) for _, value in raw)
    _write_all(fd, _HEADER.pack(total, len(payload)) + payload)
    for _, value in raw:
        _write_all(fd, value)


def receive(fd: int) -> dict[str, Any]:
    total, length = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    if total > MAX_MESSAGE or length > total:
        raise ChannelClosed(f"message of {total} bytes is too large")
    frame = memoryview(_read_exactly(fd, total))
    try:
        message = json.loads(frame[:length].tobytes().decode("utf-8"))
        parts = message.pop(RAW, []) if isinstance(message, dict) else None
        # Function code can write to this pipe too: a frame that does not add up ends the
        # channel rather than the reader.
        if not (
            isinstance(parts, list)
            and all(
                isinstance(p, list)
                and len(p) == 2
                and isinstance(p[0], str)
                and type(p[1]) is int
                and p[1] >= 0
                for p in parts
            )
            and length + sum(size for _, size in parts) == total
        ):
            raise ValueError("raw parts do not match the frame")
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ChannelClosed(f"malformed message: {exc}") from None
    at = length
    for name, size in parts:
        message[name] = frame[at : at + size].tobytes()
        at += size
    return message


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise ChannelClosed("pipe closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)

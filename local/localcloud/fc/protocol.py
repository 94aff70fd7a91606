"""The parent <-> worker wire: length-prefixed JSON messages on two dedicated pipes.

The pipes are not the worker's stdout/stderr, so a function that prints (or a C library that
writes to fd 1) can never corrupt a message. Bytes travel base64-encoded inside the JSON.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from typing import Any

_HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024 * 1024


class ChannelClosed(EOFError):
    """The other side hung up (the worker exited or the parent went away)."""


def encode_bytes(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_bytes(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def send(fd: int, message: dict[str, Any]) -> None:
    payload = json.dumps(message, separators=(",", ":")).encode("utf-8")
    data = _HEADER.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def receive(fd: int) -> dict[str, Any]:
    (length,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    if length > MAX_MESSAGE:
        raise ChannelClosed(f"message of {length} bytes is too large")
    return json.loads(_read_exactly(fd, length).decode("utf-8"))


def _read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise ChannelClosed("pipe closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)

"""The local FC's parent <-> worker wire (localcloud/fc/protocol.py): bytes values travel raw
after the JSON, and arrive as the same bytes under the same names."""

from __future__ import annotations

import os
import struct
import threading

import pytest

from localcloud.fc import protocol


def _round_trip(message: dict[str, object]) -> dict[str, object]:
    read, write = os.pipe()
    try:
        # A writer thread: a message larger than the pipe's buffer blocks until it is read.
        writer = threading.Thread(target=protocol.send, args=(write, message))
        writer.start()
        got = protocol.receive(read)
        writer.join()
        return got
    finally:
        os.close(read)
        os.close(write)


def test_bytes_values_arrive_as_the_same_bytes_beside_the_json_values() -> None:
    body = bytes(range(256)) * 4096  # 1 MB, every byte value, larger than a pipe's buffer
    message = {"id": "c1", "ok": True, "body": body, "event": b"", "log": "line\n", "n": [1]}
    assert _round_trip(message) == message


def test_a_message_without_bytes_is_plain_json() -> None:
    assert _round_trip({"id": "ready", "pid": 7}) == {"id": "ready", "pid": 7}


def test_a_frame_over_the_limit_is_refused_before_it_is_read() -> None:
    read, write = os.pipe()
    try:
        os.write(write, struct.pack(">II", protocol.MAX_MESSAGE + 1, 2))
        with pytest.raises(protocol.ChannelClosed):
            protocol.receive(read)
    finally:
        os.close(read)
        os.close(write)


def test_a_closed_pipe_is_channel_closed() -> None:
    read, write = os.pipe()
    os.write(write, struct.pack(">II", 10, 2) + b"{}")
    os.close(write)
    with pytest.raises(protocol.ChannelClosed):
        protocol.receive(read)
    os.close(read)


@pytest.mark.parametrize(
    "frame",
    [
        b'{"$raw":5}',  # not a list of parts
        b'{"$raw":[["body",-1]]}',  # a negative length
        b'{"$raw":[["body",7]]}abc',  # more bytes named than the frame holds
        b'{"$raw":[["body",1]]}abc',  # fewer
        b'{"$raw":[["body","3"]]}abc',  # a length that is not an integer
        b"[1,2]",  # not an object
        b"\xff{}",  # not UTF-8
        b"{nope",  # not JSON
    ],
)
def test_a_frame_that_does_not_add_up_ends_the_channel_not_the_reader(frame: bytes) -> None:
    """Function code can write to the answer pipe too (its descriptor is in argv)."""
    json_end = frame.index(b"]]}") + 3 if b"]]}" in frame else len(frame)
    read, write = os.pipe()
    try:
        os.write(write, struct.pack(">II", len(frame), json_end) + frame)
        with pytest.raises(protocol.ChannelClosed):
            protocol.receive(read)
    finally:
        os.close(read)
        os.close(write)

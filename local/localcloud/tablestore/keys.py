"""Primary keys: checked against the table's schema, and encoded so that SQLite's byte order of
the encoded key is Tablestore's row order.

Each column becomes a marker byte and a value: 0x00 = INF_MIN, 0x02 = INF_MAX, 0x01 = a value.
INTEGER is 8 bytes big-endian with the sign bit flipped (signed numeric order). STRING (UTF-8)
and BINARY are escaped (0x00 -> 0x00 0xFF) and end with 0x00 0x00, so a shorter value sorts
before any longer one it prefixes and the next column cannot bleed into the comparison. The
markers put INF_MIN below and INF_MAX above every value of that column whatever follows.
"""

from __future__ import annotations

import struct

from .model import (
    MAX_PK_VALUE_BYTES,
    KeyBound,
    PkValue,
    PrimaryKey,
    TableMeta,
    invalid,
    invalid_pk,
)

_MIN, _VALUE, _MAX = b"\x00", b"\x01", b"\x02"
_WIRE_TYPE = {"INTEGER": "VT_INTEGER", "STRING": "VT_STRING", "BINARY": "VT_BLOB"}
_INT64 = (-(1 << 63), (1 << 63) - 1)


def _wire_type(value: PkValue) -> str:
    if isinstance(value, KeyBound):
        return "VT_" + value.value
    if isinstance(value, bool):
        return "VT_BOOLEAN"
    if isinstance(value, int):
        return "VT_INTEGER"
    return "VT_STRING" if isinstance(value, str) else "VT_BLOB"


def check_key(
    meta: TableMeta, key: PrimaryKey, *, bounds: bool = False, auto_increment: bool = False
) -> None:
    """Names, order and types must be the table's. `bounds` allows INF_MIN / INF_MAX (range
    ends); `auto_increment` allows the AUTO_INCREMENT placeholder in auto-increment columns."""
    schema = meta.primary_key
    # Wording of the size and name refusals as the SDK's row tests assert them.
    if len(key) != len(schema):
        raise invalid_pk(f"Validate PK size fail. Input: {len(key)}, Meta: {len(schema)}.")
    for (name, value), column in zip(key, schema, strict=True):
        if name != column.name:
            raise invalid_pk(f"Validate PK name fail. Input: {name}, Meta: {column.name}.")
        if value is KeyBound.INF_MIN or value is KeyBound.INF_MAX:
            if not bounds:
                raise invalid(f"INF_MIN or INF_MAX is not allowed in primary key column: {name}.")
            continue
        if value is KeyBound.AUTO_INCREMENT:
            if not (auto_increment and column.auto_increment):
                raise invalid(f"AUTO_INCREMENT is not allowed in primary key column: {name}.")
            continue
        if _wire_type(value) != _WIRE_TYPE[column.type]:
            raise invalid_pk(
                f"Validate PK type fail. Input: {_wire_type(value)}, "
                f"Meta: {_WIRE_TYPE[column.type]}."
            )
        if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
            raise invalid(f"Primary key value out of int64 range: {name}.")
        if isinstance(value, (str, bytes)) and _size(value) > MAX_PK_VALUE_BYTES:
            raise invalid(
                f"The length of primary key column: '{name}' exceeds the MaxLength: "
                f"{MAX_PK_VALUE_BYTES} with CurrentLength: {_size(value)}."
            )


def _size(value: str | bytes) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else len(value)


def encode_key(key: PrimaryKey) -> bytes:
    out = bytearray()
    for _, value in key:
        if value is KeyBound.INF_MIN:
            out += _MIN
        elif value is KeyBound.INF_MAX:
            out += _MAX
        elif isinstance(value, int):
            out += _VALUE + struct.pack(">Q", value + (1 << 63))
        else:
            raw = value.encode("utf-8") if isinstance(value, str) else value
            # A bound (INF_MIN, INF_MAX, AUTO_INCREMENT) was handled above; this is bytes.
            escaped = raw.replace(b"\x00", b"\x00\xff")  # type: ignore[union-attr]
            out += _VALUE + escaped + b"\x00\x00"
    return bytes(out)


def decode_key(meta: TableMeta, encoded: bytes) -> PrimaryKey:
    """Inverse of `encode_key` for stored rows (which never hold INF_MIN / INF_MAX)."""
    key: list[tuple[str, PkValue]] = []
    pos = 0
    for column in meta.primary_key:
        pos += 1  # the value marker
        if column.type == "INTEGER":
            key.append((column.name, struct.unpack(">Q", encoded[pos : pos + 8])[0] - (1 << 63)))
            pos += 8
            continue
        raw = bytearray()
        while True:
            i = encoded.index(b"\x00", pos)
            raw += encoded[pos:i]
            if encoded[i + 1] == 0x00:
                pos = i + 2
                break
            raw.append(0)
            pos = i + 2
        key.append((column.name, raw.decode("utf-8") if column.type == "STRING" else bytes(raw)))
    return tuple(key)

"""PlainBuffer, the row encoding inside Tablestore's protobuf messages: a reader and a writer.

Layout: int32 LE header 0x75, then per row TAG_ROW_PK + key cells, optional TAG_ROW_DATA +
attribute cells, optional TAG_DELETE_ROW_MARKER, TAG_ROW_CHECKSUM + CRC8. A cell is TAG_CELL,
TAG_CELL_NAME + int32 length + bytes, optional TAG_CELL_VALUE + int32 length + type byte +
payload, optional TAG_CELL_TYPE (update op), optional TAG_CELL_TIMESTAMP (int64 ms) and
TAG_CELL_CHECKSUM. We need our own reader because the SDK's cannot read INF_MIN / INF_MAX /
AUTO_INCREMENT keys or update ops; the checksums are computed in the SDK's order (name, value,
timestamp, op), which is not the order of the bytes.
"""

from __future__ import annotations

import struct

from .model import Cell, CellOp, CellValue, KeyBound, PkValue, PrimaryKey, RowImage, invalid

HEADER = 0x75
TAG_ROW_PK, TAG_ROW_DATA, TAG_CELL, TAG_CELL_NAME, TAG_CELL_VALUE = 1, 2, 3, 4, 5
TAG_CELL_TYPE, TAG_CELL_TIMESTAMP, TAG_DELETE_ROW_MARKER, TAG_ROW_CHECKSUM = 6, 7, 8, 9
TAG_CELL_CHECKSUM = 10
_HEADER_BYTES = struct.pack("<i", HEADER)
VT_INTEGER, VT_DOUBLE, VT_BOOLEAN, VT_STRING, VT_BLOB = 0, 1, 2, 3, 7
VT_INF_MIN, VT_INF_MAX, VT_AUTO_INCREMENT = 9, 10, 11
_BOUND_TYPES = {
    VT_INF_MIN: KeyBound.INF_MIN,
    VT_INF_MAX: KeyBound.INF_MAX,
    VT_AUTO_INCREMENT: KeyBound.AUTO_INCREMENT,
}
_BOUND_CODES = {v: k for k, v in _BOUND_TYPES.items()}


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        x = i
        for _ in range(8):
            x = ((x << 1) ^ 0x07) & 0xFF if x & 0x80 else (x << 1) & 0xFF
        table.append(x)
    return table


_CRC8 = _crc_table()


def _crc_bytes(crc: int, data: bytes) -> int:
    table = _CRC8
    for b in data:
        crc = table[crc ^ b]
    return crc


def _crc_int(crc: int, value: int, size: int) -> int:
    for i in range(size):
        crc = _CRC8[crc ^ ((value >> (i * 8)) & 0xFF)]
    return crc


# -- reading -----------------------------------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.tag = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise invalid("Invalid PlainBuffer: unexpected end of data.")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int32(self) -> int:
        return struct.unpack("<i", self.take(4))[0]

    def int64(self) -> int:
        return struct.unpack("<q", self.take(8))[0]

    def byte(self) -> int:
        return self.take(1)[0]

    def next_tag(self) -> int:
        self.tag = self.byte() if self.pos < len(self.data) else 0
        return self.tag

    def expect(self, tag: int, what: str) -> None:
        if self.tag != tag:
            raise invalid(f"Invalid PlainBuffer: expected {what}.")


def _read_value(r: _Reader, crc: int, key: bool) -> tuple[CellValue | KeyBound, int]:
    """A typed value after TAG_CELL_VALUE (the caller has seen the tag)."""
    r.int32()  # total length of type + payload; the type tells us the payload length anyway
    vtype = r.byte()
    crc = _CRC8[crc ^ vtype]
    if vtype == VT_INTEGER:
        number = r.int64()
        crc = _crc_int(crc, number, 8)
        value: CellValue | KeyBound = number
    elif vtype in (VT_STRING, VT_BLOB):
        size = r.int32()
        raw = r.take(size)
        crc = _crc_bytes(_crc_int(crc, size, 4), raw)
        if vtype == VT_BLOB:
            value = bytes(raw)
        else:
            try:
                value = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise invalid("Invalid PlainBuffer: string is not UTF-8.") from None
    elif vtype in _BOUND_TYPES and key:
        value = _BOUND_TYPES[vtype]
    elif vtype == VT_BOOLEAN and not key:
        value = r.byte() != 0
        crc = _CRC8[crc ^ (1 if value else 0)]
    elif vtype == VT_DOUBLE and not key:
        bits = r.int64()
        crc = _crc_int(crc, bits, 8)
        value = struct.unpack("<d", struct.pack("<q", bits))[0]
    else:
        raise invalid(f"Unsupported {'primary key' if key else 'column'} value type: {vtype}.")
    return value, crc


def _read_name(r: _Reader) -> tuple[str, int]:
    r.expect(TAG_CELL_NAME, "TAG_CELL_NAME")
    raw = r.take(r.int32())
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("Invalid PlainBuffer: column name is not UTF-8.") from None
    return name, _crc_bytes(0, raw)


def _read_checksum(r: _Reader, expected: int, tag: int) -> None:
    r.expect(tag, "a checksum")
    if r.byte() != expected:
        raise invalid("Checksum mismatch in PlainBuffer.")
    r.next_tag()


def _read_key_cell(r: _Reader) -> tuple[str, PkValue, int]:
    r.next_tag()
    name, crc = _read_name(r)
    r.next_tag()
    r.expect(TAG_CELL_VALUE, "TAG_CELL_VALUE")
    value, crc = _read_value(r, crc, key=True)
    r.next_tag()
    _read_checksum(r, crc, TAG_CELL_CHECKSUM)
    return name, value, crc  # type: ignore[return-value]  # key=True reads key types only


def _read_cell(r: _Reader) -> tuple[Cell, int]:
    r.next_tag()
    name, crc = _read_name(r)
    r.next_tag()
    value = None
    timestamp = None
    op = CellOp.PUT
    if r.tag == TAG_CELL_VALUE:
        value, crc = _read_value(r, crc, key=False)
        r.next_tag()
    if r.tag == TAG_CELL_TYPE:
        code = r.byte()
        if code not in (CellOp.DELETE_ALL, CellOp.DELETE_ONE, CellOp.INCREMENT):
            raise invalid(f"Unsupported cell operation type: {code}.")
        op = CellOp(code)
        r.next_tag()
    if r.tag == TAG_CELL_TIMESTAMP:
        timestamp = r.int64()
        crc = _crc_int(crc, timestamp, 8)
        r.next_tag()
    if op is not CellOp.PUT:
        crc = _CRC8[crc ^ int(op)]
    _read_checksum(r, crc, TAG_CELL_CHECKSUM)
    return Cell(name, value, timestamp, op), crc  # type: ignore[arg-type]  # key=False: no bounds


def read_row(data: bytes) -> RowImage:
    """Parse one row (a key, a PutRow row or an UpdateRow change) and verify its checksums."""
    r = _Reader(data)
    if len(data) < 4 or r.int32() != HEADER:
        raise invalid("Invalid PlainBuffer header.")
    r.next_tag()
    r.expect(TAG_ROW_PK, "TAG_ROW_PK")
    r.next_tag()
    row_crc = 0
    key: list[tuple[str, PkValue]] = []
    while r.tag == TAG_CELL:
        name, value, cell_crc = _read_key_cell(r)
        key.append((name, value))
        row_crc = _CRC8[row_crc ^ cell_crc]
    cells: list[Cell] = []
    if r.tag == TAG_ROW_DATA:
        r.next_tag()
        while r.tag == TAG_CELL:
            cell, cell_crc = _read_cell(r)
            cells.append(cell)
            row_crc = _CRC8[row_crc ^ cell_crc]
    marker = r.tag == TAG_DELETE_ROW_MARKER
    if marker:
        r.next_tag()
    row_crc = _CRC8[row_crc ^ (1 if marker else 0)]
    _read_checksum(r, row_crc, TAG_ROW_CHECKSUM)
    return RowImage(tuple(key), tuple(cells), marker)


def read_body(body: bytes) -> RowImage:
    """`read_row` of one `row_body` (a row as a range read answers it, without the header)."""
    return read_row(_HEADER_BYTES + body)


def read_variant(data: bytes) -> CellValue:
    """A filter's column value: type byte + payload, no tag and no length prefix."""
    r = _Reader(bytes([TAG_CELL_VALUE]) + struct.pack("<i", len(data)) + data)
    r.next_tag()
    value, _ = _read_value(r, 0, key=False)
    if r.pos != len(r.data):
        raise invalid("Invalid column value in filter.")
    return value  # type: ignore[return-value]  # key=False never reads a KeyBound


# -- writing -----------------------------------------------------------------------------------
def _payload(value: CellValue | KeyBound) -> bytes:
    """Type byte + payload. These are also exactly the bytes the cell checksum covers."""
    if isinstance(value, KeyBound):
        return bytes([_BOUND_CODES[value]])
    if isinstance(value, bool):
        return bytes([VT_BOOLEAN, 1 if value else 0])
    if isinstance(value, int):
        return bytes([VT_INTEGER]) + struct.pack("<q", value)
    if isinstance(value, float):
        return bytes([VT_DOUBLE]) + struct.pack("<d", value)
    vtype, raw = (VT_STRING, value.encode("utf-8")) if isinstance(value, str) else (VT_BLOB, value)
    return bytes([vtype]) + struct.pack("<i", len(raw)) + raw


def _cell_bytes(
    name: str, value: CellValue | KeyBound | None, timestamp: int | None
) -> tuple[bytes, int]:
    raw_name = name.encode("utf-8")
    out = bytearray([TAG_CELL, TAG_CELL_NAME])
    out += struct.pack("<i", len(raw_name)) + raw_name
    crc = _crc_bytes(0, raw_name)
    if value is not None:
        payload = _payload(value)
        out.append(TAG_CELL_VALUE)
        out += struct.pack("<i", len(payload)) + payload
        crc = _crc_bytes(crc, payload)
    if timestamp is not None:
        out.append(TAG_CELL_TIMESTAMP)
        out += struct.pack("<q", timestamp)
        crc = _crc_int(crc, timestamp, 8)
    out += bytes([TAG_CELL_CHECKSUM, crc])
    return bytes(out), crc


def row_body(primary_key: PrimaryKey, cells: tuple[Cell, ...] | list[Cell]) -> bytes:
    """One row without the buffer's header: `write_row` and `write_rows` put that in front."""
    out = bytearray([TAG_ROW_PK])
    row_crc = 0
    for name, value in primary_key:
        encoded, crc = _cell_bytes(name, value, None)
        out += encoded
        row_crc = _CRC8[row_crc ^ crc]
    if cells:
        out.append(TAG_ROW_DATA)
        for cell in cells:
            encoded, crc = _cell_bytes(cell.name, cell.value, cell.timestamp)
            out += encoded
            row_crc = _CRC8[row_crc ^ crc]
    row_crc = _CRC8[row_crc ^ 0]  # no delete marker in answers
    out += bytes([TAG_ROW_CHECKSUM, row_crc])
    return bytes(out)


def write_row(primary_key: PrimaryKey, cells: tuple[Cell, ...] | list[Cell] = ()) -> bytes:
    return _HEADER_BYTES + row_body(primary_key, cells)


def write_rows(bodies: list[bytes]) -> bytes:
    """GetRange's `rows`: one header, then the rows (`row_body`) back to back; empty when there
    are none."""
    if not bodies:
        return b""
    return _HEADER_BYTES + b"".join(bodies)

"""Local Tablestore (OTS): the wide-column store the `db` function keeps user data in, spoken to
by the unmodified `tablestore.OTSClient` over HTTP + protobuf + PlainBuffer.

Modules: `model` (values, limits, errors), `plainbuffer` (row wire format), `keys` (primary key
rules and ordering), `conditions` (row conditions and filters), `cells` and `writes` (versions,
TTL, update operations), `catalog` and `core` (tables and rows in SQLite), `encoded` (full rows
encoded once, for range reads), `protocol` (protobuf translation), `http` (signatures and error
bodies), `policy` (STS inline policies), `emulator` (the assembly and its faults).
"""

from .emulator import FAULT_KINDS, TablestoreEmulator
from .model import TableSpec

__all__ = ["FAULT_KINDS", "TableSpec", "TablestoreEmulator"]

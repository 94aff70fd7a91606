"""Values, limits and errors of the Tablestore emulator; no I/O here.

The limits are the cloud's published ones (wide column model), so that code which passes locally
does not fail on its first day in the cloud because a batch or a key was too large.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ServiceError

if TYPE_CHECKING:
    from .conditions import ColumnFilter

# -- the cloud's limits ------------------------------------------------------------------------
MAX_TABLES_PER_INSTANCE = 64
MAX_NAME_BYTES = 255  # table and column names
MIN_PRIMARY_KEY_COLUMNS = 1
MAX_PRIMARY_KEY_COLUMNS = 4
MAX_PK_VALUE_BYTES = 1024  # STRING and BINARY primary key values
MAX_CELL_VALUE_BYTES = 2 * 1024 * 1024  # STRING and BINARY attribute values
MAX_COLUMNS_PER_WRITE = 1024  # attribute columns in one PutRow / UpdateRow row
MAX_COLUMNS_TO_GET = 128
MAX_BATCH_GET_ROWS = 100
MAX_BATCH_WRITE_ROWS = 200
MAX_WRITE_BYTES = 4 * 1024 * 1024  # one PutRow / UpdateRow, and one whole BatchWriteRow
MAX_RANGE_ROWS = 5000  # rows GetRange scans before it stops and hands back next_start_primary_key
MAX_RANGE_BYTES = 4 * 1024 * 1024
MAX_REQUEST_BODY_BYTES = 5 * 1024 * 1024
MIN_TTL_SECONDS = 86400  # time_to_live is -1 (forever) or at least one day
DEFAULT_MAX_TIME_DEVIATION = 86400  # seconds a written cell version may be away from "now"
MAX_REQUEST_CLOCK_SKEW = 15 * 60  # seconds between x-ots-date and the server clock
CAPACITY_UNIT_BYTES = 4096

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PRIMARY_KEY_TYPES = ("INTEGER", "STRING", "BINARY")

# -- errors ------------------------------------------------------------------------------------
ERROR_STATUS = {
    "OTSParameterInvalid": 400,
    "OTSInvalidPK": 400,
    "OTSUnsupportOperation": 400,
    "OTSAuthFailed": 403,
    "OTSNoPermissionAccess": 403,
    "OTSConditionCheckFail": 403,
    "OTSQuotaExhausted": 403,
    "OTSObjectNotExist": 404,
    "OTSMethodNotAllowed": 405,
    "OTSObjectAlreadyExist": 409,
    "OTSRequestBodyTooLarge": 413,
    "OTSInternalServerError": 500,
    "OTSServerBusy": 503,
}


class TablestoreError(ServiceError):
    """A refusal in the cloud's words: `code` and `message` go into the protobuf Error body; the
    HTTP status follows from the code, as on the cloud."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(ERROR_STATUS.get(code, 400), code, message)

    def with_code(self, code: str | None) -> TablestoreError:
        return TablestoreError(code, self.message) if code else self


def invalid(message: str) -> TablestoreError:
    return TablestoreError("OTSParameterInvalid", message)


def invalid_pk(message: str) -> TablestoreError:
    """A primary key of the wrong shape or type for its table (the SDK's own row tests expect
    OTSInvalidPK, 400: aliyun-tablestore-python-sdk tests/row_op_test.py)."""
    return TablestoreError("OTSInvalidPK", message)


def unsupported(api: str) -> TablestoreError:
    """The cloud's answer to an API it does not serve (the SDK's own test_operation_not_supported
    asserts 400 OTSUnsupportOperation "Unsupported operation: 'HelloWorld'.")."""
    return TablestoreError("OTSUnsupportOperation", f"Unsupported operation: '{api}'.")


def table_not_found() -> TablestoreError:
    return TablestoreError("OTSObjectNotExist", "Requested table does not exist.")


def condition_failed() -> TablestoreError:
    return TablestoreError("OTSConditionCheckFail", "Condition check failed.")


def check_name(kind: str, name: str) -> None:
    """Table and column names: 1-255 bytes of [A-Za-z0-9_], not starting with a digit."""
    if (
        not isinstance(name, str)
        or not name
        or len(name.encode()) > MAX_NAME_BYTES
        or not NAME_PATTERN.fullmatch(name)
    ):
        raise invalid(f"Invalid {kind} name: '{name}'.")


# -- values ------------------------------------------------------------------------------------
class KeyBound(enum.Enum):
    """Primary key placeholders: range ends, and "let the server pick" for auto-increment."""

    INF_MIN = "INF_MIN"
    INF_MAX = "INF_MAX"
    AUTO_INCREMENT = "AUTO_INCREMENT"


# STRING is str, BINARY is bytes; bool is checked before int everywhere (bool is an int).
CellValue = int | float | bool | str | bytes
PkValue = int | str | bytes | KeyBound
PrimaryKey = tuple[tuple[str, PkValue], ...]


class CellOp(enum.IntEnum):
    """UpdateRow cell operations, numbered as on the wire (PUT has no marker)."""

    PUT = 0
    DELETE_ALL = 1
    DELETE_ONE = 3
    INCREMENT = 4


@dataclass(frozen=True)
class Cell:
    name: str
    value: CellValue | None = None
    timestamp: int | None = None  # milliseconds; the cell's version
    op: CellOp = CellOp.PUT


@dataclass(frozen=True)
class RowImage:
    """One PlainBuffer row as sent or returned."""

    primary_key: PrimaryKey
    cells: tuple[Cell, ...] = ()
    delete_marker: bool = False


@dataclass(frozen=True)
class TableSpec:
    """A table as a template declares it (see `TablestoreEmulator.ensure_table`)."""

    name: str
    primary_key: tuple[tuple[str, str], ...]  # (column, "STRING" | "INTEGER" | "BINARY")
    ttl_seconds: int = -1
    max_versions: int = 1


@dataclass(frozen=True)
class KeyColumn:
    name: str
    type: str  # one of PRIMARY_KEY_TYPES
    auto_increment: bool = False


@dataclass(frozen=True)
class TableMeta:
    name: str
    primary_key: tuple[KeyColumn, ...]
    ttl_seconds: int = -1
    max_versions: int = 1
    max_time_deviation: int = DEFAULT_MAX_TIME_DEVIATION
    reserved_read: int = 0
    reserved_write: int = 0
    defined_columns: tuple[tuple[str, str], ...] = ()
    created_at: float = 0.0

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.primary_key)


class RowExistence(enum.IntEnum):
    IGNORE = 0
    EXPECT_EXIST = 1
    EXPECT_NOT_EXIST = 2


class ReturnKind(enum.IntEnum):
    NONE = 0
    PK = 1
    AFTER_MODIFY = 2


@dataclass(frozen=True)
class ReturnContent:
    kind: ReturnKind = ReturnKind.NONE
    column_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadOptions:
    """What a read returns of each row: columns, versions, a filter (see `conditions`)."""

    columns: tuple[str, ...] = ()  # empty: every column
    max_versions: int | None = 1
    time_range: tuple[int, int] | None = None  # [start, end) in milliseconds
    row_filter: ColumnFilter | None = None

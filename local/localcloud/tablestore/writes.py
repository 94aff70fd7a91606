"""What PutRow and UpdateRow may write, and how an UpdateRow changes a row's columns.

Rules as the cloud has them: attribute names follow the naming rules and differ from the key's,
values stay under the size limits, explicit versions stay within the table's max time deviation
of "now", DELETE (one version) names its version, INCREMENT adds an integer to an integer column
(a missing column counts as 0) and takes no version, and an update made only of deletions does not
create a row that did not exist.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import cells as cellops
from .conditions import Columns
from .model import (
    MAX_CELL_VALUE_BYTES,
    MAX_COLUMNS_PER_WRITE,
    Cell,
    CellOp,
    TableMeta,
    check_name,
    invalid,
)

_INT64 = (-(1 << 63), (1 << 63) - 1)


def _check_common(meta: TableMeta, cells: tuple[Cell, ...], now_ms: int) -> None:
    if len(cells) > MAX_COLUMNS_PER_WRITE:
        raise invalid(
            f"The number of attribute columns exceeds the limit: {MAX_COLUMNS_PER_WRITE}."
        )
    key_names = set(meta.key_names)
    deviation_ms = meta.max_time_deviation * 1000
    for cell in cells:
        check_name("column", cell.name)
        if cell.name in key_names:
            raise invalid(f"The attribute column name is the same as a primary key: {cell.name}.")
        size = cellops.value_size(cell.value) if cell.value is not None else 0
        if isinstance(cell.value, (str, bytes)) and size > MAX_CELL_VALUE_BYTES:
            raise invalid(
                f"The length of attribute column: '{cell.name}' exceeds the MaxLength: "
                f"{MAX_CELL_VALUE_BYTES} with CurrentLength: {size}."
            )
        if cell.timestamp is not None and cell.op is not CellOp.DELETE_ONE:
            if cell.timestamp < 0 or abs(cell.timestamp - now_ms) > deviation_ms:
                raise invalid(
                    f"The timestamp of column '{cell.name}' is out of the table's max "
                    f"time deviation: {meta.max_time_deviation} seconds."
                )


def check_put_cells(meta: TableMeta, cells: tuple[Cell, ...], now_ms: int) -> None:
    _check_common(meta, cells, now_ms)
    for cell in cells:
        if cell.op is not CellOp.PUT or cell.value is None:
            raise invalid(f"PutRow needs a value for column '{cell.name}' and takes no operation.")


def check_update_cells(meta: TableMeta, cells: tuple[Cell, ...], now_ms: int) -> None:
    _check_common(meta, cells, now_ms)
    incremented: set[str] = set()
    for cell in cells:
        if cell.op is CellOp.PUT and cell.value is None:
            raise invalid(f"Missing value of column '{cell.name}' to put.")
        if cell.op is CellOp.DELETE_ONE and (cell.timestamp is None or cell.value is not None):
            raise invalid(f"Deleting one version of column '{cell.name}' needs its timestamp.")
        if cell.op is CellOp.DELETE_ALL and (cell.timestamp is not None or cell.value is not None):
            raise invalid(f"Deleting all versions of column '{cell.name}' takes no value.")
        if cell.op is CellOp.INCREMENT:
            if isinstance(cell.value, bool) or not isinstance(cell.value, int):
                raise invalid(f"The increment of column '{cell.name}' must be an INTEGER.")
            if cell.timestamp is not None:
                raise invalid(f"Increment of column '{cell.name}' takes no timestamp.")
            incremented.add(cell.name)
    if incremented and sum(1 for c in cells if c.name in incremented) != len(incremented):
        raise invalid("A column that is incremented cannot be changed again in the same request.")


def _only_deletions(cells: Iterable[Cell]) -> bool:
    return all(c.op in (CellOp.DELETE_ALL, CellOp.DELETE_ONE) for c in cells)


def put_columns(cells: tuple[Cell, ...], now_ms: int) -> Columns:
    """A PutRow's columns: the row as written, nothing kept from before."""
    columns: Columns = {}
    for cell in cells:
        ts = cell.timestamp if cell.timestamp is not None else now_ms
        # A PUT cell always carries a value (the PlainBuffer parser makes sure).
        cellops.put_version(columns, cell.name, ts, cell.value)  # type: ignore[arg-type]
    return columns


def apply_update(current: Columns | None, cells: tuple[Cell, ...], now_ms: int) -> Columns | None:
    """The row's columns after the update, or None when there is no row to write."""
    if current is None and _only_deletions(cells):
        return None
    columns: Columns = {name: list(versions) for name, versions in (current or {}).items()}
    for cell in cells:
        ts = cell.timestamp if cell.timestamp is not None else now_ms
        if cell.op is CellOp.PUT:
            # A PUT cell always carries a value, as above.
            cellops.put_version(columns, cell.name, ts, cell.value)  # type: ignore[arg-type]
        elif cell.op is CellOp.DELETE_ONE:
            cellops.delete_version(columns, cell.name, ts)
        elif cell.op is CellOp.DELETE_ALL:
            columns.pop(cell.name, None)
        else:
            versions = columns.get(cell.name)
            base = versions[0][1] if versions else 0
            if isinstance(base, bool) or not isinstance(base, int):
                raise invalid(f"Column '{cell.name}' is not an INTEGER and cannot be incremented.")
            total = base + cell.value  # type: ignore[operator]  # the parser admits only ints here
            if not _INT64[0] <= total <= _INT64[1]:
                raise invalid(f"Increment of column '{cell.name}' overflows INTEGER.")
            cellops.put_version(columns, cell.name, now_ms, total)
    return columns

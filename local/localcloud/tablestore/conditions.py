"""Row conditions (writes) and row filters (reads): parsed from the protobuf `Filter` bytes the
SDK sends, and evaluated against a row's columns.

`Columns` maps a column name to its visible versions, newest first. A single-column condition
on a missing column passes unless `filter_if_missing`; with `latest_version_only` off, any
version may satisfy it. Values of different types (INTEGER vs DOUBLE, STRING vs BINARY, ...)
never satisfy a comparison, as the cloud does not convert between them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import tablestore.protobuf.table_store_filter_pb2 as fpb
from google.protobuf.message import DecodeError

from .model import CellValue, RowExistence, check_name, condition_failed, invalid
from .plainbuffer import read_variant

Columns = dict[str, list[tuple[int, CellValue]]]

_COMPARE: dict[int, Callable[[CellValue, CellValue], bool]] = {
    fpb.CT_EQUAL: operator.eq,
    fpb.CT_NOT_EQUAL: operator.ne,
    fpb.CT_GREATER_THAN: operator.gt,
    fpb.CT_GREATER_EQUAL: operator.ge,
    fpb.CT_LESS_THAN: operator.lt,
    fpb.CT_LESS_EQUAL: operator.le,
}


def _kind(value: CellValue) -> type:
    return bool if isinstance(value, bool) else type(value)


@dataclass(frozen=True)
class SingleColumn:
    comparator: int
    column: str
    value: CellValue
    filter_if_missing: bool
    latest_version_only: bool

    def matches(self, columns: Columns) -> bool:
        versions = columns.get(self.column)
        if self.comparator == fpb.CT_EXIST:
            return bool(versions)
        if self.comparator == fpb.CT_NOT_EXIST:
            return not versions
        if not versions:
            return not self.filter_if_missing
        compare = _COMPARE[self.comparator]
        candidates = versions[:1] if self.latest_version_only else versions
        return any(_kind(v) is _kind(self.value) and compare(v, self.value) for _, v in candidates)


@dataclass(frozen=True)
class Composite:
    combinator: int  # fpb.LO_NOT | LO_AND | LO_OR
    parts: tuple[ColumnFilter, ...]

    def matches(self, columns: Columns) -> bool:
        if self.combinator == fpb.LO_NOT:
            return not self.parts[0].matches(columns)
        if self.combinator == fpb.LO_AND:
            return all(p.matches(columns) for p in self.parts)
        return any(p.matches(columns) for p in self.parts)


ColumnFilter = SingleColumn | Composite


@dataclass(frozen=True)
class RowCondition:
    existence: RowExistence = RowExistence.IGNORE
    column_filter: ColumnFilter | None = None

    def check(self, exists: bool, columns: Columns) -> None:
        """Raise OTSConditionCheckFail unless the row (as it is now) satisfies the condition."""
        if self.existence is RowExistence.EXPECT_EXIST and not exists:
            raise condition_failed()
        if self.existence is RowExistence.EXPECT_NOT_EXIST and exists:
            raise condition_failed()
        if self.column_filter is not None and not self.column_filter.matches(columns):
            raise condition_failed()


def parse_filter(data: bytes) -> ColumnFilter:
    message = fpb.Filter()
    _parse(message, data)
    if message.type == fpb.FT_SINGLE_COLUMN_VALUE:
        single = fpb.SingleColumnValueFilter()
        _parse(single, message.filter)
        if single.HasField("value_trans_rule"):
            raise invalid("Regex value transfer rules are not supported by the local Tablestore.")
        if single.comparator not in _COMPARE and single.comparator not in (
            fpb.CT_EXIST,
            fpb.CT_NOT_EXIST,
        ):
            raise invalid(f"Invalid comparator type: {single.comparator}.")
        check_name("column", single.column_name)
        return SingleColumn(
            single.comparator,
            single.column_name,
            read_variant(single.column_value),
            single.filter_if_missing,
            single.latest_version_only,
        )
    if message.type == fpb.FT_COMPOSITE_COLUMN_VALUE:
        composite = fpb.CompositeColumnValueFilter()
        _parse(composite, message.filter)
        parts = tuple(parse_filter(sub.SerializeToString()) for sub in composite.sub_filters)
        if composite.combinator == fpb.LO_NOT and len(parts) != 1:
            raise invalid("The number of sub-conditions of NOT must be 1.")
        if composite.combinator in (fpb.LO_AND, fpb.LO_OR) and len(parts) < 2:
            raise invalid("The number of sub-conditions of AND / OR must be at least 2.")
        if composite.combinator not in (fpb.LO_NOT, fpb.LO_AND, fpb.LO_OR):
            raise invalid(f"Invalid logical operator: {composite.combinator}.")
        return Composite(composite.combinator, parts)
    raise invalid(f"Filter type {message.type} is not supported by the local Tablestore.")


def _parse(message: object, data: bytes) -> None:
    try:
        message.ParseFromString(data)  # type: ignore[attr-defined]  # a protobuf message
    except DecodeError:
        raise invalid("Failed to parse the filter.") from None
    if not message.IsInitialized():  # type: ignore[attr-defined]  # likewise
        raise invalid("Failed to parse the filter: missing required fields.")

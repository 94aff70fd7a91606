"""Protobuf in, protobuf out: turns each API's request message (from the SDK's own
`table_store.proto`) into a core call and the result into the response message.

Response messages set every proto2 `required` field (`consumed`, `row`, `rows`, ...) even when
empty, because the SDK's parser and `SerializeToString` insist on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import tablestore.protobuf.search_pb2 as search_pb
import tablestore.protobuf.table_store_pb2 as pb

from .core import ReadRow, RowChange, Tablestore
from .messages import (
    check_write_size,
    no_transaction,
    parse,
    read_options,
    return_content,
    row_condition,
)
from .model import KeyColumn, TableMeta, TablestoreError, invalid, unsupported
from .plainbuffer import read_row, write_row, write_rows

if TYPE_CHECKING:
    from typing_extensions import TypeIs

# authorize(api, table_name or None) raises TablestoreError when the caller may not do it.
Authorize = Callable[[str, "str | None"], None]

_KEY_TYPES = {pb.INTEGER: "INTEGER", pb.STRING: "STRING", pb.BINARY: "BINARY"}
_KEY_CODES = {v: k for k, v in _KEY_TYPES.items()}
_DEFINED_TYPES = {
    pb.DCT_INTEGER: "INTEGER",
    pb.DCT_DOUBLE: "DOUBLE",
    pb.DCT_BOOLEAN: "BOOLEAN",
    pb.DCT_STRING: "STRING",
    pb.DCT_BLOB: "BINARY",
}
_DEFINED_CODES = {v: k for k, v in _DEFINED_TYPES.items()}
_WRITE_KINDS = {pb.PUT: "put", pb.UPDATE: "update", pb.DELETE: "delete"}


def _set_consumed(message: Any, read: int, write: int) -> None:
    message.capacity_unit.read = read
    message.capacity_unit.write = write


def _row_bytes(row: ReadRow | None) -> bytes:
    return write_row(row.primary_key, row.cells) if row is not None else b""


class Protocol:
    def __init__(self, core: Tablestore) -> None:
        self._core = core
        self._handlers: dict[str, Callable[[bytes, Authorize], Any]] = {
            "CreateTable": self.create_table,
            "DescribeTable": self.describe_table,
            "ListTable": self.list_table,
            "DeleteTable": self.delete_table,
            "UpdateTable": self.update_table,
            "GetRow": self.get_row,
            "PutRow": self.put_row,
            "UpdateRow": self.update_row,
            "DeleteRow": self.delete_row,
            "GetRange": self.get_range,
            "BatchGetRow": self.batch_get_row,
            "BatchWriteRow": self.batch_write_row,
            "ListSearchIndex": self.list_search_index,
        }

    def handle(self, api: str, body: bytes, authorize: Authorize) -> bytes:
        """Every other API (search indexes, secondary indexes, transactions, SQL, ...) is refused
        as the cloud refuses an operation it does not know."""
        handler = self._handlers.get(api)
        if handler is None:
            raise unsupported(api)
        return handler(body, authorize).SerializeToString()

    # -- tables -----------------------------------------------------------------------------
    def create_table(self, body: bytes, authorize: Authorize) -> Any:
        req = parse(pb.CreateTableRequest, body)
        if len(req.index_metas):
            raise invalid("Secondary indexes are not supported by the local Tablestore.")
        tm, options = req.table_meta, req.table_options
        key = []
        for column in tm.primary_key:
            if column.type not in _KEY_TYPES:
                raise invalid(f"Unsupported primary key type of column '{column.name}'.")
            auto = column.HasField("option") and column.option == pb.AUTO_INCREMENT
            key.append(KeyColumn(column.name, _KEY_TYPES[column.type], auto))
        meta = TableMeta(
            name=tm.table_name,
            primary_key=tuple(key),
            ttl_seconds=options.time_to_live if options.HasField("time_to_live") else -1,
            max_versions=options.max_versions if options.HasField("max_versions") else 1,
            max_time_deviation=(
                options.deviation_cell_version_in_sec
                if options.HasField("deviation_cell_version_in_sec")
                else 86400
            ),
            reserved_read=req.reserved_throughput.capacity_unit.read,
            reserved_write=req.reserved_throughput.capacity_unit.write,
            defined_columns=tuple((c.name, _DEFINED_TYPES[c.type]) for c in tm.defined_column),
        )
        authorize("CreateTable", meta.name)
        self._core.catalog.create(meta)
        return pb.CreateTableResponse()

    def describe_table(self, body: bytes, authorize: Authorize) -> Any:
        req = parse(pb.DescribeTableRequest, body)
        authorize("DescribeTable", req.table_name)
        meta = self._core.catalog.get(req.table_name).meta
        resp = pb.DescribeTableResponse()
        resp.table_meta.table_name = meta.name
        for column in meta.primary_key:
            schema = resp.table_meta.primary_key.add()
            schema.name, schema.type = column.name, _KEY_CODES[column.type]
            if column.auto_increment:
                schema.option = pb.AUTO_INCREMENT
        for name, kind in meta.defined_columns:
            defined = resp.table_meta.defined_column.add()
            defined.name, defined.type = name, _DEFINED_CODES[kind]
        self._fill_table_state(resp, meta)
        return resp

    @staticmethod
    def _fill_table_state(resp: Any, meta: TableMeta) -> None:
        details = resp.reserved_throughput_details
        details.capacity_unit.read = meta.reserved_read
        details.capacity_unit.write = meta.reserved_write
        details.last_increase_time = int(meta.created_at)
        options = resp.table_options
        options.time_to_live = meta.ttl_seconds
        options.max_versions = meta.max_versions
        options.deviation_cell_version_in_sec = meta.max_time_deviation
        options.allow_update = True

    def update_table(self, body: bytes, authorize: Authorize) -> Any:
        req = parse(pb.UpdateTableRequest, body)
        authorize("UpdateTable", req.table_name)
        options = req.table_options
        meta = self._core.catalog.update(
            req.table_name,
            ttl_seconds=options.time_to_live if options.HasField("time_to_live") else None,
            max_versions=options.max_versions if options.HasField("max_versions") else None,
            max_time_deviation=(
                options.deviation_cell_version_in_sec
                if options.HasField("deviation_cell_version_in_sec")
                else None
            ),
        )
        resp = pb.UpdateTableResponse()
        self._fill_table_state(resp, meta)
        return resp

    def list_table(self, body: bytes, authorize: Authorize) -> Any:
        parse(pb.ListTableRequest, body)
        authorize("ListTable", None)
        resp = pb.ListTableResponse()
        resp.table_names.extend(self._core.catalog.names())
        return resp

    def list_search_index(self, body: bytes, authorize: Authorize) -> Any:
        """No search index exists locally (CreateSearchIndex is refused), so the list is empty;
        cleanups that list a table's indexes before dropping it go on."""
        req = parse(search_pb.ListSearchIndexRequest, body)
        table = req.table_name if req.HasField("table_name") else None
        authorize("ListSearchIndex", table)
        if table is not None:
            self._core.catalog.get(table)
        return search_pb.ListSearchIndexResponse()

    def delete_table(self, body: bytes, authorize: Authorize) -> Any:
        req = parse(pb.DeleteTableRequest, body)
        authorize("DeleteTable", req.table_name)
        self._core.catalog.delete(req.table_name)
        return pb.DeleteTableResponse()

    # -- rows -------------------------------------------------------------------------------
    def get_row(self, body: bytes, authorize: Authorize) -> Any:
        req = parse(pb.GetRowRequest, body)
        no_transaction(req)
        authorize("GetRow", req.table_name)
        key = read_row(req.primary_key).primary_key
        row, read_cu = self._core.get_row(req.table_name, key, read_options(req))
        resp = pb.GetRowResponse()
        _set_consumed(resp.consumed, read_cu, 0)
        resp.row = _row_bytes(row)
        return resp

    def _single_write(
        self,
        api: str,
        kind: str,
        body: bytes,
        authorize: Authorize,
        request_type: Any,
        response_type: Any,
        field: str,
    ) -> Any:
        req = parse(request_type, body)
        no_transaction(req)
        authorize(api, req.table_name)
        data = getattr(req, field)
        check_write_size(len(data))
        change = RowChange(
            # `kind` is one of RowChange's three literals (the callers pass them).
            kind,  # type: ignore[arg-type]
            read_row(data),
            row_condition(req.condition),
            return_content(req),
        )
        result = self._core.write(req.table_name, change)
        resp = response_type()
        _set_consumed(resp.consumed, result.read_cu, result.write_cu)
        if result.row is not None:
            resp.row = _row_bytes(result.row)
        return resp

    def put_row(self, body: bytes, authorize: Authorize) -> Any:
        return self._single_write(
            "PutRow", "put", body, authorize, pb.PutRowRequest, pb.PutRowResponse, "row"
        )

    def update_row(self, body: bytes, authorize: Authorize) -> Any:
        return self._single_write(
            "UpdateRow",
            "update",
            body,
            authorize,
            pb.UpdateRowRequest,
            pb.UpdateRowResponse,
            "row_change",
        )

    def delete_row(self, body: bytes, authorize: Authorize) -> Any:
        return self._single_write(
            "DeleteRow",
            "delete",
            body,
            authorize,
            pb.DeleteRowRequest,
            pb.DeleteRowResponse,
            "primary_key",
        )

    def get_range(self, body: bytes, authorize: Authorize) -> Any:
        req = parse(pb.GetRangeRequest, body)
        no_transaction(req)
        authorize("GetRange", req.table_name)
        result = self._core.get_range(
            req.table_name,
            req.direction == pb.FORWARD,
            read_row(req.inclusive_start_primary_key).primary_key,
            read_row(req.exclusive_end_primary_key).primary_key,
            req.limit if req.HasField("limit") else None,
            read_options(req),
        )
        resp = pb.GetRangeResponse()
        _set_consumed(resp.consumed, result.read_cu, 0)
        resp.rows = write_rows(result.rows)
        if result.next_start is not None:
            resp.next_start_primary_key = write_row(result.next_start)
        return resp

    def batch_get_row(self, body: bytes, authorize: Authorize) -> Any:
        req = parse(pb.BatchGetRowRequest, body)
        tables = []
        for table in req.tables:
            authorize("BatchGetRow", table.table_name)
            keys = [read_row(k).primary_key for k in table.primary_key]
            tables.append((table.table_name, keys, read_options(table)))
        results = self._core.batch_get(tables)
        resp = pb.BatchGetRowResponse()
        for (name, _, _), rows in zip(tables, results, strict=True):
            out = resp.tables.add()
            out.table_name = name
            for result in rows:
                item = out.rows.add()
                if _set_row_error(result, item):
                    continue
                _set_consumed(item.consumed, result[1], 0)
                item.row = _row_bytes(result[0])
        return resp

    def batch_write_row(self, body: bytes, authorize: Authorize) -> Any:
        req = parse(pb.BatchWriteRowRequest, body)
        no_transaction(req)
        check_write_size(sum(len(r.row_change) for t in req.tables for r in t.rows))
        tables = []
        for table in req.tables:
            authorize("BatchWriteRow", table.table_name)
            changes = [
                RowChange(
                    # _WRITE_KINDS holds only RowChange's three literals.
                    _WRITE_KINDS[r.type],  # type: ignore[arg-type]
                    read_row(r.row_change),
                    row_condition(r.condition),
                    return_content(r),
                )
                for r in table.rows
            ]
            tables.append((table.table_name, changes))
        results = self._core.batch_write(tables)
        resp = pb.BatchWriteRowResponse()
        for (name, _), rows in zip(tables, results, strict=True):
            out = resp.tables.add()
            out.table_name = name
            for result in rows:
                item = out.rows.add()
                if _set_row_error(result, item):
                    continue
                _set_consumed(item.consumed, result.read_cu, result.write_cu)
                if result.row is not None:
                    item.row = _row_bytes(result.row)
        return resp


def _set_row_error(result: object, item: Any) -> TypeIs[TablestoreError]:
    """One row of a batch answer: marks it failed (True) or successful (False, the caller fills
    in the rest). A batch answers per row: one row's error does not fail the others."""
    item.is_ok = not isinstance(result, TablestoreError)
    if isinstance(result, TablestoreError):
        item.error.code, item.error.message = result.code, result.message
    return not item.is_ok

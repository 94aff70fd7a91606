"""Helpers for end-to-end tests: read every row of every table the template declares, straight
from the Tablestore emulator through the official SDK (root key), so tests can compare the whole
stored state before and after a request."""

from __future__ import annotations

from typing import Any

Snapshot = dict[str, list[tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]]]


def ots_client(cloud: Any, instance: str | None = None) -> Any:
    """The root key's client of `instance` (default: the cloud's own)."""
    import tablestore
    from tablestore.retry import NoRetryPolicy

    config = cloud.cloud_config()
    return tablestore.OTSClient(
        config["otsEndpoint"],
        config["accessKeyId"],
        config["accessKeySecret"],
        instance or config["otsInstance"],
        retry_policy=NoRetryPolicy(),
        logger_name="e2e-snapshot",
    )


def _all_rows(client: Any, table: str, key_names: list[str]) -> list[Any]:
    from tablestore import INF_MAX, INF_MIN, Direction

    start = [(name, INF_MIN) for name in key_names]
    end = [(name, INF_MAX) for name in key_names]
    rows: list[Any] = []
    while start is not None:
        _, start, page, _ = client.get_range(table, Direction.FORWARD, start, end, max_version=1)
        rows.extend(page)
    return rows


def take_snapshot(cloud: Any) -> Snapshot:
    """Every table's rows as sorted (primary key, columns) tuples; cell timestamps left out."""
    client = ots_client(cloud)
    state: Snapshot = {}
    for table in cloud.template.tables:
        names = [name for name, _ in table.primary_key]
        rows = []
        for row in _all_rows(client, table.name, names):
            key = tuple(value for _, value in row.primary_key)
            columns = tuple(sorted((c[0], c[1]) for c in row.attribute_columns))
            rows.append((key, columns))
        state[table.name] = sorted(rows, key=repr)
    return state

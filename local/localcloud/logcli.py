"""`python -m localcloud logs [--follow] [QUERY]` (and `make logs`): print the records of the
running cloud's logstore, oldest first, through the official `aliyun-log-python-sdk` LogClient
with the local root key — the same client and query language a developer uses on the cloud.

The endpoint is an IP with a port, which the SDK would address as `{project}.127.0.0.1`:
`localcloud.logclient.log_client` is the one place that handles that.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

PAGE = 100  # GetLogs returns at most 100 logs per call
# Fields printed first, in this order, when a record has them; the rest follow as key=value.
LEADING = ("functionName", "function", "kind", "op", "event", "outcome", "latencyMs", "message")
HIDDEN = ("__topic__", "__source__", "__time__", "serviceName", "qualifier", "time")


class LogsFailed(Exception):
    """The logstore refused the query (bad query, unknown logstore) or could not be reached."""


def add_parser(
    sub: Any, formatter: type[argparse.HelpFormatter], common: argparse.ArgumentParser
) -> None:
    logs = sub.add_parser(
        "logs",
        help="print the records of the running cloud's logstore",
        description="Print the records of the running cloud's logstore (the project and "
        "logstore of its cloud.json), oldest first. QUERY is Log Service's search "
        "syntax as the emulator supports it: words, key: value, wildcards, and/or/"
        "not, parentheses.",
        formatter_class=formatter,
        parents=[common],
    )
    logs.add_argument(
        "query",
        nargs="?",
        default="",
        metavar="QUERY",
        help="search query, e.g. 'message.kind: invocation and message.outcome: "
        "ok' (the functions' records are JSON in `message`) "
        "(default: every record)",
    )
    logs.add_argument(
        "--since",
        type=float,
        default=15.0,
        metavar="MINUTES",
        help="how far back to look, in minutes",
    )
    logs.add_argument(
        "--limit",
        type=int,
        default=50,
        help="print at most this many of the newest matching records",
    )
    logs.add_argument(
        "--follow",
        "-f",
        action="store_true",
        default=False,
        help="keep printing new records as they arrive, until Ctrl-C (default: print and exit)",
    )
    logs.add_argument(
        "--every",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often --follow asks for new records",
    )


def client_for(config: dict[str, str]) -> Any:
    from .logclient import log_client

    return log_client(config["slsEndpoint"], config["accessKeyId"], config["accessKeySecret"])


def fetch(
    client: Any, config: dict[str, str], query: str, from_time: int, to_time: int, limit: int
) -> list[dict[str, str]]:
    """The newest `limit` records in [from_time, to_time), oldest first; each record's fields
    with `__time__`."""
    from aliyun.log import LogException

    found: list[dict[str, str]] = []
    try:
        while len(found) < limit:
            response = client.get_log(
                config["slsProject"],
                config["slsLogstore"],
                from_time,
                to_time,
                query=query or None,
                reverse=True,
                offset=len(found),
                size=min(PAGE, limit - len(found)),
            )
            page = response.get_logs()
            for item in page:
                found.append({"__time__": str(item.get_time()), **item.get_contents()})
            if len(page) < PAGE:
                break
    except LogException as exc:
        raise LogsFailed(f"{exc.get_error_code()}: {exc.get_error_message()}") from None
    except OSError as exc:
        raise LogsFailed(f"cannot reach Log Service at {config['slsEndpoint']}: {exc}") from None
    return list(reversed(found))


def expanded(record: dict[str, str]) -> dict[str, str]:
    """A function's structured record is a JSON object in FC's `message` field: its keys are
    shown like the log's own fields (those win a clash)."""
    try:
        inner = json.loads(record.get("message", ""))
    except ValueError:
        return record
    if not isinstance(inner, dict):
        return record
    merged = {k: v for k, v in record.items() if k != "message"}
    for key, value in inner.items():
        merged.setdefault(str(key), value if isinstance(value, str) else json.dumps(value))
    return merged


def render(record: dict[str, str]) -> str:
    """One record on one line: time, the well-known fields, then key=value for the rest."""
    record = expanded(record)
    stamp = time.strftime("%H:%M:%S", time.localtime(int(record.get("__time__", "0"))))
    parts = [stamp]
    for key in LEADING:
        if record.get(key):
            value = record[key]
            parts.append(value.rstrip("\n") if key == "message" else f"{key}={value}")
    parts += [
        f"{key}={value}"
        for key, value in record.items()
        if key not in LEADING and key not in HIDDEN and value != ""
    ]
    return "  ".join(parts)


def _print(line: str) -> None:
    print(line, flush=True)  # flushed: --follow often writes into a pipe (| grep)


def run(
    args: argparse.Namespace, config: dict[str, str], out: Callable[[str], None] = _print
) -> None:
    client = client_for(config)
    now = int(time.time())
    since = now - int(args.since * 60)
    records = fetch(client, config, args.query, since, now + 1, args.limit)
    for record in records:
        out(render(record))
    if not args.follow:
        return
    seen = _keys(records)
    last = max((int(r["__time__"]) for r in records), default=since)
    while True:
        time.sleep(args.every)
        # Ask again from the last second seen: a second may gain records after we read it.
        fresh = fetch(client, config, args.query, last, int(time.time()) + 1, 10 * PAGE)
        for record in fresh:
            key = _key(record)
            if key not in seen:
                out(render(record))
                seen.add(key)
        if fresh:
            last = int(fresh[-1]["__time__"])
            seen = {k for k in seen if int(k.split("|", 1)[0]) >= last}


def _key(record: dict[str, str]) -> str:
    return record.get("__time__", "0") + "|" + json.dumps(record, sort_keys=True)


def _keys(records: Iterable[dict[str, str]]) -> set[str]:
    return {_key(r) for r in records}

"""LogSink on aliyun-log-python-sdk: structured records shipped to a logstore with `put_logs`.

Why a background sender, not a call per record: a logging failure must never fail or slow a
request, and the SDK cannot be told to give up fast. Its `_send` retries 5xx answers and refused
connections ten times, one second apart (about 10 s plus the timeouts), and that loop has no
switch. So `emit` only formats the record and puts it on a bounded queue (never blocks; when the
queue is full the record is dropped and counted), and one daemon thread sends batches with the
SDK, with a short socket timeout. A failed batch is dropped and counted, not re-queued: records are
diagnostics, and a backlog must not grow while the log service is down.

Function Compute freezes an instance between invocations, so a handler calls `flush(timeout)` at
the end of each invocation: it waits, at most `timeout` seconds, until what was emitted has been
sent (or failed). When the log service is down, `flush` costs at most its timeout.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


def log_client(endpoint: str, access_key_id: str, access_key_secret: str,
               security_token: str | None = None, **options: Any) -> Any:
    """An `aliyun.log.LogClient` for `endpoint`, which may be an IPv4 address with a port;
    `options` go to the client as they are (auth_version, region, ...)."""
    from aliyun.log import LogClient

    # An explicit source keeps the SDK from probing the network for its own address (a UDP
    # connect to the endpoint host, which means a DNS lookup) in the constructor or on the
    # first put.
    client = LogClient(endpoint, access_key_id, access_key_secret,
                       securityToken=security_token or None, source=socket.gethostname(),
                       **options)
    # The client sends to http://{project}.{host}:{port}/... unless it knows the host is an IP
    # address; but its Util.is_row_ip only accepts a bare IPv4 *without* a port, so an IPv4
    # endpoint with a port would make it resolve "{project}.127.0.0.1". An IP-addressed
    # endpoint never has per-project subdomains, so tell the client. (It still sends the
    # project in the Host header, which is how the service tells projects apart.)
    if _is_ipv4_literal(_host_of(endpoint)):
        client._isRowIp = True  # type: ignore[attr-defined]  # the SDK's private flag, see above
    return client


class SlsLogSink:
    def __init__(self, endpoint: str, project: str, logstore: str, access_key_id: str,
                 access_key_secret: str, security_token: str | None, topic: str = "", *,
                 timeout_seconds: float = 2.0, max_queued: int = 1000,
                 batch_size: int = 100) -> None:
        self._client = log_client(endpoint, access_key_id, access_key_secret, security_token)
        self._client.timeout = timeout_seconds
        self._project = project
        self._logstore = logstore
        self._topic = topic
        self._batch_size = max(1, batch_size)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, max_queued))
        self._settled = threading.Condition()
        self._pending = 0  # emitted and not yet sent or failed
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0  # records in batches the log service did not take
        self.dropped = 0  # records never queued (queue full, or a record we could not format)

    def emit(self, record: Mapping[str, object]) -> None:
        try:
            item = _log_item(record)
            with self._settled:
                self._start_sender()
                self._queue.put_nowait(item)
                self._pending += 1
        except queue.Full:
            with self._settled:
                self.dropped += 1
        except Exception:  # noqa: BLE001 - a logging failure never fails a request
            with self._settled:
                self.dropped += 1

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for every emitted record to be sent or given up on.
        True when nothing is left in flight."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._settled:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._settled.wait(left)
            return True

    # -- the sender thread -------------------------------------------------------------------

    def _start_sender(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="sls-log-sink", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            ok = self._send(batch)
            with self._settled:
                if ok:
                    self.sent += len(batch)
                else:
                    self.failed += len(batch)
                self._pending -= len(batch)
                self._settled.notify_all()

    def _send(self, batch: list[Any]) -> bool:
        from aliyun.log import PutLogsRequest

        try:
            # No source in the request: the client sends the one log_client gave it.
            self._client.put_logs(PutLogsRequest(
                self._project, self._logstore, self._topic, None, batch))
            return True
        # LogException, or anything else the SDK lets through.
        except Exception as exc:  # noqa: BLE001
            kind = type(exc).__name__
            code = getattr(exc, "get_error_code", lambda: kind)()
            # To the function's own log (the service's LogConfig), never the record contents.
            log.warning("log service refused %d record(s): %s", len(batch), code)
            return False


def _log_item(record: Mapping[str, object]) -> Any:
    from aliyun.log import LogItem

    contents = [(str(key), _text(value)) for key, value in record.items()]
    return LogItem(timestamp=_seconds(record.get("time")), contents=contents)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _seconds(value: object) -> int | None:
    """The record's own time (epoch seconds or milliseconds) if it has one; else the SDK's now."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return int(value / 1000) if value > 1e10 else int(value)
    return None


def _host_of(endpoint: str) -> str:
    url = urlsplit(endpoint if "://" in endpoint else "http://" + endpoint)
    return url.hostname or ""


def _is_ipv4_literal(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
        return True
    except ValueError:
        return False

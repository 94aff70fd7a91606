"""Log Service (SLS) emulator: PutLogs, GetLogs (v2 POST and v1 GET), ListLogStores and
GetLogStore for `aliyun.log.LogClient`, with logs kept in SQLite.

Loopback: `LogClient` sends to `http://{project}.{host}:{port}`, which does not resolve when the
host is `127.0.0.1`, and `Util.is_row_ip` only recognises an IP without a port. The client's
`_isRowIp` flag, set after construction, makes it connect to the bare endpoint while still naming
the project in the Host header; `localcloud.logclient` sets it for IPv4 endpoints with a port.
"""

from .core import LogRecord, SlsError
from .http import FAULT_KINDS, LogServiceEmulator

__all__ = ["FAULT_KINDS", "LogRecord", "LogServiceEmulator", "SlsError"]

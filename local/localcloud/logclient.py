"""Reading the logstore with aliyun-log-python-sdk: `log_client` for `localcloud logs`, scripts
and tests. The functions never call Log Service: they write JSON lines to stdout, which FC ships
to the logstore (`miniapp.adapters.log_lines` says why), so this lives with the local cloud.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit


def log_client(
    endpoint: str,
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None = None,
    **options: Any,
) -> Any:
    """An `aliyun.log.LogClient` for `endpoint`, which may be an IPv4 address with a port;
    `options` go to the client as they are (auth_version, region, ...)."""
    from aliyun.log import LogClient

    # An explicit source keeps the SDK from probing the network for its own address (a UDP
    # connect to the endpoint host, which means a DNS lookup) in the constructor or on the
    # first put.
    client = LogClient(
        endpoint,
        access_key_id,
        access_key_secret,
        securityToken=security_token or None,
        source=socket.gethostname(),
        **options,
    )
    # The client sends to http://{project}.{host}:{port}/... unless it knows the host is an IP
    # address; but its Util.is_row_ip only accepts a bare IPv4 *without* a port, so an IPv4
    # endpoint with a port would make it resolve "{project}.127.0.0.1". An IP-addressed
    # endpoint never has per-project subdomains, so tell the client. (It still sends the
    # project in the Host header, which is how the service tells projects apart.)
    if _is_ipv4_literal(_host_of(endpoint)):
        client._isRowIp = True  # type: ignore[attr-defined]  # the SDK's private flag, see above
    return client


def _host_of(endpoint: str) -> str:
    url = urlsplit(endpoint if "://" in endpoint else "http://" + endpoint)
    return url.hostname or ""


def _is_ipv4_literal(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
        return True
    except ValueError:
        return False

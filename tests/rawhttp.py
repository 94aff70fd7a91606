"""Raw HTTP/1.1 over a socket, for the framing tests that no HTTP client would send
(tests/contract/test_httpshell.py against the bare server, tests/e2e/test_http_framing.py
against the FC front end)."""

from __future__ import annotations

import socket


def exchange(
    host: str, port: int, data: bytes, *, shut_write: bool = False, wait: float = 3.0
) -> tuple[bytes, bool]:
    """Send raw bytes; return what came back and whether the server closed the connection.
    Once a whole answer (by its Content-Length) is in, wait at most 2 s more for the close."""
    conn = socket.create_connection((host, port))
    conn.settimeout(wait)
    conn.sendall(data)
    if shut_write:
        conn.shutdown(socket.SHUT_WR)
    received, closed = b"", False
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                closed = True
                break
            received += chunk
            if _complete(received):
                conn.settimeout(min(wait, 2.0))
    except TimeoutError:
        pass
    except ConnectionResetError:
        closed = True
    finally:
        conn.close()
    return received, closed


def _complete(answer: bytes) -> bool:
    head, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False

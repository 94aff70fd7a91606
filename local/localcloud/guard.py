"""The one guard in front of the local cloud's own routes (`/_localcloud/*`: the admin endpoint
and the console), which a browser on the same laptop can reach.

It sees each request's head, before any body is read (`HttpServer`'s screen), and refuses with
403:
- a `Host` that is not the address the cloud listens on, with its port: loopback names
  (`localhost`, `127.0.0.1`, `[::1]`) or the `--host` given. A DNS-rebound page sends its own
  host name, so it reads and changes nothing;
- a state-changing request (any method but GET, HEAD and OPTIONS) with an `Origin` other than
  the cloud's own (tools send none);
- a POST with neither a JSON content type nor the console's header `X-Localcloud-Console: 1`.
  POST is the one state-changing method a page on another site can send without asking the
  browser first (a "simple" request: `text/plain`, a form), and then never with JSON or a custom
  header. For DELETE, PUT or PATCH the browser asks first (a CORS preflight), which the cloud
  never approves, so tools may send them bare (`curl -X DELETE`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .httpshell import HttpRequest, HttpResponse, json_response

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CONSOLE_HEADER = "X-Localcloud-Console"


@dataclass(frozen=True)
class SameSiteGuard:
    """Guards the paths under `prefix` of a server listening on `listen_host`."""

    prefix: str
    listen_host: str = "127.0.0.1"

    def __call__(self, head: HttpRequest) -> HttpResponse | None:
        if not head.path.startswith(self.prefix):
            return None
        reason = self.refusal(head)
        return None if reason is None else json_response(403, {"error": reason})

    def names(self) -> tuple[str, ...]:
        """The host names this cloud answers its own routes to (without the port). The listen
        address counts even when it is `0.0.0.0`: cloud.json's endpoints then name it, and no
        other site's page can send it as its Host."""
        host = self.listen_host.lower()
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address, as it appears in Host
        return LOOPBACK_NAMES + (() if host in LOOPBACK_NAMES else (host,))

    def refusal(self, head: HttpRequest) -> str | None:
        """Why the request is refused, or None."""
        host = head.header("host").strip().lower()
        if host not in {f"{name}:{head.server_port}" for name in self.names()}:
            return (
                f"Host {host or '(none)'!r} is not this cloud's address; use "
                f"{' or '.join(self.names())} with port {head.server_port}"
            )
        if head.method in SAFE_METHODS:
            return None
        origin = head.header("origin").strip().lower()
        if origin and origin != f"http://{host}":
            return f"a cross-site request from {origin} cannot change the local cloud"
        media_type = head.header("content-type").partition(";")[0].strip().lower()
        if (
            head.method == "POST"
            and media_type != "application/json"
            and head.header(CONSOLE_HEADER) != "1"
        ):
            return (
                f"a request that changes the local cloud needs Content-Type: "
                f"application/json or the header {CONSOLE_HEADER}: 1"
            )
        return None

"""Requests counted at the emulators: how many round trips an operation really costs.

Every emulator's HTTP app is wrapped (`Traffic.wrap`) so each request it serves is counted under
its service and API name, as the SDK called it: Tablestore's `/GetRow`, STS's `Action`, the Alipay
gateway's `method`, Log Service's PutLogs / GetLogs. Tests take a `snapshot()` before an operation
and `since(snapshot)` after it, and assert the counts, so a change that adds a round trip fails;
`scripts/bench.py` prints them. The client ports seen tell whether a client keeps its
connection alive (`connections`). The emulators' own in-process calls (FC shipping a function's
stdout to the logstore) are not requests and are not counted.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl

from .httpshell import HttpRequest, HttpResponse

App = Callable[[HttpRequest], HttpResponse]
Key = tuple[str, str]  # (service, api)


def api_name(service: str, request: HttpRequest) -> str:
    """The API a request calls, named as the service's documentation names it."""
    if service == "tablestore":
        return request.path.rstrip("/").rsplit("/", 1)[-1]
    if service in ("sts", "kms", "alipay"):
        field = "method" if service == "alipay" else "Action"
        params = request.query
        if field not in params and request.body:
            params.update(parse_qsl(request.body.decode("utf-8", "replace")))
        if params.get(field):
            return params[field]
    if service == "sls":
        if request.method == "POST" and "/shards/" in request.path:
            return "PutLogs"
        if request.path.rstrip("/").endswith("/logs") or "type=log" in request.query_string:
            return "GetLogs"
    return f"{request.method} {request.path}"


class Traffic:
    def __init__(self) -> None:
        self._counts: Counter[Key] = Counter()
        self._connections: dict[str, set[tuple[str, str]]] = {}
        self._lock = threading.Lock()

    def wrap(self, service: str, app: App) -> App:
        def counted(request: HttpRequest) -> HttpResponse:
            try:
                key = (service, api_name(service, request))
            except Exception:  # noqa: BLE001 - counting must never fail a request
                key = (service, "?")
            with self._lock:
                self._counts[key] += 1
                self._connections.setdefault(service, set()).add(
                    (request.client_ip, request.client_port)
                )
            return app(request)

        return counted

    def snapshot(self) -> Mapping[Key, int]:
        with self._lock:
            return dict(self._counts)

    def since(self, before: Mapping[Key, int]) -> dict[Key, int]:
        """The requests served after `before` was taken, by (service, api)."""
        now = self.snapshot()
        return {key: n - before.get(key, 0) for key, n in now.items() if n > before.get(key, 0)}

    def connections(self, service: str) -> set[tuple[str, str]]:
        """The client (address, port) pairs `service` was called from: one per TCP connection
        (a client that keeps its connection alive adds none)."""
        with self._lock:
            return set(self._connections.get(service, ()))

    @staticmethod
    def by_service(counts: Mapping[Key, int]) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (service, _), n in counts.items():
            totals[service] += n
        return dict(totals)

"""The Tablestore client: `tablestore.OTSClient` with socket timeouts and a retry policy that is
bounded in time, jittered, and aware of which requests are safe to send twice.

What the SDK does by itself, and why we replace it:

- `DefaultRetryPolicy` retries up to 20 times with delays up to 3 s: longer than a function's
  timeout. Ours stops once the next sleep would pass `max_retry_seconds` after the first failure.
- It retries throttling on every API (the server refused before doing anything) and 5xx only on
  reads (a write that failed with a 5xx may have been applied). We keep that split, and also retry
  a write after an unknown outcome when the adapter marks it idempotent
  (`attempt(idempotent=True)`):
  a put of the same row, a delete, or a conditional write whose condition turns a replay into
  OTSConditionCheckFail, which the adapter then recognises (`Attempt.retried_after_unknown`).
  Increments are never marked idempotent: a replayed increment counts twice.
- Network errors (refused, dropped, timed out) are raised by the connection pool *outside* the
  SDK's retry loop. Our connection pool turns them into `OTSServiceError`s with two client-side
  codes, so the same policy decides: `ClientConnectFailed` (never sent: safe to retry) and
  `ClientNetworkError` (sent, outcome unknown).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ... import deadline
from ...errors import Internal
from .. import sdk_imports

# Importing the SDK logs two WARNINGs ("Native C++ ... not available") on Python builds without its
# native extension; the pure-Python path is the one we run and test.
logging.getLogger("tablestore").setLevel(logging.ERROR)

# What the SDK imports for features we never use stays off the cold start (sdk_imports).
with sdk_imports.lean():
    import tablestore
    import urllib3.exceptions
    from tablestore.connection import ConnectionPool
    from tablestore.error import OTSClientError, OTSServiceError
    from tablestore.retry import RetryPolicy

CONNECT_FAILED = "ClientConnectFailed"
NETWORK_FAILED = "ClientNetworkError"

READ_APIS = frozenset({"GetRow", "BatchGetRow", "GetRange", "DescribeTable", "ListTable"})
# The server refused the request before doing anything: safe to retry whatever the API.
REJECTED_CODES = frozenset(
    {
        "OTSServerBusy",
        "OTSNotEnoughCapacityUnit",
        "OTSOperationThrottled",
        "OTSRowOperationConflict",
        "OTSTableNotReady",
        "OTSPartitionUnavailable",
        CONNECT_FAILED,
    }
)
# The request may or may not have been applied.
UNKNOWN_OUTCOME_CODES = frozenset(
    {
        "OTSTimeout",
        "OTSInternalServerError",
        "OTSServerUnavailable",
        NETWORK_FAILED,
    }
)
TRANSIENT_CODES = REJECTED_CODES | UNKNOWN_OUTCOME_CODES

# The SDK logs an ERROR line for every failed request, OTSConditionCheckFail included, which is
# ordinary control flow here (quotas, idempotency claims, version conflicts). The adapters log what
# they translate, so the SDK gets a logger of its own that stays quiet.
_SDK_LOGGER = "miniapp.adapters.tablestore.sdk"


@dataclass
class Attempt:
    """One adapter call, as seen by the retry policy running in the same thread."""

    idempotent: bool
    retried_after_unknown: bool = False


_current = threading.local()


@contextmanager
def attempt(idempotent: bool) -> Iterator[Attempt]:
    state = Attempt(idempotent)
    previous = getattr(_current, "attempt", None)
    _current.attempt = state
    try:
        yield state
    finally:
        _current.attempt = previous


def is_transient(code: str | None, http_status: int | None) -> bool:
    return code in TRANSIENT_CODES or (http_status or 0) >= 500


class BoundedRetryPolicy(RetryPolicy):  # type: ignore[misc]  # the SDK has no type hints
    """Full-jitter exponential back-off (sleep uniform in [0, min(cap, base * 2**n)]), stopping when
    the next sleep would end more than `max_retry_seconds` after the first failure, or after
    `max_retries` retries. One instance serves many threads: timing state is per thread."""

    def __init__(
        self,
        max_retry_seconds: float,
        *,
        base_delay: float = 0.05,
        max_delay: float = 1.0,
        max_retries: int = 10,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_retry_seconds = max(0.0, float(max_retry_seconds))
        self._base = base_delay
        self._cap = max_delay
        self._max_retries = max_retries
        self._rng = rng or random.Random()
        self._monotonic = monotonic
        self._local = threading.local()

    def should_retry(self, retry_times: int, exception: Any, api_name: str) -> bool:
        code = getattr(exception, "code", None)
        status = getattr(exception, "http_status", None)
        if code in REJECTED_CODES:
            unknown_outcome = False
        elif is_transient(code, status):
            unknown_outcome = True
        else:
            return False
        state: Attempt | None = getattr(_current, "attempt", None)
        replay_safe = api_name in READ_APIS or (state is not None and state.idempotent)
        if unknown_outcome and not replay_safe:
            return False
        if retry_times >= self._max_retries:
            return False
        now = self._monotonic()
        if retry_times == 0:
            self._local.first_failure = now
        delay = self._rng.uniform(0.0, min(self._cap, self._base * (2**retry_times)))
        if now - self._local.first_failure + delay > self.max_retry_seconds:
            return False
        left = deadline.remaining()
        if left is not None and left - delay < deadline.MIN_CALL_SECONDS:
            return False  # the invocation's deadline comes first: no retry that cannot finish
        self._local.delay = delay
        if unknown_outcome and state is not None:
            state.retried_after_unknown = True
        return True

    def get_retry_delay(self, retry_times: int, exception: Any, api_name: str) -> float:
        return getattr(self._local, "delay", 0.0)


class NetworkAwareConnectionPool(ConnectionPool):  # type: ignore[misc]  # as above
    """The SDK's pool, with network failures raised as OTSServiceError (see module doc), and
    each request's socket timeout cut to what is left of the invocation (`miniapp.deadline`):
    the SDK only knows one timeout per client. A request with too little time left is not sent
    (UpstreamUnavailable, which the SDK's retry loop lets through)."""

    def __init__(
        self, host: str, path: str, *, timeout: float, maxsize: int, client_ssl_version: Any
    ) -> None:
        super().__init__(
            host, path, timeout=timeout, maxsize=maxsize, client_ssl_version=client_ssl_version
        )
        self._timeout = timeout

    def send_receive(self, url: str, request_headers: Any, request_body: Any) -> Any:
        seconds = deadline.budget("Tablestore", self._timeout)
        try:
            # What ConnectionPool.send_receive does, with this request's timeout.
            response = self.pool.urlopen(
                "POST",
                self.host + self.path + url,
                body=request_body,
                headers=request_headers,
                redirect=False,
                assert_same_host=False,
                timeout=urllib3.Timeout(connect=seconds, read=seconds),
            )
            return response.status, response.reason, dict(response.headers), response.data
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            reason = getattr(exc, "reason", exc)  # MaxRetryError wraps the last failure
            # NewConnectionError (refused, no route) is a ConnectTimeoutError in urllib3 2.
            never_sent = isinstance(reason, urllib3.exceptions.ConnectTimeoutError)
            code = CONNECT_FAILED if never_sent else NETWORK_FAILED
            raise OTSServiceError(None, code, type(reason).__name__, "") from exc


def make_client(
    endpoint: str,
    instance: str,
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None,
    *,
    max_retry_seconds: float,
    socket_timeout_seconds: float = 3.0,
    max_connections: int = 16,
) -> Any:
    """An OTSClient for `instance` at `endpoint` (http or https URL). `max_retry_seconds` bounds
    the back-off of one call; a call can take at most about that plus two socket timeouts."""
    logging.getLogger(_SDK_LOGGER).setLevel(logging.CRITICAL)
    try:
        client = tablestore.OTSClient(
            endpoint,
            access_key_id,
            access_key_secret,
            instance,
            sts_token=security_token or None,
            retry_policy=BoundedRetryPolicy(max_retry_seconds),
            socket_timeout=socket_timeout_seconds,
            max_connection=max_connections,
            logger_name=_SDK_LOGGER,
        )
    except OTSClientError as exc:
        raise Internal(f"Tablestore client configuration: {exc.message}") from None
    client.connection = NetworkAwareConnectionPool(
        client.host,
        client.path,
        timeout=socket_timeout_seconds,
        maxsize=max_connections,
        client_ssl_version=client.ssl_version,
    )
    return client

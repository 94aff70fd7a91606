"""The Tablestore adapters: sessions, items, collections, and the guards (the 2020 rows' count,
idempotency claims, rate limits), all on one `tablestore.OTSClient` built by `make_client`.

- `client`: the OTSClient with timeouts and a bounded, idempotency-aware retry policy.
- `calls`: one request with its errors translated into `miniapp.errors`.
- `sessions`, `items`, `guard`, `identity`: the ports.

Importing this package imports the SDK (about 0.3 s): `miniapp.wiring` imports it only when a
function needs Tablestore. `client` comes first so the SDK's import-time warnings stay quiet.
"""
from .client import BoundedRetryPolicy, make_client
from .guard import TablestoreIdempotency, TablestoreRateLimiter, TablestoreRowCount, guard_key
from .identity import TablestoreIdentityLinks
from .items import TablestoreItems
from .sessions import TablestoreSessionItems, TablestoreSessions
from .user_data import TablestoreUserData

__all__ = [
    "BoundedRetryPolicy", "TablestoreIdempotency", "TablestoreIdentityLinks", "TablestoreItems",
    "TablestoreRateLimiter", "TablestoreRowCount", "TablestoreSessionItems",
    "TablestoreSessions", "TablestoreUserData",
    "guard_key", "make_client",
]

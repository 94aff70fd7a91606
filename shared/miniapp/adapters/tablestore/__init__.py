"""The Tablestore adapters: sessions, items, collections, the counts (tallies of every scope) and
the guards (idempotency claims, rate limits), all on one `tablestore.OTSClient` built by
`make_client`.

- `client`: the OTSClient with timeouts and a bounded, idempotency-aware retry policy.
- `calls`: one request with its errors translated into `miniapp.errors`.
- `sessions`, `items`, `user_data`, `tally`, `guard`, `identity`: the ports (`scopes`: where
  each counted scope lives).

Importing this package imports the SDK (about 0.3 s): `miniapp.wiring` imports it only when a
function needs Tablestore. `client` comes first so the SDK's import-time warnings stay quiet.
"""

from .client import BoundedRetryPolicy, make_client
from .guard import TablestoreIdempotency, TablestoreRateLimiter, guard_key
from .identity import TablestoreIdentityLinks
from .items import TablestoreItems
from .orders import TablestoreOrderIndex
from .scopes import counted_rows
from .sessions import TablestoreSessionItems, TablestoreSessions
from .tally import TallyRows
from .user_data import TablestoreUserData

__all__ = [
    "BoundedRetryPolicy",
    "TablestoreIdempotency",
    "TablestoreIdentityLinks",
    "TablestoreItems",
    "TablestoreOrderIndex",
    "TablestoreRateLimiter",
    "TablestoreSessionItems",
    "TablestoreSessions",
    "TablestoreUserData",
    "TallyRows",
    "counted_rows",
    "guard_key",
    "make_client",
]
